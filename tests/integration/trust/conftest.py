"""Stores of their own for tests that commit for real (several connections, subprocesses).

The shared fixtures run each test inside a rolled-back transaction on one connection; these
tests need what other connections and processes see, so each gets a fresh SQLite file or a
fresh PostgreSQL schema, migrated to head and dropped afterwards.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kehu.store import make_engine, upgrade_to_head
from tests.conftest import _pg_schema_engine, pg_base_url
from tests.integration.api.conftest import admin, app, client, staff

__all__ = ["admin", "app", "client", "staff"]  # the API's fixtures, used here too


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def own_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a store migrated to head that only this test uses."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'own.db'}"
        upgrade_to_head(url)
        yield url
        return
    yield from _own_pg_schema()


@pytest.fixture
def own_pg_url() -> Iterator[str]:
    """A PostgreSQL schema migrated to head that only this test uses."""
    yield from _own_pg_schema()


def _own_pg_schema() -> Iterator[str]:
    admin = make_engine(pg_base_url())
    schema = f"kehu_trust_{uuid.uuid4().hex[:12]}"
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
