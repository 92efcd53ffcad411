"""Fast multi-row inserts for bulk loads (imports), below the ORM but with its column types.

Values go through each column's own bind processor (so a timestamp is stored exactly as the
ORM would store it), memoised per distinct value, then to the driver: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL. Building a parameter dict per row, as a Core ``insert`` does,
costs more than the insert itself at a million rows.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

#: Page cache (negative: KiB) SQLite gets during a bulk insert.
SQLITE_BULK_CACHE_KIB = -262_144


def _processors(table: Table, columns: Sequence[str], session: Session) -> list[Any]:
    dialect = session.get_bind().dialect
    return [table.c[name].type._cached_bind_processor(dialect) for name in columns]


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
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) in the session's transaction.

    With ``ignore_conflicts`` rows that would break a unique key are skipped.
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
        return
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
            )
            cursor.execute(f"TRUNCATE {target}")
