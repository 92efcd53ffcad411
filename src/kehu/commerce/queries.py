"""Reads for orders and products."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from kehu.commerce.models import Order, OrderKind, OrderLine, Product
from kehu.core import NotFoundError
from kehu.store import count_rows


def get_order(session: Session, order_id: int) -> Order:
    """Return the order with its lines, or raise :class:`NotFoundError`."""
    order = session.scalar(
        select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
    )
    if order is None:
        raise NotFoundError(f"There is no order {order_id}.", code="commerce.order_not_found")
    return order


def list_orders(
    session: Session,
    *,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
    count_limit: int | None = None,
) -> tuple[Sequence[Order], int]:
    """Return one page of orders, newest first, and the number matching.

    ``where`` is an extra predicate on ``orders`` (a caller's scope, ``kehu.access``).

    ``count_limit`` bounds the count (:func:`kehu.store.count_rows`): a count above it means
    "more than ``count_limit``". ``None`` counts exactly.
    """
    query = select(Order)
    if where is not None:
        query = query.where(where)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    if since is not None:
        query = query.where(Order.ordered_at >= since)
    if until is not None:
        query = query.where(Order.ordered_at < until)
    total = count_rows(session, query.with_only_columns(Order.id), at_most=count_limit)
    rows = session.scalars(
        query.options(selectinload(Order.lines))
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


@dataclass(frozen=True)
class CustomerOrderStats:
    """Headline figures of one customer's orders."""

    n_orders: int
    n_returns: int
    revenue: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None


def customer_order_stats(session: Session, customer_id: int) -> CustomerOrderStats:
    """Return how many orders and returns a customer has, their net value, first and last date."""
    row = session.execute(
        select(
            func.count().filter(Order.kind == OrderKind.SALE),
            func.count().filter(Order.kind == OrderKind.RETURN),
            func.coalesce(func.sum(Order.total), 0),
            func.min(Order.ordered_at),
            func.max(Order.ordered_at),
        ).where(Order.customer_id == customer_id)
    ).one()
    return CustomerOrderStats(
        n_orders=row[0],
        n_returns=row[1],
        revenue=Decimal(str(row[2])).quantize(Decimal("0.01")),
        first_order_at=row[3],
        last_order_at=row[4],
    )


def orders_per_month(session: Session, customer_id: int) -> list[tuple[str, int, Decimal]]:
    """Return ``(YYYY-MM, number of sales, net value)`` per month with orders, oldest first."""
    orders = session.execute(
        select(Order.ordered_at, Order.kind, Order.total)
        .where(Order.customer_id == customer_id)
        .order_by(Order.ordered_at)
    ).all()
    counts: dict[str, int] = {}
    values: dict[str, Decimal] = {}
    for ordered_at, kind, total in orders:
        key = ordered_at.strftime("%Y-%m")
        counts[key] = counts.get(key, 0) + (kind == OrderKind.SALE)
        values[key] = values.get(key, Decimal("0")) + total
    return [(key, counts[key], values[key]) for key in counts]


def find_product_by_sku(session: Session, sku: str) -> Product | None:
    """Return the product with this SKU, or ``None``."""
    return session.scalar(select(Product).where(Product.sku == sku))


def count_order_lines(session: Session) -> int:
    """Return the number of order lines in the store."""
    return session.scalar(select(func.count()).select_from(OrderLine)) or 0
