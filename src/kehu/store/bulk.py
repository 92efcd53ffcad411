"""Fast multi-row inserts for bulk loads (imports), below the ORM but with its column types.

Values go through each column's own bind processor (so a timestamp is stored exactly as the
ORM would store it), memoised per distinct value, then to the driver: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL. Building a parameter dict per row, as a Core ``insert`` does,
costs more than the insert itself at a million rows.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from kehu.store.base import UTCDateTime

#: Page cache (negative: KiB) SQLite gets during a bulk insert.
SQLITE_BULK_CACHE_KIB = -262_144


def _sqlite_utc_timestamp(value: datetime) -> str:
    """Format an aware timestamp as SQLAlchemy's SQLite DATETIME stores it (naive UTC).

    The same text as ``UTCDateTime``'s bind processor followed by SQLite's DATETIME one, in a
    single ``strftime``; a test keeps the two identical. At 100k orders this halves the Python
    work of the orders insert.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column; use kehu.core.utcnow()")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_timestamps(values: Sequence[datetime]) -> list[str]:
    """Return aware timestamps as SQLite stores them (as :func:`_sqlite_utc_timestamp` does).

    Formatted by NumPy from their microseconds, all at once; the few that NumPy would print
    differently (before year 1000) go through :func:`_sqlite_utc_timestamp`.
    """
    import numpy as np

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    micro = timedelta(microseconds=1)
    try:
        micros = np.array([(value - epoch) // micro for value in values], dtype=np.int64)
    except TypeError:  # a naive timestamp: say so as the column type would
        return [_sqlite_utc_timestamp(value) for value in values]
    printed = np.char.replace(
        np.datetime_as_string(micros.view("datetime64[us]"), unit="us"), "T", " "
    ).tolist()
    for i in np.flatnonzero(micros < _YEAR_1000_MICROS).tolist():
        printed[i] = _sqlite_utc_timestamp(values[i])
    return printed  # type: ignore[no-any-return]


_YEAR_1000_MICROS = (datetime(1000, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // (
    timedelta(microseconds=1)
)


def _processors(table: Table, columns: Sequence[str], session: Session) -> list[Any]:
    dialect = session.get_bind().dialect
    processors: list[Any] = []
    for name in columns:
        column_type = table.c[name].type
        if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime):
            processors.append(_sqlite_utc_timestamp)
        else:
            processors.append(column_type._cached_bind_processor(dialect))
    return processors


class _Memo(dict[Any, Any]):
    """Processed value per distinct input value (a million lines share few prices and times)."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        super().__init__()
        self.process = process

    def __missing__(self, value: Any) -> Any:
        done = self.process(value)
        if len(self) < 500_000:
            self[value] = done
        return done


def _processed(
    rows: Iterable[Sequence[Any]], processors: list[Callable[[Any], Any] | None]
) -> Iterable[Sequence[Any]]:
    plan = [(i, _Memo(p)) for i, p in enumerate(processors) if p is not None]
    if not plan:
        yield from rows
        return
    for row in rows:
        out = list(row)
        for i, memo in plan:
            value = out[i]
            if value is not None:
                out[i] = memo[value]
        yield out


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (tuples in the order of ``columns``) in the session's transaction.

    With ``ignore_conflicts`` rows that would break a unique key are skipped. ``returning``
    (PostgreSQL with ``ignore_conflicts`` only) names columns of the inserted rows to return.
    """
    names = ", ".join(columns)
    processed = _processed(rows, _processors(table, columns, session))
    driver = session.connection().connection.driver_connection
    if session.get_bind().dialect.name != "postgresql":
        marks = ", ".join("?" for _ in columns)
        verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
        cursor = driver.cursor()  # type: ignore[union-attr]
        # SQLite's default 2 MB page cache thrashes on the random index inserts of a large load.
        (previous_cache,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute(f"PRAGMA cache_size={SQLITE_BULK_CACHE_KIB}")
        try:
            cursor.executemany(f"{verb} INTO {table.name} ({names}) VALUES ({marks})", processed)
        finally:
            cursor.execute(f"PRAGMA cache_size={int(previous_cache)}")
            cursor.close()
        return []
    inserted: list[tuple[Any, ...]] = []
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        target = table.name
        if ignore_conflicts:
            target = f"kehu_bulk_{table.name}"
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {target} (LIKE {table.name} INCLUDING DEFAULTS)"
            )
            cursor.execute(f"TRUNCATE {target}")
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in processed:
                copy.write_row(row)
        if ignore_conflicts:
            cursor.execute(
                f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {target} "  # noqa: S608
                "ON CONFLICT DO NOTHING"
                + (f" RETURNING {', '.join(returning)}" if returning else "")
            )
            if returning:
                inserted = cursor.fetchall()
            cursor.execute(f"TRUNCATE {target}")
    return inserted


def insert_columns(
    session: Session,
    table: Table,
    columns: Sequence[str],
    values: Sequence[Any],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert rows given as columns (NumPy or Arrow arrays, or lists, of driver-ready values).

    Nothing goes through the column types: the caller gives what the driver stores (on
    SQLite, floats for ``Numeric`` and :func:`sqlite_timestamps` for timestamps; on
    PostgreSQL, Arrow decimals). SQLite gets one ``executemany`` of plain tuples; PostgreSQL
    one ``COPY`` of CSV that Arrow writes. ``ignore_conflicts`` (SQLite only) skips the rows
    that would break a unique key.
    """
    names = ", ".join(columns)
    driver = session.connection().connection.driver_connection
    if session.get_bind().dialect.name != "postgresql":
        import numpy as np

        lists = [
            v if isinstance(v, list) else v.tolist() if isinstance(v, np.ndarray) else v.to_pylist()
            for v in values
        ]
        marks = ", ".join("?" for _ in columns)
        verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
        cursor = driver.cursor()  # type: ignore[union-attr]
        (previous_cache,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute(f"PRAGMA cache_size={SQLITE_BULK_CACHE_KIB}")
        try:
            cursor.executemany(
                f"{verb} INTO {table.name} ({names}) VALUES ({marks})",
                zip(*lists, strict=True),
            )
        finally:
            cursor.execute(f"PRAGMA cache_size={int(previous_cache)}")
            cursor.close()
        return
    if ignore_conflicts:
        raise ValueError("insert_columns ignores conflicts on SQLite only; use insert_rows")
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    data = pa.table(dict(zip(columns, values, strict=True)))
    buffer = io.BytesIO()
    pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False))
    view = buffer.getbuffer()
    with (
        driver.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT csv)") as copy,
    ):
        step = 8 * 1024 * 1024
        for start in range(0, len(view), step):
            copy.write(view[start : start + step])
    del view


def select_by_keys(
    session: Session, table: Table, key: str, keys: Sequence[Any], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Return ``columns`` of the rows whose ``key`` is among ``keys`` (plain driver values).

    For lookups of many keys: one ``= ANY(array)`` on PostgreSQL, ``IN`` lists of 900 keys
    (below SQLite's oldest bound-parameter limit) on SQLite, without compiling a statement
    per chunk. Only for columns whose driver values need no type processing (ids, texts).
    """
    session.flush()  # the driver does not autoflush the ORM's pending rows
    names = ", ".join(columns)
    driver = session.connection().connection.driver_connection
    found: list[tuple[Any, ...]] = []
    if session.get_bind().dialect.name == "postgresql":
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(
                f"SELECT {names} FROM {table.name} WHERE {key} = ANY(%s)",  # noqa: S608
                (list(keys),),
            )
            found.extend(cursor.fetchall())
        return found
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(keys), 900):
            chunk = list(keys[start : start + 900])
            marks = ", ".join("?" for _ in chunk)
            cursor.execute(
                f"SELECT {names} FROM {table.name} WHERE {key} IN ({marks})",  # noqa: S608
                chunk,
            )
            found.extend(cursor.fetchall())
    finally:
        cursor.close()
    return found
