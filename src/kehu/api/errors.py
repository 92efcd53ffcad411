"""Turning every failure of an API route into a JSON answer with a status a client can act on.

The API's routes use :class:`ApiRoute`, which owns the transaction boundary and maps errors
itself instead of registering application-wide exception handlers: the console (``kehu.web``)
lives in the same application and answers its errors as HTML pages.
"""

import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from typing_extensions import override

from kehu.core import KehuError

logger = logging.getLogger("kehu.api")

#: Where :func:`kehu.api.deps.get_session` leaves the request's session for the boundary.
SESSION_STATE_KEY = "kehu_session"

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "busy",
}


def _location(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        where, rest = parts[0], parts[1:]
        return f"{where} {'.'.join(rest)}" if rest else where
    return ".".join(parts)


def describe_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Return pydantic/FastAPI validation errors as JSON-safe ``{field, message, type}`` dicts.

    The raw errors can carry exceptions and arbitrary input in their context, which are neither
    JSON-serialisable nor useful to a client.
    """
    described = []
    for error in errors:
        loc = error.get("loc", ())
        message = str(error.get("msg", "invalid value"))
        if error.get("type") == "json_invalid":
            message = f"The body is not valid JSON: {error.get('ctx', {}).get('error', message)}"
        described.append(
            {"field": _location(loc), "message": message, "type": str(error.get("type", ""))}
        )
    return described


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = describe_validation_errors(exc.errors())
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    if len(errors) > 5:
        summary += f"; and {len(errors) - 5} more"
    return JSONResponse(
        status_code=422,
        content={"detail": f"Invalid request: {summary}.", "code": "invalid", "errors": errors},
    )


def error_response(request: Request, exc: Exception) -> JSONResponse:
    """Return the JSON answer for an exception raised while handling an API request.

    Known errors (:class:`kehu.core.KehuError`, HTTP errors, validation errors, values the
    database refuses) get their 4xx status and a message; anything else is logged with a
    request id and answered 500 ``{"detail": "internal error", "request_id": ...}``.
    """
    if isinstance(exc, KehuError):
        content: dict[str, Any] = {"detail": exc.message, "code": str(exc.code)}
        if exc.details is not None:
            content["details"] = exc.details
        return JSONResponse(status_code=exc.status_code, content=content)
    if isinstance(exc, RequestValidationError):
        return _validation_response(exc)
    if isinstance(exc, StarletteHTTPException):
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": str(exc.detail), "code": _HTTP_CODES.get(exc.status_code, "error")},
            headers=exc.headers,
        )
    if isinstance(exc, DataError | OverflowError):
        # Input validation keeps ids and amounts in range; this is the net under it (a NUL
        # character in a search on PostgreSQL, an amount beyond NUMERIC(14, 2)).
        return JSONResponse(
            status_code=422,
            content={
                "detail": "A value in the request cannot be stored or searched: it is out of "
                "range or contains a character the database refuses (such as NUL).",
                "code": "invalid_value",
            },
        )
    if isinstance(exc, IntegrityError):
        return JSONResponse(
            status_code=409,
            content={
                "detail": "The change conflicts with data already stored (a duplicate key or a "
                "reference to something that does not exist).",
                "code": "conflict",
            },
        )
    if isinstance(exc, OperationalError) and _is_busy(exc):
        return JSONResponse(
            status_code=503,
            content={
                "detail": "The database is busy with another change; nothing was changed. "
                "Retry in a few seconds.",
                "code": "busy",
            },
            headers={"Retry-After": "5"},
        )
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    logger.exception(
        "unexpected error in %s %s (request %s)", request.method, request.url.path, request_id
    )
    return JSONResponse(
        status_code=500,
        content={"detail": "internal error", "request_id": request_id},
        headers={"X-Request-ID": request_id},
    )


def _is_busy(exc: OperationalError) -> bool:
    """Tell whether the database refused for now (SQLite's lock, PostgreSQL's lock timeout)."""
    text = str(exc.orig).lower()
    return "database is locked" in text or "lock timeout" in text or "deadlock" in text


class ApiRoute(APIRoute):
    """A route that owns the transaction and answers every error as JSON.

    The request's session (opened by :func:`kehu.api.deps.get_session`) is committed once the
    response is ready and before it is sent, so a failing commit still becomes an error answer;
    on any error it is rolled back, so a refused request changes nothing.
    """

    @override
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the transaction boundary and the error mapping."""
        handler = super().get_route_handler()

        async def api_handler(request: Request) -> Response:
            try:
                response = await handler(request)
                session = _request_session(request)
                if session is not None:
                    await run_in_threadpool(session.commit)
            except Exception as exc:  # every error becomes an answer, see error_response
                session = _request_session(request)
                if session is not None:
                    await run_in_threadpool(session.rollback)
                return error_response(request, exc)
            return response

        return api_handler


def _request_session(request: Request) -> Session | None:
    session = getattr(request.state, SESSION_STATE_KEY, None)
    return session if isinstance(session, Session) else None


__all__ = ["SESSION_STATE_KEY", "ApiRoute", "describe_validation_errors", "error_response"]
