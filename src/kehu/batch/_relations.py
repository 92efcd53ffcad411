"""The relationship playbooks' order facts computed by a batch engine.

:class:`EngineOrderFacts` is a :class:`kehu.jobs.relations.OrderFactsSource`: the
per-customer sale counts, first and last days and spend behind the customers' snapshots
(:func:`kehu.batch.customer_orders_expr`), and the recent purchases the free-service reminders
look at (:func:`kehu.batch.service_purchases_expr`), from the engine instead of the store.
Everything else the playbooks read (names, owners, value and health scores, contacts,
tickets, tasks, referrals, consent) stays in the store: it is not in the Parquet.
"""

import datetime as dt
from collections.abc import Collection, Mapping

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from kehu.batch._engines import BatchEngine
from kehu.batch._features import customer_orders_expr, service_purchases_expr

Tables = Mapping[str, ir.Table]


class EngineOrderFacts:
    """The relationship playbooks' order facts from ``engine`` over ``tables`` (Parquet)."""

    def __init__(self, engine: BatchEngine, tables: Tables) -> None:
        self.engine = engine
        self.tables = tables

    def customer_orders(self, as_of: dt.date) -> dict[int, tuple[int, dt.date, dt.date, float]]:
        """Return per customer: sale orders, first and last day, spend, up to ``as_of``.

        Spend is rounded to cents: the store sums exact two-decimal amounts, the engine the
        Parquet's floats, so the two agree once rounded.
        """
        table = self.engine.to_arrow(customer_orders_expr(self.tables, as_of=as_of))
        columns = [
            table.column(name).to_pylist()
            for name in ("customer_id", "n_orders", "first_day", "last_day", "spend")
        ]
        return {
            int(customer): (int(n), first, last, round(float(spend), 2))
            for customer, n, first, last, spend in zip(*columns, strict=True)
        }

    def service_purchases(
        self,
        *,
        after: dt.date,
        as_of: dt.date,
        product_ids: Collection[int],
        categories: Collection[str],
    ) -> list[tuple[int, int, str, dt.date]]:
        """Return (customer, product, category, day) bought after ``after`` to ``as_of``."""
        if not product_ids and not categories:
            return []
        table = self.engine.to_arrow(
            service_purchases_expr(
                self.tables,
                after=after,
                as_of=as_of,
                product_ids=product_ids,
                categories=categories,
            )
        )
        days = pc.cast(table.column("day"), pa.date32()).to_pylist()
        return list(
            zip(
                table.column("customer_id").to_pylist(),
                table.column("product_id").to_pylist(),
                table.column("category").to_pylist(),
                days,
                strict=True,
            )
        )
