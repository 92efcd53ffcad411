"""Counting a list query's rows exactly or up to a bound, on both databases."""

import pytest
from sqlalchemy import select

from kehu.customers import Customer
from kehu.store import count_limit_for, count_limit_under, count_rows, is_count_exact
from kehu.store import counts as counts_module
from tests.factories import make_customer


@pytest.fixture
def five(session):
    made = [make_customer(session, name=f"Bound {i}", country="Iceland") for i in range(5)]
    session.flush()
    return made


def _icelanders():
    return select(Customer.id).where(Customer.country == "Iceland").order_by(Customer.name)


@pytest.mark.parametrize(
    ("at_most", "expected", "exact"),
    [
        pytest.param(None, 5, True, id="exact_case"),
        pytest.param(3, 4, False, id="stops_one_past_the_bound_case"),
        pytest.param(4, 5, False, id="one_more_than_the_bound_case"),
        pytest.param(5, 5, True, id="bound_equals_count_case"),
        pytest.param(100, 5, True, id="bound_above_count_case"),
    ],
)
def test_count_rows(session, five, at_most, expected, exact):
    n = count_rows(session, _icelanders(), at_most=at_most)

    assert n == expected
    assert is_count_exact(n, at_most) is exact


def test_the_bound_reaches_past_the_page(monkeypatch):
    monkeypatch.setattr(counts_module, "COUNT_LIMIT", 100)

    assert count_limit_for(0, 50) == 100
    assert count_limit_for(75, 50) == 125
    assert count_limit_under(None, 75, 50) is None
    assert count_limit_under(Customer.owner_id == 1, 75, 50) == 125
