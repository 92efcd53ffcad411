"""The ASGI application: the REST API under /api/v1 and the console under /, in one process.

``api`` and ``web`` never import each other (ARCHITECTURE.md); this module composes them.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import kehu.models  # noqa: F401 - registers every table (merges follow every customer reference)
from kehu import __version__
from kehu.core import Settings, get_settings
from kehu.engagement import ImpressionWriter
from kehu.store import make_engine, make_session_factory

#: Allocations (net) between two young-generation collections in a server process.
GC_THRESHOLD = 10_000


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
    from kehu.api.concurrency import ConcurrencyLimit
    from kehu.jobs.schedule import start_jobs, stop_jobs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Periodic jobs inside the server (jobs/schedule.py): value -> health -> playbooks
        # (KEHU_ANALYZE_EVERY_HOURS), health and playbooks on their own periods, voice scoring.
        start_jobs(app)
        # A server on its own engine (not a test's app on a connection it holds a transaction
        # on, which a writer thread cannot share): impressions are stored behind the request.
        own_engine = isinstance(app.state.session_factory.kw.get("bind"), Engine)
        writer = _start_impression_writer(app) if own_engine else None
        thresholds = gc.get_threshold()
        if own_engine:
            # What start-up loaded lives as long as the process: out of the collector's way,
            # so that the collections under load do not walk it; and collections 14x rarer
            # than the default 700: under load a full collection (the remembered proposals are
            # ~10^5 objects) paused every request in flight (issue 4 §3).
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD, 10, 10)
        try:
            yield
        finally:
            stop_jobs(app)
            if writer is not None:
                app.state.impression_writer = None
                writer.stop()  # stores what is still queued
            if own_engine:
                gc.unfreeze()
                gc.set_threshold(*thresholds)

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

    app.state.impression_writer = None

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def _start_impression_writer(app: FastAPI) -> ImpressionWriter | None:
    """Start storing served impressions in batches (``KEHU_RECS_IMPRESSION_FLUSH_MS``).

    At 0 there is no writer: impressions are written in the request.
    """
    settings: Settings = app.state.settings
    factory: sessionmaker[Session] = app.state.session_factory
    if settings.recs_impression_flush_ms <= 0:
        return None
    writer = ImpressionWriter(factory, flush_ms=settings.recs_impression_flush_ms)
    writer.start()
    app.state.impression_writer = writer
    return writer
