"""One process of all those serving a store runs the periodic jobs; another takes over.

Real processes on a SQLite file and on PostgreSQL: app lifespans in separate interpreters, and
`kehu serve --workers 3` (uvicorn) counted by what the jobs leave in the store and at a
webhook receiver.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from kehu.core import Actor, Settings, get_settings
from kehu.health import HealthRun
from kehu.jobs._leader import PgAdvisoryLock
from kehu.jobs.schedule import start_jobs, stop_jobs
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head
from kehu.webhooks import create_subscription
from tests.conftest import pg_base_url
from tests.factories import make_customer

RETRY_S = 0.2

# An app's lifespan in a process of its own, as each worker of a server runs it; it writes
# "<pid> leader|standby" to its state file every 50 ms.
LIFESPAN = """
import os, sys, time
from fastapi.testclient import TestClient
from kehu.app import create_app
from kehu.core import Settings

url, state = sys.argv[1], sys.argv[2]
settings = Settings(
    environment="test", database_url=url, secret_key="s" * 32, analyze_every_hours=0,
    voice_score_every_minutes=60, webhook_deliver_every_seconds=0,
    jobs_leader_retry_seconds=float(sys.argv[3]),
)
app = create_app(settings)
with TestClient(app):
    while True:
        with open(state + ".tmp", "w") as out:
            out.write(f"{os.getpid()} {'leader' if app.state.jobs else 'standby'}")
        os.replace(state + ".tmp", state)
        time.sleep(0.05)
"""


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kehu.db'}"


@pytest.fixture
def pg_store() -> Iterator[str]:
    """An empty schema of its own (the lock is per schema); dropped afterwards."""
    schema = f"kehu_leader_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_base_url())
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_base_url())
    url = url.set(query={**url.query, "options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> str:
    """A store URL of this test's own, on SQLite (a file) and on PostgreSQL (a schema)."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return str(request.getfixturevalue(name))


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait until ``condition()``; return the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


class _Lifespan:
    """An app lifespan in a child process, and what it last said it was."""

    def __init__(self, url: str, state: Path) -> None:
        self.state = state
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-c", LIFESPAN, url, str(state), str(RETRY_S)],
            stderr=subprocess.PIPE,
        )

    def role(self) -> str | None:
        try:
            pid, role = self.state.read_text().split()
        except (FileNotFoundError, ValueError):
            return None
        assert int(pid) == self.process.pid
        return role

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def test_one_lifespan_runs_the_jobs_and_another_takes_over_when_it_dies(store, tmp_path):
    # Given a process serving the store that leads
    first = _Lifespan(store, tmp_path / "first")
    second = None
    try:
        _wait_for(lambda: first.role() == "leader", 120, "the first process to lead")
        # When a second process serves the same store
        second = _Lifespan(store, tmp_path / "second")
        _wait_for(lambda: second.role() is not None, 120, "the second process to start")
        # Then for many of its retry periods it stands by while the first leads
        roles = set()
        deadline = time.monotonic() + 10 * RETRY_S
        while time.monotonic() < deadline:
            roles.add((first.role(), second.role()))
            time.sleep(0.02)
        assert roles == {("leader", "standby")}
        # When the leader dies outright, the other takes over within a few retry periods
        first.kill()
        took = _wait_for(lambda: second.role() == "leader", 30, "the second to take over")
        assert took < 10 * RETRY_S + 5
    finally:
        for child in (first, second):
            if child is not None and child.process.poll() is None:
                child.kill()
    assert first.process.stderr is not None
    assert b"Traceback" not in first.process.stderr.read()


@pytest.mark.postgres
def test_a_leader_whose_connection_breaks_stops_its_jobs_and_leads_again(pg_store):
    settings = Settings(
        environment="test",
        database_url=pg_store,
        analyze_every_hours=0,
        voice_score_every_minutes=60,
        jobs_leader_retry_seconds=RETRY_S,
    )
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, session_factory=None))
    engine = make_engine(pg_store)
    try:
        first_jobs = start_jobs(app)
        scheduler = app.state.scheduler
        assert scheduler.is_leader
        assert set(first_jobs) == {"voice"}
        lock = scheduler.lock
        assert isinstance(lock, PgAdvisoryLock)
        # Another process may not take the lock while it is held
        assert not PgAdvisoryLock(pg_store).try_acquire()
        assert lock._connection is not None
        leader_pid = lock._connection.scalar(text("SELECT pg_backend_pid()"))
        with engine.begin() as connection:  # the server drops the leader's connection
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": leader_pid})
        _wait_for(lambda: not first_jobs["voice"].alive, 30, "the old jobs to stop")
        _wait_for(lambda: scheduler.is_leader and "voice" in app.state.jobs, 30, "leading again")
        assert app.state.jobs["voice"] is not first_jobs["voice"]
    finally:
        stop_jobs(app)
        engine.dispose()
    assert app.state.jobs == {}
    # Stopped, the lock is free for the next process
    again = PgAdvisoryLock(pg_store)
    assert again.try_acquire()
    again.release()


class _FailingReceiver:
    """A webhook receiver that answers 500 and counts the attempts."""

    def __init__(self) -> None:
        self.n_requests = 0
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                counter.n_requests += 1
                self.send_response(500)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


HEALTH_EVERY_S = 0.6
WEBHOOK_EVERY_S = 0.3


def test_kehu_serve_with_three_workers_runs_each_job_and_the_webhook_worker_once(store, tmp_path):
    # Given a store with a webhook subscription whose receiver always fails, and one event
    receiver = _FailingReceiver()
    upgrade_to_head(store)
    engine = make_engine(store)
    with session_scope(make_session_factory(engine)) as session:
        create_subscription(
            session,
            name="hook",
            url=receiver.url,
            event_types=["*"],
            actor=Actor.system("t"),
            allow_private=True,
        )
        make_customer(session)
    env = {
        **os.environ,
        "KEHU_ENVIRONMENT": "test",
        "KEHU_SECRET_KEY": get_settings().secret_key,  # the one the hook's secret is sealed with
        "KEHU_DATABASE_URL": store,
        "KEHU_ANALYZE_EVERY_HOURS": "0",
        "KEHU_VOICE_SCORE_EVERY_MINUTES": "0",
        "KEHU_HEALTH_EVERY_MINUTES": str(HEALTH_EVERY_S / 60),
        "KEHU_WEBHOOK_DELIVER_EVERY_SECONDS": str(WEBHOOK_EVERY_S),
        "KEHU_WEBHOOK_BACKOFF_BASE_S": "0.01",
        "KEHU_WEBHOOK_BACKOFF_MAX_S": "0.01",
        "KEHU_WEBHOOK_MAX_ATTEMPTS": "100",
        "KEHU_WEBHOOK_DISABLE_AFTER_FAILURES": "10000",
        "KEHU_WEBHOOKS_ALLOW_PRIVATE": "true",
        "KEHU_JOBS_LEADER_RETRY_SECONDS": str(RETRY_S),
    }
    log = tmp_path / "serve.log"
    kehu = Path(sys.executable).with_name("kehu")
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
            [str(kehu), "serve", "--workers", "3", "--port", str(_free_port()), "--no-access-log"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )

    def n_health_runs() -> int:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(HealthRun)) or 0)

    try:
        _wait_for(
            lambda: log.read_text().count("Application startup complete") == 3,
            180,
            "three workers to start",
        )
        # When the three workers have served for a while
        _wait_for(lambda: n_health_runs() >= 1, 60, "a first scheduled health run")
        time.sleep(1)
        runs_before, attempts_before, start = n_health_runs(), receiver.n_requests, time.monotonic()
        time.sleep(4)
        runs, attempts = n_health_runs() - runs_before, receiver.n_requests - attempts_before
        elapsed = time.monotonic() - start
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        receiver.close()
        engine.dispose()

    # Then the health job ran at its period, as one scheduler would, not three times as often
    assert 1 <= runs <= elapsed / HEALTH_EVERY_S + 2, (runs, elapsed)
    # And one delivery worker retried the failing receiver once a turn, not once per worker
    assert 1 <= attempts <= elapsed / WEBHOOK_EVERY_S + 2, (attempts, elapsed)
