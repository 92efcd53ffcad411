"""Surprises, pure: moments, once per N months, cheapest item, the monthly budget, outcomes."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kehu.playbooks.surprises import (
    Candidate,
    CatalogueItem,
    GivenSurprise,
    choose_surprises,
    surprise_outcomes,
)

TODAY = date(2011, 12, 5)
CATALOGUE = [
    CatalogueItem(1, "card", Decimal("3.00"), ("birthday", "anniversary")),
    CatalogueItem(2, "call", Decimal("0.00"), ("complaint_fixed",)),
    CatalogueItem(3, "sample", Decimal("4.00"), ("season",), (12,)),
    CatalogueItem(4, "fancy-card", Decimal("9.00"), ("birthday",)),
]


def _choose(candidates, budget="100", **kw):
    return choose_surprises(
        candidates,
        CATALOGUE,
        today=TODAY,
        tiers=["vip", "high"],
        every_months=6,
        budget_left=Decimal(budget),
        **kw,
    )


def test_moments_pick_the_cheapest_suitable_surprise():
    choice = _choose(
        [
            Candidate(1, "vip", birthday=date(1980, 12, 8)),
            Candidate(2, "high", last_fix_on=date(2011, 12, 3), birthday=date(1980, 12, 8)),
            Candidate(3, "vip", first_order_on=date(2009, 12, 10)),
            Candidate(4, "vip"),
        ]
    )

    assert [(p.customer_id, p.moment, p.code) for p in choice.plans] == [
        (2, "complaint_fixed", "call"),
        (1, "birthday", "card"),
        (3, "anniversary", "card"),
        (4, "season", "sample"),
    ]
    assert choice.budget_left == Decimal("90.00")
    assert choice.plans[1].reason == {"moment": "birthday", "on": "2011-12-08", "tier": "vip"}


def test_tier_rarity_and_budget_leave_customers_out_and_count_why():
    choice = _choose(
        [
            Candidate(1, "low", birthday=date(1980, 12, 8)),
            Candidate(2, "vip", birthday=date(1980, 12, 8), last_surprised_on=date(2011, 8, 1)),
            Candidate(3, "vip", clv=500.0, birthday=date(1980, 12, 6)),
            Candidate(4, "vip", clv=900.0, birthday=date(1980, 12, 7)),
        ],
        budget="5",
    )

    assert [p.customer_id for p in choice.plans] == [4]
    assert choice.skipped == {
        "tier not surprised": 1,
        "surprised within 6 months": 1,
        "monthly budget spent": 1,
    }


def test_a_zero_budget_surprises_nobody_but_free_ones():
    choice = _choose(
        [Candidate(1, "vip", last_fix_on=TODAY), Candidate(2, "vip", birthday=date(1990, 12, 5))],
        budget="0",
    )

    assert [p.code for p in choice.plans] == ["call"]
    assert choice.skipped == {"monthly budget spent": 1}


def test_outcomes_compare_with_the_same_stratum_over_the_same_days():
    given_at = datetime(2011, 1, 10, tzinfo=UTC)
    strata = {1: "vip/A", 2: "vip/A", 3: "vip/A", 4: "low/B"}
    orders = {
        1: [(given_at + timedelta(days=10), 100.0)],
        2: [(given_at + timedelta(days=20), 40.0), (given_at - timedelta(days=5), 999.0)],
        3: [],
        4: [(given_at + timedelta(days=3), 5000.0)],
    }

    result = surprise_outcomes(
        [GivenSurprise(1, given_at, "vip/A")],
        strata,
        orders,
        as_of=given_at + timedelta(days=120),
        period_days=90,
        min_n=1,
    )

    assert result.surprised.mean_spend == 100.0
    assert result.surprised.retention == 1.0
    assert result.controls.n == 2
    assert result.controls.mean_spend == 20.0
    assert result.controls.retention == 0.5
    assert result.spend_difference == 80.0
    assert "association, not proof" in result.verdict


def test_outcomes_say_too_few_and_skip_unfinished_periods():
    given_at = datetime(2011, 11, 1, tzinfo=UTC)

    result = surprise_outcomes(
        [GivenSurprise(1, given_at, "vip/A"), GivenSurprise(2, given_at, "vip/Z")],
        {1: "vip/A", 2: "vip/Z"},
        {},
        as_of=given_at + timedelta(days=30),
        period_days=90,
    )

    assert (result.n_given, result.n_matured) == (2, 0)
    assert result.surprised.mean_spend is None
    assert result.verdict.startswith("Too few to tell: 0 surprise(s)")
