"""The CLV distribution: log-spaced ranges for heavy-tailed values, exact counts."""

from datetime import date
from decimal import Decimal

import pytest

from kehu.core import InvalidInputError
from kehu.value import clv_histogram
from kehu.value.operations import replace_customer_values
from tests.factories import ACTOR, make_customer, make_value_run


def _score(session, clvs: list[str]) -> None:
    customers = [make_customer(session) for _ in clvs]
    run = make_value_run(session)
    n = len(clvs)
    replace_customer_values(
        session,
        run,
        {
            "customer_id": [c.id for c in customers],
            "frequency": [1] * n,
            "recency": [1.0] * n,
            "t": [2.0] * n,
            "monetary_value": [Decimal("1")] * n,
            "p_alive": [0.5] * n,
            "expected_purchases": [1.0] * n,
            "expected_spend": [Decimal("1")] * n,
            "clv": [Decimal(v) for v in clvs],
            "value_rank": list(range(1, n + 1)),
            "value_percentile": [0.5] * n,
            "tier": ["low"] * n,
            "rfm_r": [1] * n,
            "rfm_f": [1] * n,
            "rfm_m": [1] * n,
            "rfm_segment": ["lost"] * n,
            "total_spend": [Decimal("1")] * n,
            "last_purchase_on": [date(2010, 1, 1)] * n,
        },
        actor=ACTOR,
    )


def test_log_ranges_spread_a_heavy_tail(session):
    _score(session, ["0.50", "1.00", "9.00", "10.00", "99.00", "100.00", "1000.00"])

    bins = clv_histogram(session, bins=3)

    assert [(b.lower, b.upper, b.n_customers) for b in bins] == [
        (Decimal("0.50"), Decimal("10.00"), 3),
        (Decimal("10.00"), Decimal("100.00"), 2),
        (Decimal("100.00"), Decimal("1000.00"), 2),
    ]


def test_linear_ranges_and_bad_arguments(session):
    _score(session, ["0.00", "10.00", "20.00", "30.00"])

    bins = clv_histogram(session, bins=3, scale="linear")

    assert [(b.lower, b.upper, b.n_customers) for b in bins] == [
        (Decimal("0.00"), Decimal("10.00"), 1),
        (Decimal("10.00"), Decimal("20.00"), 1),
        (Decimal("20.00"), Decimal("30.00"), 2),
    ]
    with pytest.raises(InvalidInputError, match="scale"):
        clv_histogram(session, scale="cubic")
    with pytest.raises(InvalidInputError, match="bins"):
        clv_histogram(session, bins=0)


def test_no_scores_give_no_ranges(session):
    assert clv_histogram(session) == []
