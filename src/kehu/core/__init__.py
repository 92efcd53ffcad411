"""Domain-free building blocks: settings, clock, actor, errors, money."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from kehu.core.settings import Settings, get_settings


def __getattr__(name: str) -> Any:
    # Settings load pydantic (~0.1 s): imported on first use, so the analytics (a CLV fit in a
    # notebook, the batch benchmarks) do not pay for them.
    if name in {"Settings", "get_settings"}:
        from kehu.core import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'kehu.core' has no attribute {name!r}")


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
