"""`kehu rules` and `kehu relations` against a real SQLite file with the Online Retail sample."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kehu.cli.main import app
from kehu.core import Actor, get_settings
from kehu.ingest import run_import
from kehu.relations import Referral, Rule, Task
from kehu.store import make_engine, make_session_factory

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[3] / "data" / "online_retail_ii_sample.csv"


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEHU_DATABASE_URL", url)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        run_import(
            session,
            kind="orders",
            data=SAMPLE,
            filename=SAMPLE.name,
            actor=Actor.system("test"),
        )
        session.commit()
    engine.dispose()
    yield url
    get_settings.cache_clear()


def _flat(output):
    return " ".join(output.split())


def _count(url, model):
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        n = session.scalar(select(func.count()).select_from(model)) or 0
    engine.dispose()
    return n


def test_seed_then_a_dry_run_and_a_run_explain_what_they_skip(db_url):
    seeded = runner.invoke(app, ["rules", "seed"])
    store = runner.invoke(app, ["relations", "run", "--dry-run", "--as-of", "2010-12-09"])
    n_after_dry_run = _count(db_url, Task)
    run = runner.invoke(app, ["relations", "run", "--as-of", "2010-12-09"])

    assert seeded.exit_code == 0, seeded.output
    assert "3 rule(s), 4 cadence policy(ies), 4 surprise(s) added." in _flat(seeded.output)
    assert store.exit_code == 0, store.output
    assert "26 customers (dry run: nothing changed)" in _flat(store.output)
    assert n_after_dry_run == 0
    assert run.exit_code == 0, run.output
    assert _count(db_url, Rule) == 3
    # The sample's customers are not scored, so no tier has a cadence: nothing to raise.
    assert _count(db_url, Task) == 0
    assert "surprises: 26 skipped: tier not surprised" in _flat(run.output)


def test_rules_run_dry_run_and_list(db_url):
    runner.invoke(app, ["rules", "seed"])

    listed = runner.invoke(app, ["rules", "list"])
    dry = runner.invoke(app, ["rules", "run", "--dry-run"])
    bad_day = runner.invoke(app, ["rules", "run", "--as-of", "yesterday"])

    assert listed.exit_code == 0
    assert "vip-slipping-away" in _flat(listed.output)
    assert dry.exit_code == 0
    assert "0 planned action(s)" in _flat(dry.output)
    assert "Dry run: nothing was changed." in _flat(dry.output)
    assert bad_day.exit_code == 1
    assert "--as-of must be a date" in _flat(bad_day.output)


def test_import_referrals_keeps_good_rows_and_reports_bad_ones(db_url, tmp_path):
    csv_file = tmp_path / "referrals.csv"
    csv_file.write_text(
        "referrer,referred,date\n"
        "13085,14110,2010-01-05\n"
        "13085,13085,2010-01-05\n"
        "13085,99999999,2010-01-05\n"
        "14110,13085,2010-02-01\n"
        "13085,,\n",
        encoding="utf-8",
    )

    result = runner.invoke(app, ["relations", "import-referrals", str(csv_file)])

    assert result.exit_code == 1
    assert "1 referral(s) recorded, 4 row(s) refused." in _flat(result.output)
    assert "line 3: A customer cannot refer themselves." in _flat(result.output)
    assert "line 4: no customer with external id or id '99999999'" in _flat(result.output)
    assert "line 5: Customer 13085" not in _flat(result.output)
    assert "circle" in _flat(result.output)
    assert "line 6: missing referred" in _flat(result.output)
    assert _count(db_url, Referral) == 1
