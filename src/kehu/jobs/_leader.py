"""Which of the processes serving one store runs the periodic jobs: the holder of a lock.

``kehu serve --workers 4``, ``uvicorn kehu.app:create_app --factory --workers 4``, gunicorn or
two hosts on one database all start the app's lifespan once per worker process; without a
lock each would run every periodic job (a value analysis, a playbook run...) at the same time.
The lock is one per store, held for the life of the process that runs the jobs:

PostgreSQL
    a session-level ``pg_try_advisory_lock`` on a connection of its own (AUTOCOMMIT, so it is
    never left idle in a transaction). Advisory locks are per database; the second key is the
    hash of the store's schema, so two stores in two schemas of one database (the test suite's)
    do not block each other. The server drops the lock when the connection closes: when the
    process exits or is killed.
SQLite (a file)
    an exclusive ``flock`` on ``<database file>.jobs.lock`` beside it; the kernel drops it when
    the process exits or is killed.
SQLite in memory, other databases
    no lock: such a store is the process's own (or the lock is not known), it always leads.
"""

import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from kehu.store import make_engine

log = logging.getLogger(__name__)

#: First key of the PostgreSQL advisory lock: "kehu" in ASCII (the second is the schema's hash).
PG_LOCK_CLASS = 0x6B656875


class LeaderLock(Protocol):
    """A lock at most one process holds per store."""

    def try_acquire(self) -> bool:
        """Take the lock unless another process holds it; return whether this one holds it."""
        ...

    def is_held(self) -> bool:
        """Tell whether the lock taken is still held (its connection alive)."""
        ...

    def release(self) -> None:
        """Give the lock back (safe when not held)."""
        ...


class OwnStoreLock:
    """The store is this process's own (SQLite in memory): it always leads."""

    def try_acquire(self) -> bool:
        """Return True."""
        return True

    def is_held(self) -> bool:
        """Return True."""
        return True

    def release(self) -> None:
        """Do nothing."""


class FileLock:
    """An exclusive ``flock`` on ``path``, held while the file stays open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; return whether it is held."""
        if self._file is not None:
            return True
        lock_file = self.path.open("ab")
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        except OSError:
            lock_file.close()
            raise
        lock_file.truncate(0)
        lock_file.write(f"{os.getpid()}\n".encode())  # who leads, for a person looking
        lock_file.flush()
        self._file = lock_file
        return True

    def is_held(self) -> bool:
        """Return whether this process holds the lock (a flock lasts as long as the file)."""
        return self._file is not None

    def release(self) -> None:
        """Unlock and close the file."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class PgAdvisoryLock:
    """A session-level advisory lock on a PostgreSQL connection kept for it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; return whether it is held.

        A follower does not keep its connection: it opens one for each try.
        """
        if self._connection is not None:
            return self.is_held()
        if self._engine is None:
            self._engine = make_engine(self.url, poolclass=NullPool)
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.scalar(
                text(
                    "SELECT pg_try_advisory_lock(:lock_class, "
                    "hashtext(coalesce(current_schema(), '')))"
                ),
                {"lock_class": PG_LOCK_CLASS},
            )
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def is_held(self) -> bool:
        """Return whether the lock's connection is alive (a session lock lasts as long)."""
        if self._connection is None:
            return False
        try:
            self._connection.scalar(text("SELECT 1"))
        except Exception:  # a broken connection: the server has dropped the lock with it
            log.warning("the connection holding the jobs lock broke", exc_info=True)
            return False
        return True

    def release(self) -> None:
        """Unlock (when the connection still works) and close the connection."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.scalar(
                    text(
                        "SELECT pg_advisory_unlock(:lock_class, "
                        "hashtext(coalesce(current_schema(), '')))"
                    ),
                    {"lock_class": PG_LOCK_CLASS},
                )
            except Exception:  # closing the connection drops the lock anyway
                log.debug("could not unlock the jobs lock", exc_info=True)
            connection.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def leader_lock(database_url: str) -> LeaderLock:
    """Return the lock that elects the jobs' process for the store at ``database_url``."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PgAdvisoryLock(database_url)
    if backend == "sqlite":
        if url.database in (None, "", ":memory:") or "mode=memory" in database_url:
            return OwnStoreLock()
        database = Path(str(url.database)).resolve()
        return FileLock(database.with_name(database.name + ".jobs.lock"))
    log.warning("no jobs lock for %s: every process serving it runs the jobs", backend)
    return OwnStoreLock()


__all__ = ["FileLock", "LeaderLock", "OwnStoreLock", "PgAdvisoryLock", "leader_lock"]
