"""Jinja2 templates with the console's context: user, locale, ``_()``, CSRF token, flashes."""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from kehu.core import KehuError, Settings, as_utc
from kehu.web.csrf import CSRF_FIELD, CSRF_HEADER, csrf_token
from kehu.web.deps import can_manage
from kehu.web.i18n import LOCALES, normalise_locale, translator

TEMPLATES_DIR = Path(__file__).with_name("templates")


def _format_money(value: Decimal | int | float | None) -> str:
    if value is None:
        return "\u2013"
    return f"{Decimal(value):,.2f}"


def _format_datetime(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, datetime):
        return as_utc(value).strftime(fmt)
    return value.strftime("%Y-%m-%d")


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["money"] = _format_money
templates.env.filters["dt"] = _format_datetime
templates.env.globals["LOCALES"] = LOCALES
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD


def request_locale(request: Request) -> str:
    """Return the locale for this request.

    The choice stored in the session wins, then the signed-in user's own locale, then the
    browser's ``Accept-Language``, then ``settings.default_locale``.
    """
    settings: Settings = request.app.state.settings
    chosen = request.session.get("locale")
    if isinstance(chosen, str) and chosen in LOCALES:
        return chosen
    user = getattr(request.state, "user", None)
    if user is not None and user.locale in LOCALES:
        return str(user.locale)
    accept = request.headers.get("accept-language", "")
    first = accept.split(",")[0].split(";")[0].strip()
    return (
        normalise_locale(first, default=settings.default_locale)
        if first
        else (settings.default_locale)
    )


def flash(request: Request, level: str, message: str, **values: str | int) -> None:
    """Keep a message for the next page the user sees (``level``: success, error, info).

    ``message`` is translated when shown, with ``values`` filled in.
    """
    messages = list(request.session.get("flash", []))
    messages.append([level, message, values])
    request.session["flash"] = messages[-5:]


def attempt(
    request: Request,
    db: Session,
    back: str,
    action: Callable[[], Any],
    *,
    failure: str | None = None,
) -> Any:
    """Run a form's operation; on a kehu error roll back, flash its message, redirect to ``back``.

    ``failure`` (a catalogue message with a ``{reason}`` placeholder) frames the error's own
    message, as in "The analysis failed: {reason}". Returns what ``action`` returned, or the
    redirect when it failed (tell them apart with ``isinstance(outcome, Response)``).
    """
    try:
        return action()
    except KehuError as exc:
        db.rollback()
        if failure is None:
            flash(request, "error", exc.message)
        else:
            flash(request, "error", failure, reason=exc.message)
        return RedirectResponse(back, status_code=303)


def is_htmx(request: Request) -> bool:
    """Tell whether the request comes from HTMX (a partial update)."""
    return request.headers.get("HX-Request") == "true"


def url_with(request: Request, **changes: Any) -> str:
    """Return the current path with some query parameters changed (``None`` drops one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render ``name`` with the console's common context."""
    locale = request_locale(request)
    user = getattr(request.state, "user", None)
    token = csrf_token(request)
    full: dict[str, Any] = {
        "_": translator(locale),
        "locale": locale,
        "user": user,
        "can_manage": user is not None and can_manage(user),
        "csrf_token": token,
        "csrf_headers": {CSRF_HEADER: token},
        "flashes": request.session.pop("flash", []),
        "url_with": lambda **changes: url_with(request, **changes),
        "current_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    full.update(context or {})
    return templates.TemplateResponse(request, name, full, status_code=status_code, headers=headers)
