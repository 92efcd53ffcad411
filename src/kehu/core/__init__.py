"""Domain-free building blocks: settings, clock, actor, errors, money."""

from kehu.core.actor import Actor
from kehu.core.clock import as_utc, utcnow
from kehu.core.errors import (
    ConflictError,
    InvalidInputError,
    KehuError,
    NotFoundError,
    PermissionDeniedError,
)
from kehu.core.money import to_money
from kehu.core.settings import Settings, get_settings

__all__ = [
    "Actor",
    "ConflictError",
    "InvalidInputError",
    "KehuError",
    "NotFoundError",
    "PermissionDeniedError",
    "Settings",
    "as_utc",
    "get_settings",
    "to_money",
    "utcnow",
]
