"""Recently checked API tokens, so that a busy client's requests skip the token lookup.

Serving recommendations at a few hundred requests a second spent a tenth of each request on
finding the token and its user. A token found valid is remembered here for
:data:`TOKEN_CHECK_SECONDS`, with a detached copy of its user's columns; within that time a
request with it costs a dictionary lookup and a merge into the request's session (no SQL).

Revoking the token or deactivating its user through :mod:`kehu.users.operations` forgets it at
once in this process; other worker processes notice within :data:`TOKEN_CHECK_SECONDS`. The
expiry is checked on every request.

A token's use (``last_used_at``, kept to the minute) found due by a read request is only noted
here (:func:`note_use`) and written later in a short transaction of its own
(:func:`record_token_uses`): the read request's transaction then writes nothing, so on SQLite
it can never be refused as busy for the sake of a timestamp.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect, or_, update
from sqlalchemy.orm import Session, make_transient_to_detached

from kehu.users.models import ApiToken, User

#: How long a token found valid is trusted without looking at the database again.
TOKEN_CHECK_SECONDS = 2.0
#: Tokens remembered at most (a process serving many clients starts afresh beyond that).
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class CheckedToken:
    """A token found valid: its user (detached), its expiry and when it was checked."""

    user: User
    expires_at: datetime | None
    checked_at: float


_lock = threading.Lock()
_checked: dict[str, CheckedToken] = {}
#: Token id -> when it was last used, not yet written (:func:`record_token_uses`).
_uses: dict[int, datetime] = {}


def detached_copy(user: User) -> User:
    """Return a detached copy of ``user``'s columns, safe to share between sessions."""
    values = {attr.key: getattr(user, attr.key) for attr in inspect(User).column_attrs}
    copy = User(**values)
    make_transient_to_detached(copy)
    return copy


def recall(token_hash: str) -> CheckedToken | None:
    """Return the token's check if it is recent enough to trust."""
    checked = _checked.get(token_hash)
    if checked is None or time.monotonic() - checked.checked_at > TOKEN_CHECK_SECONDS:
        return None
    return checked


def remember(token_hash: str, user: User, expires_at: datetime | None) -> None:
    """Remember that the token is valid for ``user`` (copied, detached) now."""
    checked = CheckedToken(detached_copy(user), expires_at, time.monotonic())
    with _lock:
        if len(_checked) >= MAX_REMEMBERED:
            _checked.clear()
        _checked[token_hash] = checked


def forget_token(token_hash: str) -> None:
    """Forget one token (it was revoked)."""
    with _lock:
        _checked.pop(token_hash, None)


def forget_user(user_id: int) -> None:
    """Forget every token of a user (deactivated, or otherwise changed)."""
    with _lock:
        for token_hash in [h for h, c in _checked.items() if c.user.id == user_id]:
            del _checked[token_hash]


def forget_all() -> None:
    """Forget every token."""
    with _lock:
        _checked.clear()


def note_use(token_id: int, at: datetime) -> None:
    """Note that a token was used at ``at``, for :func:`record_token_uses` to write."""
    with _lock:
        if len(_uses) >= MAX_REMEMBERED:
            _uses.clear()
        _uses[token_id] = max(at, _uses.get(token_id, at))


def record_token_uses(session: Session) -> int:
    """Write the noted token uses into ``session`` (never moving one back); return how many.

    The uses are taken out of the notes first: a caller whose transaction then fails loses
    them, which is harmless (a token still in use is noted again within
    :data:`TOKEN_CHECK_SECONDS`, its stored use being older than a minute).
    """
    with _lock:
        taken = dict(_uses)
        _uses.clear()
    for token_id, at in sorted(taken.items()):
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < at),
            )
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )
    return len(taken)
