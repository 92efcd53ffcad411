"""The operational store: SQLAlchemy engine, sessions, Base and migrations."""

from kehu.store.base import Base, IdPK, TimestampMixin, UTCDateTime
from kehu.store.engine import is_postgresql, make_engine, make_session_factory, session_scope
from kehu.store.migrate import current_revision, upgrade_to_head

__all__ = [
    "Base",
    "IdPK",
    "TimestampMixin",
    "UTCDateTime",
    "current_revision",
    "is_postgresql",
    "make_engine",
    "make_session_factory",
    "session_scope",
    "upgrade_to_head",
]
