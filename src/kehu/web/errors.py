"""Friendly error pages for the console, leaving the API's own (JSON) handlers in charge of /api."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from kehu.core import KehuError
from kehu.web.csrf import CsrfError
from kehu.web.deps import LoginRequiredError, find_signed_in_user
from kehu.web.rendering import is_htmx, render

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

NOT_CONSOLE = ("/api", "/docs", "/redoc", "/healthz", "/openapi.json")

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Check what you sent",
}


def is_console_path(path: str) -> bool:
    """Tell whether ``path`` belongs to the console (not the API or its docs)."""
    return not any(path == prefix or path.startswith(prefix + "/") for prefix in NOT_CONSOLE)


def safe_next(value: str | None) -> str:
    """Return ``value`` when it is a path on this site, else ``/`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_redirect(request: Request) -> Response:
    """Send someone who is not signed in to the login page, then back here."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):
        current = request.headers.get("HX-Current-URL")
        if current:
            parts = urlsplit(current)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
    location = "/login?" + urlencode({"next": safe_next(target)})
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_page(request: Request, status_code: int, message: str) -> Response:
    """Render the error page with a title for ``status_code`` and a message."""
    title = TITLES.get(status_code, "Something is not right")
    if getattr(request.state, "user", None) is None and "user_id" in request.session:
        # No route dependency ran (an unknown address): still show the signed-in layout.
        factory: sessionmaker[Session] = request.app.state.session_factory
        with factory() as db:
            find_signed_in_user(request, db)
    return render(
        request,
        "errors/error.html",
        {"status_code": status_code, "title": title, "message": message},
        status_code=status_code,
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "The request could not be understood."


def console_error(request: Request, exc: Exception) -> Response:
    """Turn an exception into the console's answer for it."""
    if isinstance(exc, LoginRequiredError):
        return login_redirect(request)
    if isinstance(exc, CsrfError):
        return error_page(
            request,
            403,
            "This form has expired or did not come from this console. "
            "Reload the page and try again.",
        )
    if isinstance(exc, KehuError):
        return error_page(request, exc.status_code, exc.message)
    if isinstance(exc, RequestValidationError):
        return error_page(request, 422, _validation_message(exc))
    if isinstance(exc, StarletteHTTPException):
        message = "There is nothing at this address." if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, message)
    raise exc


async def _fallback(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError):
        return await request_validation_exception_handler(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return await http_exception_handler(request, exc)
    if isinstance(exc, KehuError):
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=exc.status_code)
    raise exc


def _delegating(previous: Handler | None) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_console_path(request.url.path):
            return console_error(request, exc)
        if previous is None:
            return await _fallback(request, exc)
        result = previous(request, exc)
        if inspect.isawaitable(result):
            return await result
        return result

    return handle


def install_error_handlers(app: FastAPI) -> None:
    """Render console errors as pages; hand everything else to the handlers already installed.

    ``kehu.api.install`` runs first and may register JSON handlers for the same exception
    classes; those keep answering for /api paths.
    """
    ours: set[type[Exception]] = {
        StarletteHTTPException,
        RequestValidationError,
        KehuError,
        LoginRequiredError,
        CsrfError,
    }
    for key in list(app.exception_handlers):
        if isinstance(key, type) and issubclass(
            key, StarletteHTTPException | RequestValidationError | KehuError
        ):
            ours.add(key)
    for key in ours:
        previous = app.exception_handlers.get(key)
        app.add_exception_handler(key, _delegating(previous))
