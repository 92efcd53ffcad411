"""Spread risk on hand-computed cases (scales chosen so the logs come out round)."""

import pytest

from kehu.core import InvalidInputError
from kehu.voice import RiskInput, RiskWeights, negativity, spread_risk, velocity_per_hour

# log10(1 + 9999) = 4, log10(1 + 99) = 2, ln 16 = 2 ln 4: 99 followers, 9 an hour and 4
# authors each give exactly one half.
WEIGHTS = RiskWeights(
    sentiment=0.4,
    reach=0.2,
    velocity=0.2,
    cluster=0.2,
    reach_scale=9999,
    velocity_scale=99,
    cluster_scale=16,
)


def test_every_part_known():
    risk = spread_risk(RiskInput(0.25, 99, 6, 3, 1.0, 4), WEIGHTS)

    # negativity 1 - 2 * 0.25 = 0.5; 0.5 * (0.4 + 0.2 * 0.5 * 3) = 0.35
    assert risk.score == pytest.approx(0.35)
    assert risk.upper_bound == pytest.approx(0.35)
    assert risk.unknown == []
    assert risk.parts["sentiment"]["contribution"] == pytest.approx(0.2)
    for name in ("reach", "velocity", "cluster"):
        assert risk.parts[name]["value"] == pytest.approx(0.5)
        assert risk.parts[name]["contribution"] == pytest.approx(0.05)
    assert risk.parts["velocity"]["per_hour"] == 9


def test_missing_counts_are_unknown_not_zero():
    risk = spread_risk(RiskInput(0.25, None, None, None, 1.0, 4), WEIGHTS)

    assert risk.score == pytest.approx(0.25)  # 0.5 * (0.4 + 0.2 * 0.5)
    assert risk.unknown == ["reach", "velocity"]
    assert risk.parts["reach"] == {"known": False, "weight": 0.2, "contribution": 0.0}
    # were they at their worst: + 0.5 * 0.2 for each
    assert risk.upper_bound == pytest.approx(0.45)


def test_one_count_known_gives_a_partial_velocity():
    risk = spread_risk(RiskInput(0.0, 99, 9, None, 1.0, 1), WEIGHTS)

    assert risk.parts["velocity"]["per_hour"] == 9
    assert risk.parts["velocity"]["partial"] is True
    assert risk.parts["cluster"]["value"] == 0.0
    assert risk.score == pytest.approx(0.4 + 0.1 + 0.1)


def test_a_positive_post_carries_no_risk_however_famous():
    risk = spread_risk(RiskInput(0.9, 10_000_000, 5000, 5000, 1.0, 50), WEIGHTS)

    assert risk.score == 0.0
    assert negativity(0.5) == 0.0


def test_no_sentiment_means_no_score():
    risk = spread_risk(RiskInput(None, 99, 1, 1, 1.0, 1), WEIGHTS)

    assert (risk.score, risk.unknown) == (0.0, ["sentiment"])


def test_a_fresh_post_uses_the_age_floor():
    assert velocity_per_hour(6, 3, 0.05, floor=1.0) == 9
    assert velocity_per_hour(6, 3, 3.0, floor=1.0) == 3
    assert velocity_per_hour(None, None, 3.0, floor=1.0) is None


def test_parts_cap_at_one():
    risk = spread_risk(RiskInput(0.0, 10**9, 10**6, 0, 1.0, 1000), WEIGHTS)

    assert risk.score == pytest.approx(1.0)


def test_default_weights_are_equal_and_round_trip():
    weights = RiskWeights.from_dict({"reach": 2, "unknown_key": 5})

    assert weights.reach == 2.0
    assert RiskWeights.from_dict(weights.as_dict()) == weights


@pytest.mark.parametrize(
    "bad",
    [
        {"sentiment": -1},
        {"sentiment": 0, "reach": 0, "velocity": 0, "cluster": 0},
        {"reach_scale": 1},
        {"min_age_hours": 0},
    ],
    ids=["negative_weight_case", "all_zero_case", "scale_case", "age_case"],
)
def test_bad_weights_are_refused(bad):
    with pytest.raises(InvalidInputError):
        RiskWeights(**bad)
