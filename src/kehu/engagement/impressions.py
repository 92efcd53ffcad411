"""Impressions written behind the request: queued in the process, stored in batches.

Serving a list in a channel that shows it records one impression per item. Written in the
request, that is a write transaction per request, and on SQLite every worker then queues for
the one write lock (the busy handler sleeps 1, 2, 5, ... 100 ms between tries): that queue was
the serving tail under load (issue 4 §3). :class:`ImpressionWriter` takes the lists instead,
and a thread stores everything queued every ``flush_ms`` milliseconds (or as soon as
``max_rows`` impressions wait) in one transaction, with the same idempotent INSERT as
:func:`kehu.engagement.record_impressions` (event ids ``<serve_id>:<product id>``), so a batch
written twice adds nothing.

What is lost when: a clean stop (the server's shutdown) stores everything queued. A process
killed outright (``kill -9``, power loss) loses the lists queued since the last flush: at most
``flush_ms`` of serving (about 10 lists per worker at 200 requests/s and 50 ms). That is
acceptable for impressions and only for them: an impression lost means an item may be shown
once more than restraint would have allowed (the policy folds impressions less than 30
minutes apart into one view anyway), nothing that costs a customer money, consent or a
contact. Lists that must not be lost or delayed (outreach channels with a contact budget or a
frequency cap, and requests retried with the caller's ``serve_id``) are recorded in the
request, not here (:func:`kehu.jobs.recommend.record_served`).

A batch that cannot be stored (the database busy or down) stays queued and is tried again at
the next turn; beyond ``max_pending`` impressions the oldest lists are dropped (and counted in
``n_dropped``) rather than let the process grow without bound. A list naming a product deleted
since it was served is dropped alone, not with its batch.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kehu.core import utcnow
from kehu.engagement.operations import impression_rows, insert_impression_rows
from kehu.store import session_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedList:
    """A served list waiting to be stored as impressions."""

    customer_id: int
    channel: str
    serve_id: str
    shown: tuple[tuple[int, float], ...]
    at: datetime
    source: str = "serve"


class ImpressionWriter:
    """Store served lists as impressions in batches, off the request path.

    Parameters
    ----------
    session_factory
        Where the writing sessions come from (the application's own engine: a factory bound
        to a connection some caller holds a transaction on cannot be shared by a thread).
    flush_ms
        Most milliseconds a queued list waits before its batch is written.
    max_rows
        Impressions that trigger a write before ``flush_ms`` is up.
    max_pending
        Impressions kept queued at most while the database refuses writes.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        flush_ms: float = 50.0,
        max_rows: int = 2000,
        max_pending: int = 200_000,
    ) -> None:
        if flush_ms <= 0 or max_rows < 1 or max_pending < max_rows:
            raise ValueError("flush_ms and max_rows must be positive, max_pending >= max_rows")
        if isinstance(session_factory.kw.get("bind"), Connection):
            # A connection is not safe to share between threads, and a caller (a test) holds
            # a transaction on it: refuse here rather than corrupt it from the writer thread.
            raise ValueError(
                "ImpressionWriter needs sessions on an engine, not on one connection: "
                "set KEHU_RECS_IMPRESSION_FLUSH_MS=0 to write impressions in the request"
            )
        self.session_factory = session_factory
        self.flush_ms = flush_ms
        self.max_rows = max_rows
        self.max_pending = max_pending
        self.n_written = 0
        self.n_dropped = 0
        self.n_failed_flushes = 0
        self._queue: deque[QueuedList] = deque()
        self._n_queued_rows = 0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ the request side

    def submit(
        self,
        *,
        customer_id: int,
        channel: str,
        serve_id: str,
        shown: Sequence[tuple[int, float]],
        at: datetime,
        source: str = "serve",
    ) -> int:
        """Queue a served list; return the number of impressions queued (one per item).

        Costs no SQL and takes no database lock: the list is stored by the next flush.
        """
        if not shown:
            return 0
        item = QueuedList(customer_id, channel, serve_id, tuple(shown), at, source)
        with self._lock:
            self._queue.append(item)
            self._n_queued_rows += len(item.shown)
            while self._n_queued_rows > self.max_pending and len(self._queue) > 1:
                dropped = self._queue.popleft()
                self._n_queued_rows -= len(dropped.shown)
                self.n_dropped += len(dropped.shown)
            full = self._n_queued_rows >= self.max_rows
        if full:
            self._wake.set()
        return len(item.shown)

    @property
    def n_pending(self) -> int:
        """Impressions queued and not stored yet."""
        with self._lock:
            return self._n_queued_rows

    # ------------------------------------------------------------ the writing side

    def flush(self) -> int:
        """Store everything queued now, in one transaction; return the impressions added.

        Safe to call from any thread (one flush runs at a time). On a database error the
        lists stay queued for the next try and the error is logged, not raised.
        """
        with self._flushing:
            with self._lock:
                batch = list(self._queue)
            if not batch:
                return 0
            try:
                added = self._write(batch)
            except SQLAlchemyError as exc:
                self.n_failed_flushes += 1
                log.warning("impressions not stored yet (%d lists queued): %s", len(batch), exc)
                return 0
            with self._lock:
                # Lists submitted during the write stay; the ones written go.
                for _ in batch:
                    written = self._queue.popleft()
                    self._n_queued_rows -= len(written.shown)
            self.n_written += added
            return added

    def _write(self, batch: list[QueuedList]) -> int:
        stamp = utcnow()
        rows: list[dict[str, Any]] = []
        for item in batch:
            rows += _rows_of(item, stamp)
        try:
            with session_scope(self.session_factory) as session:
                return sum(
                    insert_impression_rows(session, rows[start : start + 500])
                    for start in range(0, len(rows), 500)
                )
        except IntegrityError:
            # A product (or customer) deleted since its list was served: store the lists one
            # by one and drop only those that cannot be.
            return self._write_one_by_one(batch, stamp)

    def _write_one_by_one(self, batch: list[QueuedList], stamp: datetime) -> int:
        added = 0
        for item in batch:
            rows = _rows_of(item, stamp)
            try:
                with session_scope(self.session_factory) as session:
                    added += insert_impression_rows(session, rows)
            except IntegrityError as exc:
                self.n_dropped += len(rows)
                log.warning("impressions of serve %s dropped: %s", item.serve_id, exc.orig)
        return added

    # ------------------------------------------------------------ the thread

    def start(self) -> None:
        """Start the thread that flushes every ``flush_ms`` milliseconds."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kehu-impressions", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_ms / 1000)
            self._wake.clear()
            self.flush()

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the thread and store what is still queued; return the impressions left unstored.

        Tries the final flush until ``timeout`` seconds are up (the database may be busy).
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        deadline = time.monotonic() + timeout
        while self.n_pending and time.monotonic() < deadline:
            self.flush()
            if self.n_pending:
                time.sleep(0.1)
        left = self.n_pending
        if left:
            log.error("%d impressions could not be stored before the server stopped", left)
        return left


def _rows_of(item: QueuedList, stamp: datetime) -> list[dict[str, Any]]:
    """Return the impression rows of one queued list, stamped ``stamp``."""
    return impression_rows(
        customer_id=item.customer_id,
        channel=item.channel,
        serve_id=item.serve_id,
        shown=item.shown,
        at=item.at,
        source=item.source,
        stamp=stamp,
    )


__all__ = ["ImpressionWriter", "QueuedList"]
