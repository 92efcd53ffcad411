"""The engines that run the batch features: DuckDB in process, or Apache Spark.

Both are reached through Ibis, so a feature is one Ibis expression and the engine is only a
connection: :func:`connect` opens one, :func:`read_tables` points it at a Parquet directory
written by :func:`kehu.batch.export_parquet` (one sub-directory per table).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kehu.core import InvalidInputError, get_settings

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")
#: The tables a Parquet input directory may hold; ``orders`` is the one every run needs.
TABLES = ("customers", "orders", "order_lines", "products", "service_tickets")
#: Spark settings for one machine or a test: few shuffle partitions (the default 200 costs
#: seconds on small data), UTC days, no web UI, no progress bars on the console.
_SPARK_DEFAULTS = {
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


#: The tables that get a ``day`` column (the UTC date of this timestamp) on DuckDB.
_DAY_OF = {"orders": "ordered_at", "service_tickets": "opened_at"}
#: Days since 1970-01-01 floored (DuckDB's ``//`` truncates towards zero), as a date.
_MICROS_PER_DAY = 86_400_000_000
_UTC_DAY = (
    "CAST(DATE '1970-01-01' + CAST(({us} - ((({us}) % "
    f"{_MICROS_PER_DAY} + {_MICROS_PER_DAY}) % {_MICROS_PER_DAY})) // {_MICROS_PER_DAY} "
    "AS INTEGER) AS DATE)"
)


@dataclass
class BatchEngine:
    """An open engine: its Ibis backend and, for Spark, the session behind it."""

    name: EngineName
    backend: Any
    spark: Any = None
    _owns_spark: bool = field(default=False, repr=False)

    def to_arrow(self, expr: ir.Expr) -> pa.Table:
        """Run ``expr`` and bring the (small) result back to the driver as Arrow."""
        return self.backend.to_pyarrow(expr)

    def close(self) -> None:
        """Release what was cached, then disconnect; a Spark session it started is stopped."""
        # Ibis drops a cached table when its expression is collected, which may be after
        # the disconnect (an error then) or never on a shared Spark session: release now.
        for name in list(getattr(self.backend, "_cache_name_to_entry", {})):
            self.backend._finalize_cached_table(name)
        if self.name == "duckdb":
            self.backend.disconnect()
        elif self._owns_spark and self.spark is not None:
            self.spark.stop()


def _spark_class() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the spark extra is optional
        raise InvalidInputError(
            "The Spark engine needs pyspark: pip install 'kehu[spark]' (and Java 17).",
            code="batch.no_spark",
        ) from exc
    return SparkSession


def spark_session(master: str | None = None, *, config: Mapping[str, str] | None = None) -> Any:
    """Start (or get) a Spark session.

    The master is ``master``, else the ``spark_master`` setting (``KEHU_SPARK_MASTER`` or
    ``SPARK_MASTER``), else the one ``spark-submit`` gave
    (a driver it launched has ``PYSPARK_GATEWAY_PORT`` set), else ``local[2]``. ``config``
    adds to kehu's defaults; settings given to ``spark-submit --conf`` are not overridden.
    """
    builder = _spark_class().builder.appName("kehu-batch")
    chosen = master or get_settings().spark_master
    # A driver spark-submit launched has the gateway port set; not a setting, Spark's own.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if chosen or not submitted:
        builder = builder.master(chosen or "local[2]")
    settings = dict(config or {}) if submitted else {**_SPARK_DEFAULTS, **(config or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def connect(name: str, *, spark: Any = None, master: str | None = None) -> BatchEngine:
    """Open the engine called ``name`` (``duckdb`` or ``spark``).

    Parameters
    ----------
    spark
        An existing Spark session to use (tests share one); otherwise one is started.
    master
        Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``...).
    """
    if name == "duckdb":
        return BatchEngine("duckdb", ibis.duckdb.connect())
    if name == "spark":
        # A session already running in this process (a test's, a notebook's) is used, not
        # stopped at the end.
        session = spark or _spark_class().getActiveSession()
        owns = session is None
        session = session or spark_session(master)
        return BatchEngine("spark", ibis.pyspark.connect(session), spark=session, _owns_spark=owns)
    raise InvalidInputError(
        f"Unknown engine {name!r}; choose one of {', '.join(ENGINES)}.", code="batch.bad_engine"
    )


def read_tables(engine: BatchEngine, input_dir: str | Path) -> dict[str, ir.Table]:
    """Register the Parquet tables under ``input_dir`` with the engine and return them.

    ``input_dir`` may be a local path or, for Spark, any URL Spark reads (``hdfs://``,
    ``s3a://``...); a local directory must hold an ``orders`` sub-directory.
    """
    base = str(input_dir).rstrip("/")
    is_local = "://" not in base
    if is_local and not (Path(base) / "orders").is_dir():
        raise InvalidInputError(
            f"{base} holds no orders/ directory of Parquet files; write one with "
            "`kehu export parquet --out DIR` first.",
            code="batch.no_input",
        )
    tables: dict[str, ir.Table] = {}
    for name in TABLES:
        path = f"{base}/{name}"
        if is_local and not (Path(path).is_dir() and any(Path(path).glob("*.parquet"))):
            continue
        source = path if engine.name == "spark" else f"{path}/*.parquet"
        table = engine.backend.read_parquet(source, table_name=f"kehu_{name}")
        if name in _DAY_OF and engine.name == "duckdb":
            # The UTC day by integer arithmetic: DuckDB's cast of a zoned timestamp to a date
            # goes through ICU's calendar in the session's time zone (8x slower, and the
            # machine's zone, not UTC, unless set). Spark's session runs in UTC.
            stamp = f'epoch_us("{_DAY_OF[name]}")'
            table = engine.backend.sql(
                f'SELECT *, {_UTC_DAY.format(us=stamp)} AS "day" FROM "kehu_{name}"'  # noqa: S608
            )
        tables[name] = table
    return tables
