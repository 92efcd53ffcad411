"""Order histories for the value tests: simulated from known BG/NBD and Gamma-Gamma parameters."""

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from kehu.analytics.clv import simulate_transactions
from kehu.commerce import BulkOrder, OrderKind, ensure_products, load_orders
from kehu.customers import ensure_customers
from tests.factories import ACTOR

#: The simulated window's last day (start 2020-01-01, 104 weeks).
LAST_DAY = dt.date(2021, 12, 28)


def load_history(session: Session, transactions: pa.Table, *, prefix: str = "V") -> dict[int, int]:
    """Store a log (customer_id, date, amount) as orders; return {sim id: customer id}."""
    sim_ids = sorted(set(transactions.column("customer_id").to_pylist()))
    ids, _ = ensure_customers(
        session, {f"{prefix}-{c}": "United Kingdom" for c in sim_ids}, actor=ACTOR
    )
    products, _ = ensure_products(session, {"VALUE-1": "Value test item"}, actor=ACTOR)
    orders = []
    rows = zip(
        *(transactions.column(n).to_pylist() for n in ("customer_id", "date", "amount")),
        strict=True,
    )
    for i, (sim_id, day, amount) in enumerate(rows):
        price = Decimal(repr(round(abs(amount), 2))).quantize(Decimal("0.01"))
        orders.append(
            BulkOrder(
                external_id=f"{prefix}{i}",
                customer_id=ids[f"{prefix}-{sim_id}"],
                kind=OrderKind.SALE if amount >= 0 else OrderKind.RETURN,
                ordered_at=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
                channel="store",
                currency="GBP",
                country=None,
                lines=[(1, products["VALUE-1"], 1 if amount >= 0 else -1, price, Decimal(0))],
            )
        )
    load_orders(session, orders, actor=ACTOR)
    session.flush()
    return {c: ids[f"{prefix}-{c}"] for c in sim_ids}


@pytest.fixture
def history(session: Session) -> dict[int, int]:
    """120 simulated customers over two years, stored as orders."""
    return load_history(session, simulate_transactions(120, random_state=11))


# The API fixtures (app, client, staff of every role with tokens).
from tests.integration.api.conftest import admin, app, client, staff  # noqa: E402, F401
