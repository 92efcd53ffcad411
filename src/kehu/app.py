"""The ASGI application: the REST API under /api/v1 and the console under /, in one process.

``api`` and ``web`` never import each other (ARCHITECTURE.md); this module composes them.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
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
        a factory bound to a connection whose transaction is rolled back afterwards (with
        ``recs_impression_flush_ms=0``: the impression writer's thread cannot share it).
    """
    from kehu import api, web  # delivery layers, imported late so `kehu version` stays light
    from kehu.api.concurrency import ConcurrencyLimit
    from kehu.jobs.schedule import start_jobs, stop_jobs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Periodic jobs (jobs/schedule.py): value -> health -> playbooks
        # (KEHU_ANALYZE_EVERY_HOURS), health and playbooks on their own periods, voice scoring;
        # in one process of all those serving the store (the others stand by).
        start_jobs(app)
        writer = _start_impression_writer(app)
        thresholds = _tune_gc() if app.state.settings.server_gc_freeze else None
        try:
            yield
        finally:
            stop_jobs(app)
            if writer is not None:
                app.state.impression_writer = None
                writer.stop()  # stores what is still queued
            if thresholds is not None:
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


def _tune_gc() -> tuple[int, int, int]:
    """Tune the collector for serving (``KEHU_SERVER_GC_FREEZE``); return the old thresholds.

    What start-up loaded lives as long as the process: frozen out of the collector's way, the
    collections under load do not walk it; and young collections 14x rarer than the default
    700: under load a full collection (the remembered proposals are ~10^5 objects) paused
    every request in flight (issue 4 §3).
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    return thresholds


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
