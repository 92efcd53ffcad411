"""A user's own preferences (the console's language)."""

from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, InvalidInputError
from kehu.users.models import User

SUPPORTED_LOCALES = ("en", "zh-CN")


def set_user_locale(session: Session, user: User, locale: str, *, actor: Actor) -> bool:
    """Set the language the console speaks to ``user``; return whether it changed.

    Raises
    ------
    InvalidInputError
        For a locale the console does not speak.
    """
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInputError(
            f"Unknown locale {locale!r}; use one of {', '.join(SUPPORTED_LOCALES)}.",
            code="users.bad_locale",
        )
    if user.locale == locale:
        return False
    old = user.locale
    user.locale = locale
    session.flush()
    record(
        session,
        actor=actor,
        action="user.set_locale",
        object_type="user",
        object_id=user.id,
        summary=f"{old} → {locale}",
    )
    return True
