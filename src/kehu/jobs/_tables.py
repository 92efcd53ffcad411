"""Tables pulled from the store into Arrow (the only place the jobs read the store in bulk).

Plain SQLAlchemy Core: rows come back as tuples (through the column types, so timestamps are
UTC-aware on both databases) and are turned into Arrow columns once. ADBC / connectorx are not
installed; this path is simple and fast enough for the stores kehu serves on one machine.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kehu.commerce import Order
from kehu.customers import Customer


def _known_customer_orders() -> Select[*tuple[Any, ...]]:
    return (
        select(Order.customer_id, Order.ordered_at, Order.total, Order.currency)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.merged_into_id.is_(None), Customer.is_active.is_(True))
    )


def count_active_customers(session: Session) -> int:
    """Return the number of active (not merged) customers."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.merged_into_id.is_(None), Customer.is_active.is_(True))
        )
        or 0
    )


def last_order_day(session: Session) -> dt.date | None:
    """Return the UTC day of the newest order of a known, active customer."""
    newest = session.scalar(
        select(func.max(Order.ordered_at))
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.merged_into_id.is_(None), Customer.is_active.is_(True))
    )
    return None if newest is None else newest.date()


def load_orders(session: Session, *, until: dt.datetime) -> pa.Table:
    """Return the orders of known, active customers placed before ``until`` (UTC).

    Returns
    -------
    pyarrow.Table
        ``customer_id`` (int64), ``timestamp`` (UTC), ``amount`` (float64: the order's net
        total, negative for returns) and ``currency``.
    """
    query = _known_customer_orders().where(Order.ordered_at < until)
    rows = session.execute(query).all()
    if not rows:
        return pa.table(
            {
                "customer_id": pa.array([], pa.int64()),
                "timestamp": pa.array([], pa.timestamp("us", tz="UTC")),
                "amount": pa.array([], pa.float64()),
                "currency": pa.array([], pa.string()),
            }
        )
    customer_ids, ordered_at, totals, currencies = zip(*rows, strict=True)
    amounts = [float(t) if isinstance(t, Decimal) else float(t or 0) for t in totals]
    return pa.table(
        {
            "customer_id": pa.array(customer_ids, pa.int64()),
            "timestamp": pc.cast(pa.array(ordered_at), pa.timestamp("us", tz="UTC")),
            "amount": pa.array(amounts, pa.float64()),
            "currency": pa.array(currencies, pa.string()),
        }
    )
