"""CSRF protection: a per-session token in every POST form (or the ``X-CSRF-Token`` header)."""

import secrets

from fastapi import Request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfError(Exception):
    """A POST arrived without the session's CSRF token."""


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request whose token does not match the session's.

    Used as a dependency on every POST route; the form is parsed once and cached by Starlette,
    so the route's own form fields still work.
    """
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not secrets.compare_digest(expected, sent):
        raise CsrfError
