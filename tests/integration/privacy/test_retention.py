"""Retention: customers inactive for N years are erased; a dry run changes nothing."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from kehu.core import InvalidInputError
from kehu.customers import Customer, get_customer
from kehu.privacy import ERASED_NAME, run_retention
from tests.factories import ACTOR, make_customer

NOW = datetime(2016, 1, 1, tzinfo=UTC)


def test_retention_erases_only_the_long_inactive(session, long_inactive):
    old, recent = long_inactive
    new = make_customer(session, name="Just Registered")
    session.execute(
        update(Customer)
        .where(Customer.id == new.id)
        .values(created_at=datetime(2015, 12, 1, tzinfo=UTC))
    )

    dry = run_retention(session, years=3, actor=ACTOR, dry_run=True, now=NOW)
    assert dry.customer_ids == [old.id]
    assert dry.n_erased == 0
    session.expire_all()
    assert get_customer(session, old.id).name == "Gone Since 2010"

    done = run_retention(session, years=3, actor=ACTOR, dry_run=False, now=NOW)
    assert done.n_erased == 1
    assert get_customer(session, old.id).name == ERASED_NAME
    assert get_customer(session, recent.id).name == "Bought In 2015"
    assert get_customer(session, new.id).name == "Just Registered"
    # Run again: the erased record is not erased twice.
    assert run_retention(session, years=3, actor=ACTOR, dry_run=False, now=NOW).customer_ids == []


def test_retention_refuses_a_nonsense_period(session):
    with pytest.raises(InvalidInputError, match="years"):
        run_retention(session, years=0, actor=ACTOR)
