"""The recommender's training data computed by a batch engine.

:class:`EnginePurchases` is a :class:`kehu.jobs.recommend.OrderLineSource`: the engine joins
the known customers' sale lines to their orders and products and folds repeated lines of one
item in one order (:func:`kehu.batch.purchases_expr`); the driver receives those purchases,
which is all the recommender keeps of the lines, and fits on them as on the store's lines.
"""

import datetime as dt
from collections.abc import Mapping

import ibis.expr.types as ir
import pyarrow as pa

from kehu.batch._engines import BatchEngine
from kehu.batch._features import purchases_expr

Tables = Mapping[str, ir.Table]


class EnginePurchases:
    """The recommender's purchases from ``engine`` over ``tables`` (Parquet)."""

    def __init__(self, engine: BatchEngine, tables: Tables) -> None:
        self.engine = engine
        self.tables = tables

    def order_lines(self, *, until: dt.datetime | None = None) -> pa.Table:
        """Return the purchases before ``until`` (see :func:`kehu.batch.purchases_expr`)."""
        return self.engine.to_arrow(purchases_expr(self.tables, until=until))
