"""Store-wide order figures (the console's dashboard)."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.commerce.models import Order, OrderKind


@dataclass(frozen=True)
class OrderTotals:
    """How many sales and returns the store holds, and their net value per currency."""

    n_orders: int
    n_returns: int
    revenue: dict[str, Decimal]


def order_totals(session: Session) -> OrderTotals:
    """Return the number of sales and returns and the net value of all orders, per currency."""
    counts = session.execute(
        select(
            func.count().filter(Order.kind == OrderKind.SALE),
            func.count().filter(Order.kind == OrderKind.RETURN),
        )
    ).one()
    revenue = {
        currency: Decimal(str(total)).quantize(Decimal("0.01"))
        for currency, total in session.execute(
            select(Order.currency, func.coalesce(func.sum(Order.total), 0))
            .group_by(Order.currency)
            .order_by(Order.currency)
        )
    }
    return OrderTotals(n_orders=counts[0], n_returns=counts[1], revenue=revenue)
