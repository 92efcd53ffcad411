"""Serving under load: a flood queues instead of deadlocking; a token's use never fails a read.

A request's session holds a database connection between its hops to worker threads. With more
requests in flight than the pool has connections, every thread could wait for a connection held
by a request waiting for a thread: the flood stalled until the pool timed out (500s). The server
now lets ``server_concurrency`` requests in at once and sizes the pool for them.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

import kehu.api.deps
from kehu.app import create_app
from kehu.core import Actor, Settings, utcnow
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head
from kehu.users import ApiToken, Role, create_api_token, record_token_uses
from kehu.users import _token_cache as token_cache
from tests.factories import make_user


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kehu.db'}"
    upgrade_to_head(url)
    return url


def _settings(url: str, concurrency: int) -> Settings:
    return Settings(
        database_url=url,
        analyze_every_hours=0,
        voice_score_every_minutes=0,
        webhook_deliver_every_seconds=0,
        server_concurrency=concurrency,
    )


def _admin_token(url: str) -> str:
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        user = make_user(session, role=Role.ADMIN, email="admin@example.com")
        _, token = create_api_token(session, user, name="load", actor=Actor.system("test"))
    engine.dispose()
    return token


def test_a_burst_larger_than_threads_and_pool_completes(sqlite_file: str) -> None:
    # Given a server process allowed 3 requests at once (pool: 3 + 8 connections)
    token = _admin_token(sqlite_file)
    app = create_app(_settings(sqlite_file, concurrency=3))
    engine = app.state.session_factory.kw["bind"]
    headers = {"Authorization": f"Bearer {token}"}

    # When 120 requests (more than the 40 worker threads, far more than the pool) arrive at
    # once on one event loop, half of them writing
    def one(i: int) -> int:
        if i % 2:
            return client.get("/api/v1/customers?limit=5", headers=headers).status_code
        body = {"name": f"Burst {i}", "email": f"burst{i}@example.com"}
        return client.post("/api/v1/customers", json=body, headers=headers).status_code

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/api/v1/customers?limit=1", headers=headers)  # the token is remembered
        with ThreadPoolExecutor(max_workers=120) as pool:
            statuses = list(pool.map(one, range(120)))
        listed = client.get("/api/v1/customers?limit=100", headers=headers).json()

    # Then every request succeeded, each write is stored once, and the pool never grew past
    # what the limit allows
    assert sorted(set(statuses)) == [200, 201]
    assert statuses.count(201) == 60
    assert listed["count"] == 60
    assert engine.pool.size() == 3
    assert engine.pool.checkedout() == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("connections", "size", "overflow"), [(None, 10, 20), (4, 4, 8), (40, 10, 38)]
)
def test_postgresql_pool_is_sized_for_the_concurrency(
    postgresql_url: str, connections: int | None, size: int, overflow: int
) -> None:
    engine = make_engine(postgresql_url, connections=connections)

    assert (engine.pool.size(), engine.pool._max_overflow) == (size, overflow)  # type: ignore[attr-defined]
    engine.dispose()


def test_sqlite_pool_holds_the_concurrency_plus_background(sqlite_file: str) -> None:
    engine = make_engine(sqlite_file, connections=24)

    assert (engine.pool.size(), engine.pool._max_overflow) == (24, 8)  # type: ignore[attr-defined]
    engine.dispose()


def _last_used(url: str) -> object:
    engine = make_engine(url)
    with session_scope(make_session_factory(engine), writes=False) as session:
        used = session.scalar(select(ApiToken.last_used_at))
    engine.dispose()
    return used


def test_a_read_records_the_token_use_after_answering(sqlite_file: str) -> None:
    token = _admin_token(sqlite_file)
    token_cache.forget_all()
    app = create_app(_settings(sqlite_file, concurrency=4))
    before = utcnow()

    with TestClient(app) as client:
        answer = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200
    used = _last_used(sqlite_file)
    assert used is not None
    assert used >= before - timedelta(seconds=1)


def test_a_token_use_that_cannot_be_written_does_not_fail_the_request(
    sqlite_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the database refuses the token-use write (SQLite busy)
    token = _admin_token(sqlite_file)
    token_cache.forget_all()
    app = create_app(_settings(sqlite_file, concurrency=4))
    headers = {"Authorization": f"Bearer {token}"}

    def busy(session: object) -> int:
        raise OperationalError("UPDATE api_tokens", {}, Exception("database is locked"))

    monkeypatch.setattr(kehu.api.deps, "record_token_uses", busy)

    # When a read request comes in, then it is answered and the use is not stored
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
        assert _last_used(sqlite_file) is None

        # And once the database accepts it again, a later request (the token looked up
        # again) records the use
        monkeypatch.undo()
        monkeypatch.setattr(token_cache, "TOKEN_CHECK_SECONDS", 0.0)
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert _last_used(sqlite_file) is not None


def test_a_stored_use_is_never_moved_back(sqlite_file: str) -> None:
    _admin_token(sqlite_file)
    engine = make_engine(sqlite_file)
    factory = make_session_factory(engine)
    stored = utcnow()
    with session_scope(factory) as session:
        token_id = session.scalar(select(ApiToken.id))
        session.execute(update(ApiToken).values(last_used_at=stored))
    token_cache.note_use(token_id, stored - timedelta(minutes=5))

    with session_scope(factory) as session:
        assert record_token_uses(session) == 1

    assert _last_used(sqlite_file) == stored
    engine.dispose()
