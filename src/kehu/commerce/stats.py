"""Order figures per customer for lists: one grouped query for a page, and sorting by them.

Import by module path (``from kehu.commerce.stats import ...``); not re-exported by
:mod:`kehu.commerce`.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kehu.commerce.models import Order, OrderKind
from kehu.customers import Customer, CustomerFilter, list_customers
from kehu.customers.queries import filter_customers
from kehu.store import count_rows

CENT = Decimal("0.01")


class CustomerSort(StrEnum):
    """The orders a customer list can be sorted in (a whitelist: anything else is ``NAME``)."""

    NAME = "name"
    REVENUE = "revenue"
    LAST_ORDER = "last_order"

    @classmethod
    def parse(cls, value: str | None) -> "CustomerSort":
        """Return the sort named by ``value``, or :attr:`NAME` for anything unknown."""
        try:
            return cls((value or "").strip().lower())
        except ValueError:
            return cls.NAME


@dataclass(frozen=True)
class CustomerOrderSummary:
    """A customer's orders at a glance, for a row of a list.

    ``currency`` is the orders' currency, or ``None`` when they are in several (then
    ``revenue`` adds unlike amounts and should not be shown as money).
    """

    customer_id: int
    n_orders: int
    revenue: Decimal
    currency: str | None
    last_order_at: datetime | None


def _aggregates() -> Select[*tuple[Any, ...]]:
    return select(
        Order.customer_id.label("customer_id"),
        func.count().filter(Order.kind == OrderKind.SALE).label("n_orders"),
        func.coalesce(func.sum(Order.total), 0).label("revenue"),
        func.min(Order.currency).label("currency_min"),
        func.max(Order.currency).label("currency_max"),
        func.max(Order.ordered_at).label("last_order_at"),
    ).group_by(Order.customer_id)


def summarise_customer_orders(
    session: Session, customer_ids: Collection[int]
) -> dict[int, CustomerOrderSummary]:
    """Return the order summary of each customer in ``customer_ids``, in one grouped query.

    Parameters
    ----------
    session
        The store session.
    customer_ids
        The customers (a page of a list: keep it small).

    Returns
    -------
    dict
        ``{customer id: summary}``; a customer without orders gets zero orders, zero revenue
        and no last order date.
    """
    ids = sorted(set(customer_ids))
    result = {
        customer_id: CustomerOrderSummary(customer_id, 0, Decimal("0.00"), None, None)
        for customer_id in ids
    }
    if not ids:
        return result
    rows = session.execute(_aggregates().where(Order.customer_id.in_(ids))).all()
    for row in rows:
        result[row.customer_id] = CustomerOrderSummary(
            customer_id=row.customer_id,
            n_orders=row.n_orders,
            revenue=Decimal(str(row.revenue)).quantize(CENT),
            currency=row.currency_min if row.currency_min == row.currency_max else None,
            last_order_at=row.last_order_at,
        )
    return result


def list_customers_sorted(
    session: Session,
    filters: CustomerFilter,
    *,
    sort: CustomerSort = CustomerSort.NAME,
    limit: int = 50,
    offset: int = 0,
    count_limit: int | None = None,
) -> tuple[Sequence[Customer], int]:
    """Return one page of customers matching ``filters`` in ``sort`` order, and how many match.

    ``REVENUE`` puts the highest net revenue first and ``LAST_ORDER`` the most recent buyer
    first; customers without orders come last; ties are broken by id. ``NAME`` is the order of
    :func:`kehu.customers.list_customers`, which bounds the count as ``count_limit`` says.
    """
    if sort is CustomerSort.NAME:
        return list_customers(session, filters, limit=limit, offset=offset, count_limit=count_limit)
    base = filter_customers(filters)
    total = count_rows(session, base.with_only_columns(Customer.id), at_most=count_limit)
    figures = _aggregates().subquery()
    key = figures.c.revenue if sort is CustomerSort.REVENUE else figures.c.last_order_at
    rows = session.scalars(
        base.outerjoin(figures, figures.c.customer_id == Customer.id)
        .order_by(key.is_(None), key.desc(), Customer.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


__all__ = [
    "CustomerOrderSummary",
    "CustomerSort",
    "list_customers_sorted",
    "summarise_customer_orders",
]
