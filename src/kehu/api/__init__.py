"""REST API v1 (FastAPI): bearer-token authentication, roles on every route, JSON errors."""

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from kehu.api.errors import ApiRoute
from kehu.api.routes import (
    audit,
    auth,
    customers,
    imports,
    interactions,
    orders,
    users,
    value,
)

API_PREFIX = "/api/v1"

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
)


def operation_id(route: APIRoute) -> str:
    """Return a route's stable OpenAPI operation id: ``<tag>-<function name>``."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


def build_router() -> APIRouter:
    """Return the router holding every API v1 route."""
    router = APIRouter(
        prefix=API_PREFIX, route_class=ApiRoute, generate_unique_id_function=operation_id
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


__all__ = ["API_PREFIX", "ROUTERS", "build_router", "install", "operation_id"]
