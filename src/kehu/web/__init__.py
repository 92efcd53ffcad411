"""The console: server-rendered Jinja2 + HTMX, all assets served from ``web/static``."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from kehu.core import Settings

STATIC_DIR = Path(__file__).with_name("static")
SESSION_COOKIE = "kehu_session"


def install(app: FastAPI) -> None:
    """Mount the console routes, static files, session middleware and error pages on ``app``.

    Expects ``app.state.settings`` and ``app.state.session_factory`` (set by
    :func:`kehu.app.create_app`).
    """
    from kehu.web.errors import install_error_handlers
    from kehu.web.routes import (
        assets,
        audit,
        auth,
        customers,
        dashboard,
        health,
        imports,
        privacy,
        recommendations,
        relations,
        service,
        value,
        voice,
        webhooks,
    )

    settings: Settings = app.state.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        assets,
        auth,
        dashboard,
        customers,
        value,
        imports,
        audit,
        recommendations,
        service,
        voice,
        health,
        relations,
        webhooks,
        privacy,
    ):
        app.include_router(module.router, include_in_schema=False)
    install_error_handlers(app)


__all__ = ["SESSION_COOKIE", "install"]
