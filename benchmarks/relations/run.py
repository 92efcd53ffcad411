"""Time the relationship run on the real demo slice against the value analysis (the anchor).

    .venv/bin/python benchmarks/relations/run.py

Loads the bundled Online Retail II slice into a throwaway SQLite file, runs the value
analysis (the anchor: timed), then the relationship playbooks as of the data's last day
(cadence, reminders, surprises, rules, each asking the contact budget), twice: the first run
opens the tasks, the second only refreshes them. Prints seconds and ratios to the anchor;
compare ratios only, and only from one run on one machine.
"""

import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

import kehu.models  # noqa: F401 - every table registered
from kehu.core import Actor
from kehu.demo import DEMO_FILE, demo_file
from kehu.demo.relations import seed_relations
from kehu.ingest import run_import
from kehu.jobs.relations import run_relations
from kehu.jobs.value import run_value_analysis
from kehu.relations import Task
from kehu.store import make_engine, make_session_factory, upgrade_to_head

ACTOR = Actor.system("benchmark")


def main() -> None:
    """Run the timings and print them."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_to_head(url)
        factory = make_session_factory(make_engine(url))
        with factory() as db:
            run_import(db, kind="orders", data=demo_file(), filename=DEMO_FILE, actor=ACTOR)
            db.commit()
            start = time.perf_counter()
            value_run = run_value_analysis(db, actor=ACTOR)
            anchor = time.perf_counter() - start
            value_status = f"{value_run.status}: {value_run.message or 'ok'}"
            db.commit()
            start = time.perf_counter()
            report = seed_relations(db)
            first = time.perf_counter() - start
            db.commit()
            if report is None:
                raise SystemExit("the demo playbooks were already seeded")
            start = time.perf_counter()
            run_relations(db, actor=ACTOR, as_of=report.as_of)
            second = time.perf_counter() - start
            n_tasks = db.scalar(select(func.count()).select_from(Task))
    print(f"customers: {report.n_customers}, tasks opened: {n_tasks}")
    print(f"value analysis (anchor): {anchor:.2f} s ({value_status})")
    print(f"relations, first run:    {first:.2f} s  ({first / anchor:.2f}x anchor)")
    print(f"relations, second run:   {second:.2f} s  ({second / anchor:.2f}x anchor)")


if __name__ == "__main__":
    main()
