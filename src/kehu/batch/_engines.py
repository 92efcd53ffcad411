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

from kehu.core import InvalidInputError

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
        """Disconnect; a Spark session this engine started is stopped too."""
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

    The master is ``master``, else ``SPARK_MASTER``, else the one ``spark-submit`` gave
    (a driver it launched has ``PYSPARK_GATEWAY_PORT`` set), else ``local[2]``. ``config``
    adds to kehu's defaults; settings given to ``spark-submit --conf`` are not overridden.
    """
    builder = _spark_class().builder.appName("kehu-batch")
    chosen = master or os.environ.get("SPARK_MASTER")
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
        tables[name] = engine.backend.read_parquet(source, table_name=f"kehu_{name}")
    return tables
