"""Factories: ``make_<thing>(session, **overrides)`` with deterministic defaults."""

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kehu.commerce import LineInput, Order, create_order
from kehu.core import Actor
from kehu.customers import Customer, create_customer
from kehu.users import Role, User, create_user
from kehu.value import ValueRun, start_value_run

ACTOR = Actor(kind="system", label="factory")
_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_customer(session: Session, **overrides: Any) -> Customer:
    """Create a customer with an e-mail identity."""
    n = next(_seq)
    identities = overrides.pop("identities", [("email", f"customer{n}@example.com")])
    fields: dict[str, Any] = {"name": f"Customer {n}", "country": "United Kingdom"}
    fields.update(overrides)
    return create_customer(session, actor=ACTOR, identities=identities, **fields)


def make_user(session: Session, role: Role | str = Role.ADMIN, **overrides: Any) -> User:
    """Create a user whose password is :data:`PASSWORD`."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "email": f"user{n}@example.com",
        "name": f"User {n}",
        "password": PASSWORD,
    }
    fields.update(overrides)
    return create_user(session, role=role, actor=ACTOR, **fields)


def make_order(session: Session, customer: Customer | None, **overrides: Any) -> Order:
    """Create a one-line order for ``customer``."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "external_id": f"ORD{n}",
        "ordered_at": datetime(2010, 3, 1, 10, 0, tzinfo=UTC),
        "lines": [LineInput(sku=f"SKU{n % 5}", quantity=2, unit_price=Decimal("3.50"))],
    }
    fields.update(overrides)
    return create_order(
        session, actor=ACTOR, customer_id=None if customer is None else customer.id, **fields
    )


def make_value_run(session: Session, *, actor: Actor | None = None) -> ValueRun:
    """Start a value run as the analysis would (52 weeks, 10 % a year, top 20 %, GBP)."""
    return start_value_run(
        session,
        actor=actor or ACTOR,
        horizon_weeks=52,
        discount_rate_annual=0.1,
        vip_share=0.2,
        currency="GBP",
    )
