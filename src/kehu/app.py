"""The ASGI application: the REST API under /api/v1 and the console under /, in one process.

``api`` and ``web`` never import each other (ARCHITECTURE.md); this module composes them.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

import kehu.models  # noqa: F401 - registers every table (merges follow every customer reference)
from kehu import __version__
from kehu._concurrency import ConcurrencyLimit
from kehu.core import Settings, get_settings
from kehu.store import make_engine, make_session_factory


def create_app(
    settings: Settings | None = None, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings
        Configuration; :func:`kehu.core.get_settings` when omitted.
    session_factory
        Where sessions come from; by default one bound to ``settings.database_url``. Tests pass
        a factory bound to a connection whose transaction is rolled back afterwards.
    """
    from kehu import api, web  # delivery layers, imported late so `kehu version` stays light
    from kehu.jobs.schedule import start_jobs, stop_jobs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Periodic jobs inside the server (jobs/schedule.py): value -> health -> playbooks
        # (KEHU_ANALYZE_EVERY_HOURS), health and playbooks on their own periods, voice scoring.
        start_jobs(app)
        try:
            yield
        finally:
            stop_jobs(app)

    settings = settings or get_settings()
    if session_factory is None:
        session_factory = make_session_factory(
            make_engine(settings.database_url, connections=settings.server_concurrency)
        )
    app = FastAPI(
        title="kehu",
        version=__version__,
        description="kehu (客户) customer-relationship system: REST API v1.",
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    api.install(app)
    web.install(app)
    # Outermost: a flood waits here, in the event loop, not for threads or connections.
    app.add_middleware(ConcurrencyLimit, limit=settings.server_concurrency)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
