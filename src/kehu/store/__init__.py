"""The operational store: SQLAlchemy engine, sessions, Base and migrations."""

from kehu.store.base import Base, IdPK, TimestampMixin, UTCDateTime
from kehu.store.engine import (
    WRITE_OPTIONS,
    is_postgresql,
    make_engine,
    make_session_factory,
    open_session,
    session_scope,
)
from kehu.store.migrate import current_revision, upgrade_to_head

__all__ = [
    "WRITE_OPTIONS",
    "Base",
    "IdPK",
    "TimestampMixin",
    "UTCDateTime",
    "current_revision",
    "is_postgresql",
    "make_engine",
    "make_session_factory",
    "open_session",
    "session_scope",
    "upgrade_to_head",
]
