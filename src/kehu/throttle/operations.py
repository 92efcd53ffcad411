"""Login throttling: a sliding window of failed logins per account and per client address.

Kept in the database, not in process memory, so every worker of ``kehu serve`` (and a restart)
sees the same counts, and no Redis is needed. A login is refused *before* its password is
checked while the account has had ``max_per_account`` failures, or the address
``max_per_address``, within the last ``window_s`` seconds; the refusal says when to retry
(when the oldest failure in the window leaves it). A successful login clears its account's
failures; the address's stay, so one good password does not reset a guesser's budget.

The per-account limit lets anyone delay an account's logins by failing on purpose (the price
of stopping password guessing on it); the window is short and the address limit is the
stronger one, so set them to taste (``KEHU_LOGIN_*``).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kehu.core import KehuError, utcnow
from kehu.throttle.models import LoginFailure

MAX_ADDRESS_CHARS = 64


class LoginThrottledError(KehuError):
    """Too many failed logins: the caller must wait ``retry_after_s`` seconds."""

    status_code = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, code="auth.throttled", details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failures are allowed per account and per address within the window."""

    window_s: int
    max_per_account: int
    max_per_address: int


def _account(email: str) -> str:
    return email.strip().lower()[:320]


def _address(address: str | None) -> str:
    return (address or "unknown")[:MAX_ADDRESS_CHARS]


def check_login_allowed(
    session: Session,
    email: str,
    address: str | None,
    limits: LoginLimits,
    *,
    now: datetime | None = None,
) -> None:
    """Raise :class:`LoginThrottledError` when the account or the address is over its limit."""
    now = now or utcnow()
    since = now - timedelta(seconds=limits.window_s)
    for column, key, limit in (
        (LoginFailure.account, _account(email), limits.max_per_account),
        (LoginFailure.address, _address(address), limits.max_per_address),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == key, LoginFailure.at > since
            )
        ).one()
        if count >= limit and oldest is not None:
            wait = max(1, math.ceil(limits.window_s - (now - oldest).total_seconds()))
            raise LoginThrottledError(
                f"Too many failed logins; try again in {wait} seconds.", retry_after_s=wait
            )


def record_login_failure(
    session: Session,
    email: str,
    address: str | None,
    limits: LoginLimits,
    *,
    now: datetime | None = None,
) -> None:
    """Count one failed login (and forget this account's failures older than the window)."""
    now = now or utcnow()
    account = _account(email)
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.account == account,
            LoginFailure.at <= now - timedelta(seconds=limits.window_s),
        )
    )
    session.add(LoginFailure(account=account, address=_address(address), at=now))
    session.flush()


def clear_login_failures(session: Session, email: str) -> None:
    """Forget an account's failed logins (after it signed in)."""
    session.execute(delete(LoginFailure).where(LoginFailure.account == _account(email)))


__all__ = [
    "LoginLimits",
    "LoginThrottledError",
    "check_login_allowed",
    "clear_login_failures",
    "record_login_failure",
]
