"""The API's fixtures, used by the privacy tests too, and the retention tests' customers."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from kehu.customers import Customer
from tests.factories import make_customer, make_order
from tests.integration.api.conftest import admin, app, client, staff

__all__ = ["admin", "app", "client", "long_inactive", "staff"]


@pytest.fixture
def long_inactive(session):
    """Two customers on file since 2009: one last bought in 2010, the other in 2015."""
    old = make_customer(session, name="Gone Since 2010")
    recent = make_customer(session, name="Bought In 2015")
    make_order(session, old, ordered_at=datetime(2010, 3, 1, tzinfo=UTC))
    make_order(session, recent, ordered_at=datetime(2015, 6, 1, tzinfo=UTC))
    session.execute(
        update(Customer)
        .where(Customer.id.in_([old.id, recent.id]))
        .values(created_at=datetime(2009, 1, 1, tzinfo=UTC))
    )
    session.commit()
    return old, recent
