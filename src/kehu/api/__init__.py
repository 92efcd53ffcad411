"""REST API v1 (FastAPI): bearer-token authentication, roles on every route, JSON errors."""

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from kehu.api.errors import ApiRoute
from kehu.api.routes import (
    audit,
    auth,
    customers,
    health,
    imports,
    interactions,
    orders,
    privacy,
    recommendations,
    relations,
    service,
    users,
    value,
    voice,
    webhooks,
)
from kehu.api.schemas import ErrorPublic
from kehu.api.security import SecurityHeadersMiddleware

API_PREFIX = "/api/v1"

#: The error answers every route may give, declared in the OpenAPI with their real shape (the
#: API answers its own error JSON, not FastAPI's ``HTTPValidationError``).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": description}
    for status, description in {
        400: "The request is well-formed but cannot be carried out as asked.",
        401: "Not authenticated: no, an unknown, an expired or a revoked token.",
        403: "The token's user may not do this.",
        404: "A record the request names does not exist.",
        409: "The change conflicts with data already stored.",
        422: "Invalid input; `errors` names each invalid field.",
        503: "The database is busy with another change; nothing was changed: retry shortly.",
    }.items()
}

#: The feature routers, in the order they are mounted under :data:`API_PREFIX`.
ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    customers.router,
    orders.router,
    interactions.router,
    imports.router,
    users.router,
    audit.router,
    value.router,
    recommendations.router,
    service.router,
    voice.router,
    health.router,
    relations.router,
    webhooks.router,
    privacy.router,
)


def operation_id(route: APIRoute) -> str:
    """Return a route's stable OpenAPI operation id: ``<tag>-<function name>``."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


def build_router() -> APIRouter:
    """Return the router holding every API v1 route."""
    router = APIRouter(
        prefix=API_PREFIX,
        route_class=ApiRoute,
        generate_unique_id_function=operation_id,
        responses=ERROR_RESPONSES,
    )
    for feature_router in ROUTERS:
        router.include_router(feature_router, generate_unique_id_function=operation_id)
    return router


def install(app: FastAPI) -> None:
    """Mount the API routes on ``app``.

    Errors are answered by the routes themselves (:class:`kehu.api.errors.ApiRoute`), not by
    application-wide handlers, so the console keeps its own error pages.
    """
    app.include_router(build_router(), generate_unique_id_function=operation_id)
    # Security headers on every response of the app, console and static files included.
    app.add_middleware(SecurityHeadersMiddleware)


__all__ = ["API_PREFIX", "ERROR_RESPONSES", "ROUTERS", "build_router", "install", "operation_id"]
