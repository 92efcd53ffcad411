"""Stores of their own for tests that commit for real (several connections, subprocesses).

The shared fixtures run each test inside a rolled-back transaction on one connection; these
tests need what other connections and processes see, so each gets a fresh SQLite file or a
fresh PostgreSQL schema, migrated to head and dropped afterwards.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from kehu.store import upgrade_to_head
from tests.conftest import migrated_pg_schema
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
    yield from migrated_pg_schema("kehu_trust")


@pytest.fixture
def own_pg_url() -> Iterator[str]:
    """A PostgreSQL schema migrated to head that only this test uses."""
    yield from migrated_pg_schema("kehu_trust")
