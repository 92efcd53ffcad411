"""Moving tables out of the store as Arrow: to Parquet for the batch engines.

The store is read with ADBC (``adbc-driver-postgresql`` / ``adbc-driver-sqlite``): rows
arrive as Arrow record batches straight from the driver, without a Python object per value,
and are streamed into Parquet files, so memory stays at a few batches whatever the table's
size. Each table becomes a directory of Parquet files (``orders/part-0.parquet``...) that
DuckDB and Spark read as one dataset, a file per split.
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from sqlalchemy.engine import make_url

from kehu.core import InvalidInputError

#: The columns exported per table. Amounts leave as float64 (the analytics compute in floats;
#: the store keeps the exact Decimal), times as UTC timestamps.
EXPORT_QUERIES: dict[str, tuple[tuple[str, str, pa.DataType], ...]] = {
    "customers": (
        ("id", "id", pa.int64()),
        ("is_active", "is_active", pa.bool_()),
        ("merged_into_id", "merged_into_id", pa.int64()),
        ("created_at", "created_at", pa.timestamp("us", tz="UTC")),
    ),
    "orders": (
        ("id", "id", pa.int64()),
        ("customer_id", "customer_id", pa.int64()),
        ("kind", "kind", pa.string()),
        ("ordered_at", "ordered_at", pa.timestamp("us", tz="UTC")),
        ("currency", "currency", pa.string()),
        ("total", "CAST(total AS {float})", pa.float64()),
    ),
    "order_lines": (
        ("id", "id", pa.int64()),
        ("order_id", "order_id", pa.int64()),
        ("line_no", "line_no", pa.int64()),
        ("product_id", "product_id", pa.int64()),
        ("quantity", "quantity", pa.int64()),
        ("unit_price", "CAST(unit_price AS {float})", pa.float64()),
        ("discount", "CAST(discount AS {float})", pa.float64()),
    ),
    "products": (
        ("id", "id", pa.int64()),
        ("sku", "sku", pa.string()),
        ("category", "category", pa.string()),
    ),
    "service_tickets": (
        ("id", "id", pa.int64()),
        ("customer_id", "customer_id", pa.int64()),
        ("category_id", "category_id", pa.int64()),
        ("opened_at", "opened_at", pa.timestamp("us", tz="UTC")),
    ),
}
DEFAULT_ROWS_PER_FILE = 2_000_000
_ROWS_PER_GROUP = 256 * 1024


@dataclass(frozen=True)
class TableExport:
    """One exported table."""

    name: str
    n_rows: int
    n_files: int
    seconds: float


@dataclass
class ExportReport:
    """What :func:`export_parquet` wrote."""

    out_dir: Path
    tables: list[TableExport] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """Rows written over all tables."""
        return sum(t.n_rows for t in self.tables)


def adbc_connect(database_url: str) -> Any:
    """Open an ADBC DB-API connection to the store at ``database_url`` (SQLAlchemy form)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        import adbc_driver_postgresql.dbapi

        # libpq wants the plain scheme; options (search_path...) pass through as they are.
        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return adbc_driver_postgresql.dbapi.connect(uri)
    if backend == "sqlite":
        import adbc_driver_sqlite.dbapi

        if not url.database or url.database == ":memory:":
            raise InvalidInputError(
                "An in-memory SQLite store cannot be exported; use a database file.",
                code="batch.memory_store",
            )
        return adbc_driver_sqlite.dbapi.connect(url.database)
    raise InvalidInputError(
        f"Export supports PostgreSQL and SQLite stores, not {backend}.", code="batch.bad_store"
    )


def _select(table: str, dialect: str) -> str:
    float_type = "DOUBLE PRECISION" if dialect == "postgresql" else "REAL"
    columns = ", ".join(
        f"{source.format(float=float_type)} AS {name}" for name, source, _ in EXPORT_QUERIES[table]
    )
    return f"SELECT {columns} FROM {table} ORDER BY id"  # noqa: S608  # names are constants


def _schema(table: str) -> pa.Schema:
    return pa.schema([(name, kind) for name, _, kind in EXPORT_QUERIES[table]])


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast a driver's batch to the export schema (SQLite hands times back as text)."""
    columns = []
    for target in schema:
        column = batch.column(target.name)
        if column.type != target.type:
            if pa.types.is_timestamp(target.type) and pa.types.is_string(column.type):
                column = pc.assume_timezone(pc.cast(column, pa.timestamp("us")), "UTC")
            elif pa.types.is_null(column.type):
                column = pa.nulls(len(column), target.type)
            column = pc.cast(column, target.type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _batches(cursor: Any, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    reader = cursor.fetch_record_batch()
    for batch in reader:
        if batch.num_rows:
            yield _conform(batch, schema)


def export_parquet(
    database_url: str,
    out_dir: str | Path,
    *,
    tables: Sequence[str] = tuple(EXPORT_QUERIES),
    rows_per_file: int = DEFAULT_ROWS_PER_FILE,
) -> ExportReport:
    """Write the store's tables to ``out_dir/<table>/part-N.parquet`` through Arrow.

    Parameters
    ----------
    database_url
        The store (``postgresql+psycopg://...`` or ``sqlite:///kehu.db``).
    out_dir
        Created if missing; each exported table's directory is replaced.
    tables
        Which of :data:`EXPORT_QUERIES` to write.
    rows_per_file
        Rows per Parquet file: a file is a split the engines read in parallel.

    Returns
    -------
    ExportReport
        Rows, files and seconds per table.
    """
    unknown = [name for name in tables if name not in EXPORT_QUERIES]
    if unknown:
        raise InvalidInputError(
            f"Unknown table(s) {', '.join(unknown)}; export any of {', '.join(EXPORT_QUERIES)}.",
            code="batch.bad_table",
        )
    if rows_per_file < 1:
        raise InvalidInputError("rows_per_file must be at least 1.", code="batch.bad_option")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out} exists and is not a directory.", code="batch.bad_out")
    dialect = make_url(database_url).get_backend_name()
    report = ExportReport(out_dir=out)
    connection = adbc_connect(database_url)
    try:
        for name in tables:
            started = time.perf_counter()
            schema = _schema(name)
            with connection.cursor() as cursor:
                cursor.execute(_select(name, dialect))
                target = out / name
                ds.write_dataset(
                    _batches(cursor, schema),
                    target,
                    schema=schema,
                    format="parquet",
                    basename_template="part-{i}.parquet",
                    existing_data_behavior="delete_matching",
                    max_rows_per_file=rows_per_file,
                    max_rows_per_group=min(rows_per_file, _ROWS_PER_GROUP),
                    min_rows_per_group=min(rows_per_file, _ROWS_PER_GROUP),
                )
            files = sorted(target.glob("*.parquet"))
            n_rows = sum(ds.dataset(f, format="parquet").count_rows() for f in files)
            report.tables.append(
                TableExport(
                    name=name,
                    n_rows=n_rows,
                    n_files=len(files),
                    seconds=time.perf_counter() - started,
                )
            )
    finally:
        connection.close()
    return report
