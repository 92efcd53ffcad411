"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the console read while an import writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # pysqlite emits BEGIN only before DML, so a SAVEPOINT taken first opened the transaction
    # itself and its RELEASE committed everything (begin_nested() and the tests' rolled-back
    # outer transaction both broke). Take over: no implicit BEGIN, ours on every begin.
    dbapi_connection.isolation_level = None


#: Execution option naming how a SQLite transaction begins (see :data:`WRITE_OPTIONS`).
SQLITE_BEGIN_OPTION = "kehu_sqlite_begin"
#: Session execution options for a transaction that will write.
#:
#: SQLite has one writer at a time. A transaction begun DEFERRED reads first and asks for the
#: write lock at its first write; if another connection committed in between, SQLite answers
#: "database is locked" at once (waiting cannot help: the snapshot it read is stale). A
#: transaction begun IMMEDIATE takes the write lock up front and so waits its turn (busy
#: timeout) instead. Requests that write open their session with these options; reads stay
#: DEFERRED so they never wait for a writer (WAL). PostgreSQL ignores the option.
WRITE_OPTIONS: dict[str, Any] = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}


def _begin_sqlite(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def dumps_json(value: Any) -> str:
    """Serialise a JSON column's value, writing NaN and infinities as ``null``.

    Python's json writes them as ``NaN``/``Infinity``, which is not JSON: PostgreSQL refuses
    it (a model parameter the data do not identify may well be infinite), SQLite stores it
    and every other reader chokes. A figure that is not a number is stored as unknown.
    """
    return json.dumps(_finite(value), allow_nan=False)


#: Connections an engine sized for ``connections`` users keeps beyond them, for background
#: jobs (scheduled analyses, voice scoring, webhook delivery) running beside the requests.
BACKGROUND_CONNECTIONS = 8
#: Connections a PostgreSQL pool keeps open while idle; more are opened under load.
PG_IDLE_CONNECTIONS = 10


def _is_sqlite_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.database in (None, "", ":memory:") or "mode=memory" in url


#: libpq startup options for every PostgreSQL connection kehu opens.
#:
#: JIT off: kehu's statements are short OLTP reads and writes. PostgreSQL turns JIT on by cost,
#: and the record-level scopes' EXISTS predicates get estimates in the millions even where the
#: query reads a page of rows, so a 20-row console list paid 0.6-1.3 s of LLVM compilation per
#: statement at 1M customers (issue 8 §3, EXPLAIN ANALYZE "JIT: Timing"). The analytics jobs
#: fold their data in numpy, not in SQL, so nothing kehu runs gains from it.
PG_CONNECTION_OPTIONS = "-c jit=off"


def _disable_jit(kwargs: dict[str, Any], url_options: str) -> None:
    # connect_args replace the URL's own ?options=... (a test schema's search_path), so both
    # travel together.
    connect_args = dict(kwargs.get("connect_args") or {})
    options = str(connect_args.get("options", url_options))
    if "jit=" not in options:
        connect_args["options"] = f"{options} {PG_CONNECTION_OPTIONS}".strip()
    kwargs["connect_args"] = connect_args


def make_engine(url: str, *, connections: int | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with kehu's per-dialect settings.

    SQLite gets WAL, enforced foreign keys and a busy timeout; PostgreSQL gets a pre-pinged
    connection pool and JIT off (:data:`PG_CONNECTION_OPTIONS`). On both, JSON columns store
    non-finite floats as ``null`` (:func:`dumps_json`).

    Parameters
    ----------
    connections
        Size the pool for this many concurrent users (a server's request concurrency), plus
        :data:`BACKGROUND_CONNECTIONS`: a pool smaller than the threads that wait on it lets
        a flood of requests deadlock (every thread waiting for a connection held by a request
        that waits for a thread). Default: SQLAlchemy's pool for SQLite (5 + 10 overflow),
        10 + 20 for PostgreSQL. Explicit ``pool_size``/``max_overflow``/``poolclass`` win.
    """
    kwargs.setdefault("json_serializer", dumps_json)
    parsed = make_url(url)
    sized = connections is not None and "poolclass" not in kwargs
    if parsed.get_backend_name() == "sqlite":
        if sized and connections is not None and not _is_sqlite_memory(url):
            # SQLite connections are cheap (a file handle): keep them all.
            kwargs.setdefault("pool_size", connections)
            kwargs.setdefault("max_overflow", BACKGROUND_CONNECTIONS)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    url_options = parsed.query.get("options", "")
    _disable_jit(kwargs, url_options if isinstance(url_options, str) else " ".join(url_options))
    if sized and connections is not None:
        idle = min(PG_IDLE_CONNECTIONS, connections)
        kwargs.setdefault("pool_size", idle)
        kwargs.setdefault("max_overflow", connections + BACKGROUND_CONNECTIONS - idle)
    elif "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def is_postgresql(engine_or_session: Engine | Session) -> bool:
    """Tell whether the engine (or the session's bind) talks to PostgreSQL."""
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def open_session(factory: sessionmaker[Session], *, writes: bool = False) -> Session:
    """Return a new session; ``writes=True`` begins it ready to write (:data:`WRITE_OPTIONS`)."""
    return factory(execution_options=WRITE_OPTIONS) if writes else factory()


@contextmanager
def session_scope(factory: sessionmaker[Session], *, writes: bool = True) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on any error.

    This is the transaction boundary the delivery layers (api, web, cli) own. Sessions write
    unless told otherwise (``writes=False`` for a read-only request).
    """
    session = open_session(factory, writes=writes)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
