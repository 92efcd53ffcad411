"""Batch analytics beyond one machine: Parquet out of the store, features on DuckDB or Spark.

- :func:`export_parquet` moves the store's tables to Parquet through Arrow (ADBC).
- :func:`connect` opens an engine (``duckdb`` or ``spark``), :func:`read_tables` points it at
  a Parquet directory, and the builders of ``_features`` give one Ibis expression per batch
  feature that either engine runs (:data:`FEATURES`).
- :func:`compute_orders` computes, on the engine, what the value analysis needs from the
  orders, so ``kehu analyze --engine spark --input DIR`` fits and scores as usual, and
  :class:`EngineHealth` the health analysis's line aggregates, :class:`EnginePurchases` the
  recommender's training data and :class:`EngineOrderFacts` the relationship playbooks'
  order facts (:func:`open_input` opens them all over one input).
"""

from kehu.batch._analyze import EngineInput, compute_orders, engine_orders, open_input
from kehu.batch._engines import ENGINES, TABLES, BatchEngine, connect, read_tables, spark_session
from kehu.batch._export import EXPORT_QUERIES, ExportReport, TableExport, export_parquet
from kehu.batch._features import (
    FEATURES,
    baskets_expr,
    category_counts_expr,
    cohort_counts_expr,
    cooccurrence_expr,
    customer_orders_expr,
    feature_expressions,
    health_history_expr,
    health_windows_expr,
    item_counts_expr,
    purchase_tuples_expr,
    purchases_expr,
    service_purchases_expr,
    transactions_expr,
    value_summary_expr,
)
from kehu.batch._health import EngineHealth
from kehu.batch._recommend import EnginePurchases
from kehu.batch._relations import EngineOrderFacts

__all__ = [
    "ENGINES",
    "EXPORT_QUERIES",
    "FEATURES",
    "TABLES",
    "BatchEngine",
    "EngineHealth",
    "EngineInput",
    "EngineOrderFacts",
    "EnginePurchases",
    "ExportReport",
    "TableExport",
    "baskets_expr",
    "category_counts_expr",
    "cohort_counts_expr",
    "compute_orders",
    "connect",
    "cooccurrence_expr",
    "customer_orders_expr",
    "engine_orders",
    "export_parquet",
    "feature_expressions",
    "health_history_expr",
    "health_windows_expr",
    "item_counts_expr",
    "open_input",
    "purchase_tuples_expr",
    "purchases_expr",
    "read_tables",
    "service_purchases_expr",
    "spark_session",
    "transactions_expr",
    "value_summary_expr",
]
