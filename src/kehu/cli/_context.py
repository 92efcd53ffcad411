"""Opening the store from the command line."""

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from sqlalchemy.orm import Session

import kehu.models  # noqa: F401 - every table registered
from kehu.core import get_settings
from kehu.store import make_engine, make_session_factory, session_scope

console = Console()
err_console = Console(stderr=True)


@contextmanager
def open_session() -> Iterator[Session]:
    """Open a session on ``KEHU_DATABASE_URL`` that commits when the command succeeds."""
    engine = make_engine(get_settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
