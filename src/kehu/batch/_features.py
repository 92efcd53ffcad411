"""The batch features, each one Ibis expression that DuckDB and Spark both run.

Every builder takes Ibis tables (the Parquet tables of :func:`kehu.batch.read_tables`) and
returns an expression; nothing here knows which engine will run it. Where the analytics
library already has the expression (the RFM summary, the health windows), it is reused, not
copied, so the batch path and the one-machine path cannot drift apart.

What comes back to the driver is small: per-customer rows only where scores are written back
per customer, and otherwise aggregates (distinct tuples with counts, counts per cohort, per
item pair, per category and month).
"""

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.clv import summary_expr
from kehu.analytics.health import cohort_counts_expr as cohorts_of
from kehu.analytics.health import history_expr, window_expr
from kehu.core import InvalidInputError

Tables = Mapping[str, ir.Table]


def _require(tables: Tables, name: str) -> ir.Table:
    if name not in tables:
        raise InvalidInputError(
            f"The input has no {name} table; export it with `kehu export parquet`.",
            code="batch.no_table",
        )
    return tables[name]


def known_orders(tables: Tables) -> ir.Table:
    """Orders of known, active, not merged customers, with their UTC ``day``."""
    orders = _require(tables, "orders")
    orders = orders.filter(orders.customer_id.notnull())
    if "customers" in tables:
        customers = tables["customers"]
        active = customers.filter(customers.is_active & customers.merged_into_id.isnull()).select(
            known_id=customers.id
        )
        orders = orders.semi_join(active, orders.customer_id == active.known_id)
    # read_tables gives DuckDB's orders their UTC day already (see there).
    return orders if "day" in orders.columns else orders.mutate(day=orders.ordered_at.date())


def transactions_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """``customer_id``, ``day``, ``amount`` (the order's net total) up to ``as_of``."""
    orders = known_orders(tables)
    rows = orders.filter(orders.total.notnull() & (orders.day <= ibis.date(as_of)))
    return rows.select(
        customer_id=rows.customer_id, day=rows.day, amount=rows.total.cast("float64")
    )


def order_facts_expr(tables: Tables, *, as_of: dt.date | None = None) -> ir.Table:
    """One row: ``n_orders``, ``first_day``, ``last_day`` of known customers' orders."""
    orders = known_orders(tables)
    if as_of is not None:
        orders = orders.filter(orders.day <= ibis.date(as_of))
    return orders.aggregate(
        n_orders=orders.count(), first_day=orders.day.min(), last_day=orders.day.max()
    )


def currencies_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """Return the distinct currencies of the orders up to ``as_of``."""
    orders = known_orders(tables)
    orders = orders.filter(orders.day <= ibis.date(as_of))
    return orders.select("currency").distinct()


def value_summary_expr(
    tables: Tables, *, as_of: dt.date, holdout_end: dt.date | None = None
) -> ir.Table:
    """Return the CLV models' RFM summary (:func:`kehu.analytics.clv.summary_expr`) + spend.

    With ``holdout_end`` the summary is calibrated up to ``as_of`` and the holdout columns
    count what happened up to ``holdout_end``; ``total_spend`` is the net spend up to the
    last day used.
    """
    last = holdout_end or as_of
    tx = transactions_expr(tables, as_of=last)
    summary = summary_expr(tx, calibration_end=as_of, holdout_end=holdout_end)
    spent = tx.group_by("customer_id").aggregate(total_spend=tx.amount.sum())
    spent = spent.mutate(spent_id=spent.customer_id.cast("string")).drop("customer_id")
    joined = summary.join(spent, summary.customer_id == spent.spent_id)
    return joined.drop("spent_id")


def purchase_tuples_expr(summary: ir.Table) -> ir.Table:
    """BG/NBD's sufficient statistics: the distinct (frequency, recency, T) with counts."""
    return summary.group_by(["frequency", "recency", "T"]).aggregate(n_customers=summary.count())


def sale_lines_expr(tables: Tables) -> ir.Table:
    """Order lines of known customers: what the health signals and co-occurrences read."""
    lines = _require(tables, "order_lines")
    known = known_orders(tables)
    orders = known.select("customer_id", "day", line_order_id=known.id)
    joined = lines.join(orders, lines.order_id == orders.line_order_id)
    return joined.select(
        customer_id=joined.customer_id,
        order_id=joined.order_id,
        day=joined.day,
        item_id=joined.product_id,
        quantity=joined.quantity.cast("float64"),
        unit_price=joined.unit_price.cast("float64"),
        discount=joined.discount.cast("float64").fill_null(0.0),
    )


def health_history_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """Per customer: first and last purchase day and the number of purchase days."""
    return history_expr(sale_lines_expr(tables), as_of=as_of)


def health_windows_expr(
    tables: Tables,
    *,
    as_of: dt.date,
    window_days: int = 90,
    basis: str = "field",
    price_tolerance: float = 0.05,
) -> ir.Table:
    """Per customer and window (0 then, 1 now): orders, spend, discounted spend, items."""
    return window_expr(
        sale_lines_expr(tables),
        as_of=as_of,
        window_days=window_days,
        basis=basis,
        price_tolerance=price_tolerance,
    )


def cohort_counts_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """Active customers per (first-purchase month ``cohort``, months since ``k``).

    Months are numbered ``year * 12 + month - 1``; purchases are orders with a non-negative
    total, as in :func:`kehu.analytics.health.cohort_retention`.
    """
    orders = known_orders(tables)
    purchases = orders.filter(orders.total >= 0).select("customer_id", "day")
    return cohorts_of(purchases, as_of=as_of)


def baskets_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """Return the distinct (``customer_id``, ``item_id``) of sale lines up to ``as_of``.

    What both the co-occurrences and the item counts count; :func:`feature_expressions`
    with ``cache=True`` computes it once for both.
    """
    lines = sale_lines_expr(tables)
    sales = lines.filter((lines.quantity > 0) & (lines.day <= ibis.date(as_of)))
    return sales.select("customer_id", "item_id").distinct()


def cooccurrence_expr(
    tables: Tables, *, as_of: dt.date, baskets: ir.Table | None = None
) -> ir.Table:
    """Count the customers who bought both items of a pair (``item_a < item_b``).

    The counts behind the also-bought similarities (``analytics/recommend/_similarity.py``).
    ``baskets`` is :func:`baskets_expr`'s result where it is already at hand (cached): the
    self-join reads it twice, and an engine may compute an uncached one twice.
    """
    if baskets is None:
        baskets = baskets_expr(tables, as_of=as_of)
    other = baskets.select(other_customer=baskets.customer_id, item_b=baskets.item_id)
    pairs = baskets.join(
        other,
        [baskets.customer_id == other.other_customer, baskets.item_id < other.item_b],
    )
    return pairs.group_by([pairs.item_id.name("item_a"), "item_b"]).aggregate(
        n_customers=pairs.count()
    )


def item_counts_expr(
    tables: Tables, *, as_of: dt.date, baskets: ir.Table | None = None
) -> ir.Table:
    """Count the customers who bought each item (the co-occurrences' marginals)."""
    if baskets is None:
        baskets = baskets_expr(tables, as_of=as_of)
    return baskets.group_by("item_id").aggregate(n_customers=baskets.count())


def purchases_expr(tables: Tables, *, until: dt.datetime | None = None) -> ir.Table:
    """Return what the recommender learns from: one row per (order, item) of the sale lines.

    Known customers' sale orders (before ``until``, UTC) and their lines with a positive
    quantity, as :func:`kehu.jobs.recommend.load_order_lines` reads them from the store:
    ``customer_id``, ``order_id`` (the order's id), ``item_id`` (the product's SKU),
    ``timestamp`` (the order's time) and ``n_lines``, the lines folded into the row. The
    recommender keeps one row per (order, item) anyway (repeated lines of an item in an
    order are one purchase), so the fold changes nothing it learns.
    """
    orders = known_orders(tables)
    sales = orders.filter(orders.kind == "sale")
    if until is not None:
        sales = sales.filter(sales.ordered_at < ibis.literal(until))
    sales = sales.select(
        sale_id=sales.id, customer_id=sales.customer_id, timestamp=sales.ordered_at
    )
    lines = _require(tables, "order_lines")
    lines = lines.filter(lines.quantity > 0).select("order_id", "product_id")
    products = _require(tables, "products")
    products = products.select(sku_id=products.id, item_id=products.sku)
    joined = lines.join(sales, lines.order_id == sales.sale_id).join(
        products, lines.product_id == products.sku_id
    )
    return joined.group_by(["customer_id", "order_id", "item_id", "timestamp"]).aggregate(
        n_lines=joined.count()
    )


def _sale_orders(tables: Tables) -> ir.Table:
    """Sale orders with a customer (any customer: the snapshots pick the active ones)."""
    orders = _require(tables, "orders")
    orders = orders.filter((orders.kind == "sale") & orders.customer_id.notnull())
    return orders if "day" in orders.columns else orders.mutate(day=orders.ordered_at.date())


def customer_orders_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """Per customer, sale orders up to ``as_of``: count, first and last day, spend.

    What the relationship playbooks' snapshots read (any customer with a sale: the snapshots
    pick the active ones). ``spend`` sums the totals as floats, as the Parquet holds them.
    """
    orders = _sale_orders(tables)
    orders = orders.filter(orders.day <= ibis.date(as_of))
    per = orders.group_by("customer_id").aggregate(
        n_orders=orders.count(),
        first_day=orders.day.min(),
        last_day=orders.day.max(),
        spend=orders.total.cast("float64").sum(),
    )
    return per.mutate(spend=per.spend.fill_null(0.0))


def service_purchases_expr(
    tables: Tables,
    *,
    after: dt.date,
    as_of: dt.date,
    product_ids: Collection[int],
    categories: Collection[str],
) -> ir.Table:
    """Distinct (customer, product, category, day) of sale lines after ``after`` to ``as_of``.

    Only lines of ``product_ids`` or of products in ``categories`` (what the free-service
    reminders look for).
    """
    orders = _sale_orders(tables)
    orders = orders.filter((orders.day > ibis.date(after)) & (orders.day <= ibis.date(as_of)))
    orders = orders.select(sale_id=orders.id, customer_id=orders.customer_id, day=orders.day)
    lines = _require(tables, "order_lines").select("order_id", "product_id")
    products = _require(tables, "products")
    products = products.select(known_product=products.id, category=products.category.fill_null(""))
    joined = lines.join(orders, lines.order_id == orders.sale_id).join(
        products, lines.product_id == products.known_product
    )
    wanted = ibis.literal(False)
    if product_ids:
        wanted = wanted | joined.product_id.isin(sorted(product_ids))
    if categories:
        wanted = wanted | joined.category.isin(sorted(categories))
    joined = joined.filter(wanted)
    return joined.select("customer_id", "product_id", "category", "day").distinct()


def category_counts_expr(tables: Tables, *, as_of: dt.date) -> ir.Table:
    """Service tickets per category and month opened (``month`` = year * 12 + month - 1)."""
    tickets = _require(tables, "service_tickets")
    t = tickets if "day" in tickets.columns else tickets.mutate(day=tickets.opened_at.date())
    t = t.filter(t.day <= ibis.date(as_of))
    t = t.mutate(month=t.day.year() * 12 + t.day.month() - 1)
    return t.group_by(["category_id", "month"]).aggregate(n_tickets=t.count())


def _value_summary(tables: Tables, *, as_of: dt.date) -> ir.Table:
    return value_summary_expr(tables, as_of=as_of)


def _purchase_tuples(tables: Tables, *, as_of: dt.date) -> ir.Table:
    return purchase_tuples_expr(value_summary_expr(tables, as_of=as_of))


#: Every batch feature by name: ``builder(tables, as_of=...) -> expression``, and the tables
#: it needs. The equality test and the scale benchmark run each on every engine.
FEATURES: dict[str, tuple[Callable[..., ir.Table], tuple[str, ...]]] = {
    "value_summary": (_value_summary, ("orders",)),
    "purchase_tuples": (_purchase_tuples, ("orders",)),
    "health_history": (health_history_expr, ("orders", "order_lines")),
    "health_windows": (health_windows_expr, ("orders", "order_lines")),
    "cohort_counts": (cohort_counts_expr, ("orders",)),
    "cooccurrence": (cooccurrence_expr, ("orders", "order_lines")),
    "item_counts": (item_counts_expr, ("orders", "order_lines")),
    "category_counts": (category_counts_expr, ("service_tickets",)),
}


def feature_expressions(
    tables: Tables, *, as_of: dt.date, cache: bool = False, **options: Any
) -> dict[str, ir.Table]:
    """Build every feature the tables allow (a feature whose tables are missing is skipped).

    With ``cache`` the customers' baskets (:func:`baskets_expr`) are computed now, once, and
    kept on the engine (a temporary table on DuckDB, a cached DataFrame on Spark) for the
    item counts and co-occurrences; without, each feature is self-contained.
    """
    del options
    built = {
        name: builder
        for name, (builder, needs) in FEATURES.items()
        if all(need in tables for need in needs)
    }
    shared: dict[str, Any] = {}
    if cache and {"cooccurrence", "item_counts"} & set(built):
        shared["baskets"] = baskets_expr(tables, as_of=as_of).cache()
    return {
        name: builder(tables, as_of=as_of, **shared)
        if name in ("cooccurrence", "item_counts")
        else builder(tables, as_of=as_of)
        for name, builder in built.items()
    }
