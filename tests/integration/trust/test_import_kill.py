"""kill -9 in the middle of a large import: nothing half-applied, and a re-run completes.

``kehu import`` loads a file in one transaction, so a process killed mid-way leaves the store
as it was; re-running the same file loads every row once (external ids are upserted), and a
third run changes nothing.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from kehu.audit import AuditEntry
from kehu.customers import Customer, Identity
from kehu.ingest import ImportRun
from kehu.store import make_engine

N_ROWS = 3000
DEADLINE_S = 240


def _write_csv(path: Path) -> None:
    lines = ["external_id,name,email,city"]
    lines += [f"K-{i},Customer {i},c{i}@example.com,Leeds" for i in range(N_ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _import(url: str, csv: Path, app_name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KEHU_DATABASE_URL": url, "PGAPPNAME": app_name}
    return subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "kehu", "import", "customers", str(csv)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=csv.parent,
    )


def _is_writing(url: str, engine, app_name: str) -> bool:
    """Tell whether the import has written rows it has not committed yet."""
    if make_url(url).get_backend_name() == "sqlite":
        # The import holds SQLite's write lock from its first statement to its commit.
        probe = sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        else:
            probe.execute("ROLLBACK")
            return False
        finally:
            probe.close()
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "select count(*) from pg_stat_activity "
                    "where application_name = :name and backend_xid is not null"
                ),
                {"name": app_name},
            )
        )


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            "customers": connection.scalar(select(func.count()).select_from(Customer)) or 0,
            "distinct_external_ids": connection.scalar(
                select(func.count(func.distinct(Customer.external_id)))
            )
            or 0,
            "identities": connection.scalar(select(func.count()).select_from(Identity)) or 0,
            "runs": connection.scalar(select(func.count()).select_from(ImportRun)) or 0,
            "audit": connection.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        }


def test_kill_during_import_leaves_nothing_and_rerun_completes(own_store_url, tmp_path):
    csv = tmp_path / "customers.csv"
    _write_csv(csv)
    engine = make_engine(own_store_url)
    app_name = f"kehu-kill-{tmp_path.name}"[:60]
    before = _counts(engine)

    process = _import(own_store_url, csv, app_name)
    deadline = time.monotonic() + DEADLINE_S
    while not _is_writing(own_store_url, engine, app_name):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.02)
    time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert process.returncode == -signal.SIGKILL  # killed, not finished
    assert _counts(engine) == before  # all or nothing: nothing

    rerun = _import(own_store_url, csv, app_name)
    _, err = rerun.communicate(timeout=DEADLINE_S)
    assert rerun.returncode == 0, err.decode()
    after = _counts(engine)
    assert after["customers"] == after["distinct_external_ids"] == N_ROWS
    assert after["runs"] == before["runs"] + 1

    again = _import(own_store_url, csv, app_name)
    _, err = again.communicate(timeout=DEADLINE_S)
    assert again.returncode == 0, err.decode()
    final = _counts(engine)
    assert final["customers"] == final["distinct_external_ids"] == N_ROWS  # no duplicates
    assert final["identities"] == after["identities"]
    engine.dispose()
