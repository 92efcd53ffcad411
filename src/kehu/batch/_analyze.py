"""The value analysis with its order-crunching done by a batch engine.

The engine reads the orders in Parquet and computes the per-customer RFM summary and total
spend; the driver receives that summary (one row per customer, which the scores written
back need anyway) and a few counts, never the orders. Fitting and scoring then run as in
:func:`kehu.jobs.run_value_analysis`, whose BG/NBD fit works on the distinct
(frequency, recency, T) tuples (:func:`kehu.batch.purchase_tuples_expr` gives them directly
where only the fit is wanted).
"""

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import ibis.expr.types as ir
import pyarrow as pa

from kehu.batch._engines import BatchEngine, connect, read_tables
from kehu.batch._features import currencies_expr, order_facts_expr, value_summary_expr
from kehu.batch._health import EngineHealth
from kehu.batch._recommend import EnginePurchases
from kehu.batch._relations import EngineOrderFacts
from kehu.core import InvalidInputError
from kehu.jobs.value import ComputedOrders


def compute_orders(
    engine: BatchEngine, tables: Mapping[str, ir.Table], *, as_of: dt.date | None = None
) -> ComputedOrders:
    """Compute on ``engine`` what the value analysis needs from the orders.

    ``as_of`` defaults to the day of the newest order of a known customer.
    """
    # Without as_of every known order is on or before the newest: one query gives both.
    facts = engine.to_arrow(order_facts_expr(tables, as_of=as_of)).to_pylist()[0]
    last_day = as_of or facts["last_day"]
    if last_day is None:
        # No orders at all: the analysis reports it (n_orders 0) as it does for the store.
        return ComputedOrders(
            as_of=as_of or dt.date.today(),  # noqa: DTZ011  # only a label: there is no data
            n_orders=0,
            currencies=[],
            summary=pa.table({"customer_id": pa.array([], pa.string())}),
            summarize=lambda _c, _h: pa.table({}),
        )
    n_orders = int(facts["n_orders"])
    summary = pa.table({"customer_id": pa.array([], pa.string())})
    if n_orders:
        # In any order: the analysis ranks by CLV and customer id itself.
        summary = engine.to_arrow(value_summary_expr(tables, as_of=last_day))
    currencies = sorted(
        c
        for c in engine.to_arrow(currencies_expr(tables, as_of=last_day))["currency"].to_pylist()
        if c is not None
    )

    def summarize(calibration_end: dt.date, holdout_end: dt.date) -> pa.Table:
        return engine.to_arrow(
            value_summary_expr(tables, as_of=calibration_end, holdout_end=holdout_end)
        )

    return ComputedOrders(
        as_of=last_day,
        n_orders=n_orders,
        currencies=currencies,
        summary=summary,
        summarize=summarize,
    )


@dataclass
class EngineInput:
    """An open engine over a Parquet input: what ``kehu analyze --engine`` computes on it."""

    engine: BatchEngine
    tables: dict[str, ir.Table]

    def orders(self, *, as_of: dt.date | None = None) -> ComputedOrders:
        """Compute the value analysis's figures (:func:`compute_orders`)."""
        return compute_orders(self.engine, self.tables, as_of=as_of)

    def health(self) -> EngineHealth:
        """Return the health analysis's line aggregates (:class:`kehu.batch.EngineHealth`)."""
        return EngineHealth(self.engine, self.tables)

    def purchases(self) -> EnginePurchases:
        """Return the recommender's training data (:class:`kehu.batch.EnginePurchases`)."""
        return EnginePurchases(self.engine, self.tables)

    def order_facts(self) -> EngineOrderFacts:
        """Return the playbooks' order facts (:class:`kehu.batch.EngineOrderFacts`)."""
        return EngineOrderFacts(self.engine, self.tables)


@contextmanager
def open_input(engine_name: str | None, input_dir: str | None) -> Iterator[EngineInput | None]:
    """Open the engine over ``input_dir`` and keep it open for the whole analysis.

    Yields ``None`` when neither an engine nor an input is given (the analysis reads the
    store). An input without an engine runs on DuckDB; Spark needs an input.
    """
    if engine_name is None and input_dir is None:
        yield None
        return
    if input_dir is None:
        raise InvalidInputError(
            f"--engine {engine_name} reads Parquet: give --input DIR (write one with "
            "`kehu export parquet --out DIR`).",
            code="batch.no_input",
        )
    engine = connect(engine_name or "duckdb")
    try:
        yield EngineInput(engine, read_tables(engine, input_dir))
    finally:
        engine.close()


@contextmanager
def engine_orders(
    engine_name: str | None, input_dir: str | None, *, as_of: dt.date | None = None
) -> Iterator[ComputedOrders | None]:
    """Open the engine, compute the orders' figures from ``input_dir`` and keep it open.

    Yields ``None`` when neither an engine nor an input is given (see :func:`open_input`).
    """
    with open_input(engine_name, input_dir) as opened:
        yield None if opened is None else opened.orders(as_of=as_of)
