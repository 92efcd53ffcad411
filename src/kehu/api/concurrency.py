"""Bounding the requests a server process handles at once (issue 4 §3).

:class:`ConcurrencyLimit` is the ASGI middleware :func:`kehu.app.create_app` puts outermost.

Sync routes and dependencies run in a pool of worker threads; each request's session holds a
database connection between those hops. If more requests are in flight than the database pool
has connections, every thread can end up waiting for a connection held by a request that waits
for a thread: a flood then stalls until the pool times out and answers 500s. Letting at most
``limit`` requests in at once (the others wait in the event loop, costing nothing), with the
pool sized for ``limit`` (:func:`kehu.store.make_engine` ``connections=``) and at least as many
threads, makes that impossible.
"""

import asyncio
import weakref

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send


class ConcurrencyLimit:
    """ASGI middleware: at most ``limit`` HTTP requests inside the application at once.

    The limiter and the thread-pool size are per event loop (a test may drive one app from
    several loops).
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    def _limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.limit)
            threads = anyio.to_thread.current_default_thread_limiter()
            threads.total_tokens = max(threads.total_tokens, self.limit)
        return limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wait for a free place, then hand the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._limiter():
            await self.app(scope, receive, send)
