"""Reads for users and tokens."""

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.core import NotFoundError, utcnow
from kehu.users import _token_cache
from kehu.users.models import ApiToken, Department, User
from kehu.users.operations import hash_token, normalise_email


def find_user_by_email(session: Session, email: str) -> User | None:
    """Return the user with this e-mail, or ``None``."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def get_user_by_id(session: Session, user_id: int) -> User:
    """Return the user or raise :class:`NotFoundError`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"There is no user {user_id}.", code="users.not_found")
    return user


def list_users(session: Session) -> Sequence[User]:
    """Return every user, by e-mail."""
    return session.scalars(select(User).order_by(User.email)).all()


def list_departments(session: Session) -> Sequence[Department]:
    """Return every department, by code."""
    return session.scalars(select(Department).order_by(Department.code)).all()


#: How precisely an API token's ``last_used_at`` is kept.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def find_user_by_token(session: Session, secret: str, *, defer_use: bool = False) -> User | None:
    """Return the active user owning a valid (unrevoked, unexpired) token, or ``None``.

    A token found valid in the last :data:`kehu.users._token_cache.TOKEN_CHECK_SECONDS` is not
    looked up again (see :mod:`kehu.users._token_cache`); its user is merged into ``session``
    without a query.

    The token's ``last_used_at`` (kept to the minute) is set in ``session``, or with
    ``defer_use=True`` only noted, for :func:`record_token_uses` to write in a transaction
    of its own: a read request then never writes (on SQLite a read transaction that
    writes can be refused as busy).
    """
    token_hash = hash_token(secret)
    now = utcnow()
    checked = _token_cache.recall(token_hash)
    if checked is not None and (checked.expires_at is None or checked.expires_at > now):
        return session.merge(checked.user, load=False)
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash)
    ).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        # Recorded to the minute: a read request then writes nothing (a write per request
        # made concurrent reads queue for SQLite's single writer).
        if defer_use:
            _token_cache.note_use(token.id, now)
        else:
            token.last_used_at = now
    _token_cache.remember(token_hash, user, token.expires_at)
    return user


def recall_user_by_token(session: Session, secret: str) -> User | None:
    """Return the token's user if the token was found valid a moment ago, else ``None``.

    Runs no SQL (see :mod:`kehu.users._token_cache`), so an async caller may use it without a
    thread; ``None`` means "look it up" (:func:`find_user_by_token`), not "invalid".
    """
    checked = _token_cache.recall(hash_token(secret))
    if checked is None or (checked.expires_at is not None and checked.expires_at <= utcnow()):
        return None
    return session.merge(checked.user, load=False)
