"""The operational store: SQLAlchemy engine, sessions, Base and migrations."""

from kehu.store.base import Base, IdPK, TimestampMixin, UTCDateTime
from kehu.store.counts import (
    COUNT_LIMIT,
    count_limit_for,
    count_limit_under,
    count_rows,
    is_count_exact,
)
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
    "COUNT_LIMIT",
    "WRITE_OPTIONS",
    "Base",
    "IdPK",
    "TimestampMixin",
    "UTCDateTime",
    "count_limit_for",
    "count_limit_under",
    "count_rows",
    "current_revision",
    "is_count_exact",
    "is_postgresql",
    "make_engine",
    "make_session_factory",
    "open_session",
    "session_scope",
    "upgrade_to_head",
]
