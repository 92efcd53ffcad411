"""Shared fixtures: a migrated SQLite and a migrated PostgreSQL store, isolated per test.

Every test that takes ``session`` (or ``session_factory``) runs once on SQLite and once on the
real PostgreSQL server at ``KEHU_TEST_DATABASE_URL`` (default: the server every development and
CI machine runs, ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each run gets a
schema of its own, migrated from empty with Alembic; each test runs inside an outer transaction
that is rolled back, the code's own commits becoming savepoints.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import kehu.models  # every table registered (also makes `kehu` importable below)
import kehu.users.operations
from kehu.core import Actor, Settings
from kehu.store import make_engine, upgrade_to_head

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_HELP = """
The PostgreSQL tests need a server. Set KEHU_TEST_DATABASE_URL to one you may create schemas in,
for example:

    export KEHU_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test

or start a throwaway one with `make pg-start` (Debian's postgresql binaries, as a non-root user,
on port 54329; stop it with `make pg-stop`).
"""


def pg_base_url() -> str:
    """Return the PostgreSQL URL tests use."""
    return os.environ.get("KEHU_TEST_DATABASE_URL", DEFAULT_PG_URL)


def _pg_schema_engine(schema: str) -> tuple[Engine, str]:
    url = make_url(pg_base_url())
    query = dict(url.query)
    query["options"] = f"-csearch_path={schema}"
    scoped = url.set(query=query).render_as_string(hide_password=False)
    return make_engine(scoped, pool_size=5, max_overflow=5), scoped


# Argon2 at full strength costs ~0.1 s a hash; staff for every role in every test would
# dominate the suite. Verification reads the parameters from the hash, so a cheap hash still
# exercises the real code path (tests/unit/users checks the production parameters).
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kehu.users.operations, "hash_password", _CHEAP_HASHER.hash)
        yield


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file migrated to head."""
    path: Path = tmp_path_factory.mktemp("db") / "kehu-test.db"
    url = f"sqlite:///{path}"
    upgrade_to_head(url)
    return url


def migrated_pg_schema(prefix: str = "kehu_test") -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL schema migrated to head; drop it afterwards.

    A generator for fixtures: ``yield from migrated_pg_schema("kehu_mine")``.
    """
    admin = make_engine(pg_base_url())
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:
        pytest.fail(f"Cannot reach PostgreSQL at {pg_base_url()}: {exc}\n{PG_HELP}", pytrace=False)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine, url = _pg_schema_engine(schema)
    engine.dispose()
    try:
        upgrade_to_head(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server, migrated to head, dropped afterwards."""
    yield from migrated_pg_schema("kehu_test")


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated store: each test using it runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgresql_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated store."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside an outer transaction rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints of the test's outer transaction."""
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on the test's transaction."""
    with session_factory() as session:
        yield session


@pytest.fixture
def actor() -> Actor:
    """The actor tests act as."""
    return Actor(kind="system", label="test")


@pytest.fixture
def test_settings(database_url: str) -> Settings:
    """Settings for an app under test (on ``session_factory``: one connection).

    Impressions are written in the request: the writer's thread cannot share the test's
    connection. The collector is left as it is: a test process is no server.
    """
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key="test-secret-key-0123456789abcdef",
        recs_impression_flush_ms=0,
        server_gc_freeze=False,
    )
