"""Restraint rules, each with hand-computed figures."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from kehu.core import Settings
from kehu.playbooks.restraint import (
    Candidate,
    ChannelRule,
    Event,
    RestraintPolicy,
    WithheldReason,
    apply_restraint,
    attribute_purchase,
    channel_closed,
    impression_discount,
    item_states,
    recommendation_budget,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = RestraintPolicy(decay=0.5, recovery_days=7.0, max_ignored=3, cooldown_days=30)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def imp(item: str, days: float, **kw) -> Event:
    return Event("impression", item, days_ago(days), **kw)


def test_discount_falls_with_ignored_impressions_and_recovers_with_time():
    # 1 - (1 - 0.5^n) * exp(-dt/7)
    assert impression_discount(0, 0.0, POLICY) == 1.0
    assert impression_discount(1, 0.0, POLICY) == 0.5
    assert impression_discount(2, 0.0, POLICY) == 0.25
    assert impression_discount(2, 7.0, POLICY) == pytest.approx(1 - 0.75 * math.exp(-1))
    assert impression_discount(2, 7 * math.log(2), POLICY) == pytest.approx(0.625)
    assert impression_discount(3, 1000.0, POLICY) == pytest.approx(1.0)


def test_discounted_score_reorders_the_list():
    events = [imp("A", 1.0), imp("A", 2.0)]
    candidates = [Candidate("A", 1.0), Candidate("B", 0.5)]

    decision = apply_restraint(candidates, events, k=2, now=NOW, policy=POLICY)

    # A: n=2 ignored, last seen 1 day ago: 1 - 0.75 e^(-1/7) = 0.34998...
    factor = 1 - 0.75 * math.exp(-1 / 7)
    assert [s.item_id for s in decision.shown] == ["B", "A"]
    assert decision.shown[1].factor == pytest.approx(factor)
    assert decision.shown[1].score == pytest.approx(factor)


def test_a_response_resets_the_count():
    events = [imp("A", 5), imp("A", 4), Event("click", "A", days_ago(3.5)), imp("A", 3)]

    state = item_states(events, now=NOW, policy=POLICY)["A"]

    assert (state.n_impressions, state.n_ignored) == (3, 1)


def test_three_ignored_impressions_stop_the_item_for_the_cooldown():
    events = [imp("A", 3), imp("A", 2), imp("A", 1)]
    candidates = [Candidate("A", 1.0), Candidate("B", 0.1)]

    decision = apply_restraint(candidates, events, k=2, now=NOW, policy=POLICY)
    later = apply_restraint(candidates, events, k=2, now=days_ago(-29.5), policy=POLICY)

    assert [s.item_id for s in decision.shown] == ["B"]
    assert decision.withheld[0].item_id == "A"
    assert decision.withheld[0].reason is WithheldReason.IGNORED
    assert decision.withheld[0].until == days_ago(1) + timedelta(days=30)
    assert [s.item_id for s in later.shown] == ["A", "B"]  # back after the cool-down


def test_impressions_of_one_view_fold_into_one():
    events = [imp("A", 1.0), imp("A", 1.0 - 5 / 1440), imp("A", 1.0 - 10 / 1440)]

    state = item_states(events, now=NOW, policy=POLICY)["A"]

    assert state.n_ignored == 1


def test_dismiss_stops_the_item_at_once():
    events = [Event("dismiss", "A", days_ago(1))]

    decision = apply_restraint([Candidate("A", 1.0)], events, k=1, now=NOW, policy=POLICY)

    assert decision.shown == []
    assert decision.withheld[0].reason is WithheldReason.DISMISSED


def test_a_whole_ignored_category_is_withheld():
    policy = RestraintPolicy(category_max_ignored=2)
    events = [imp("A", 2), imp("B", 1)]
    candidates = [Candidate("A", 1.0, "toys"), Candidate("B", 0.9, "toys")]
    candidates += [Candidate("C", 0.8, "toys"), Candidate("D", 0.1, "tea")]

    decision = apply_restraint(candidates, events, k=4, now=NOW, policy=policy)

    assert [s.item_id for s in decision.shown] == ["D"]
    assert {w.reason for w in decision.withheld} == {WithheldReason.CATEGORY_IGNORED}


def test_customers_who_ignore_everything_get_fewer_items():
    policy = RestraintPolicy(fatigue_scale=10, max_ignored=100, category_max_ignored=100)
    events = [imp(f"X{i}", 1 + i) for i in range(10)]  # 10 ignored impressions in a row
    candidates = [Candidate(f"I{i}", 1.0 - i / 100) for i in range(20)]

    decision = apply_restraint(candidates, events, k=10, now=NOW, policy=policy)

    # ceil(10 / (1 + 10/10)) = 5
    assert decision.budget == 5
    assert len(decision.shown) == 5
    assert recommendation_budget(10, 30, policy) == 3  # ceil(10 / 4)
    assert recommendation_budget(10, 1000, policy) == 1  # min_k


def test_a_response_ends_the_fatigue():
    events = [imp(f"X{i}", 2 + i) for i in range(10)] + [Event("click", "X3", days_ago(1))]

    decision = apply_restraint(
        [Candidate(f"I{i}", 1.0) for i in range(20)], events, k=10, now=NOW, policy=POLICY
    )

    assert decision.budget == 10


@pytest.mark.parametrize(
    ("rule", "consent", "closed"),
    [
        pytest.param(ChannelRule("email", needs_opt_in=True), None, True, id="opt_in_never_asked"),
        pytest.param(
            ChannelRule("email", needs_opt_in=True), "granted", False, id="opt_in_granted"
        ),
        pytest.param(ChannelRule("web"), None, False, id="web_never_asked"),
        pytest.param(ChannelRule("web"), "withdrawn", True, id="web_withdrawn"),
        pytest.param(ChannelRule("console", needs_consent=False), "withdrawn", False, id="staff"),
    ],
)
def test_consent_closes_a_channel(rule, consent, closed):
    result = channel_closed(rule, consent, [], now=NOW)

    assert (result is not None) is closed
    if closed:
        assert result.reason is WithheldReason.NO_CONSENT


def test_frequency_cap_counts_occasions_in_the_window():
    rule = ChannelRule("email", max_occasions=2, per_days=7)
    events = [
        imp("A", 1, channel="email", occasion="s1"),
        imp("B", 1, channel="email", occasion="s1"),
        imp("A", 3, channel="email", occasion="s2"),
        imp("A", 9, channel="email", occasion="s0"),  # outside the week
    ]

    decision = apply_restraint(
        [Candidate("C", 1.0)],
        events,
        k=1,
        now=NOW,
        policy=POLICY,
        channel=rule,
        consent="granted",
    )
    one_less = apply_restraint(
        [Candidate("C", 1.0)],
        events[:2],
        k=1,
        now=NOW,
        policy=POLICY,
        channel=rule,
        consent="granted",
    )

    assert decision.shown == []
    assert decision.channel_closed.reason is WithheldReason.FREQUENCY_CAP
    assert decision.channel_closed.until == days_ago(3) + timedelta(days=7)
    assert [s.item_id for s in one_less.shown] == ["C"]


def test_restraint_off_keeps_the_model_order():
    events = [imp("A", 3), imp("A", 2), imp("A", 1)]
    policy = RestraintPolicy(enabled=False)

    decision = apply_restraint(
        [Candidate("A", 1.0), Candidate("B", 0.5)], events, k=2, now=NOW, policy=policy
    )

    assert [s.item_id for s in decision.shown] == ["A", "B"]


def test_events_out_of_order_give_the_same_state():
    events = [imp("A", 3), Event("click", "A", days_ago(2)), imp("A", 1)]

    forward = item_states(events, now=NOW, policy=POLICY)
    backward = item_states(reversed(events), now=NOW, policy=POLICY)

    assert forward == backward
    assert forward["A"].n_ignored == 1


def test_purchase_is_attributed_to_the_newest_exposure_in_the_window():
    policy = RestraintPolicy(attribution_days=7)
    events = [imp("A", 10), imp("A", 5), Event("click", "A", days_ago(4)), imp("B", 1)]

    assert attribute_purchase(days_ago(2), "A", events, policy) == events[2]
    assert attribute_purchase(days_ago(2), "C", events, policy) is None
    assert attribute_purchase(days_ago(-10), "A", events, policy) is None


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="decay"):
        RestraintPolicy(decay=0)


def test_policy_from_settings_takes_the_recs_settings():
    settings = Settings(
        _env_file=None,
        recs_max_ignored=5,
        recs_cooldown_days=10,
        recs_recovery_days=3,
        recs_attribution_days=2,
        recs_restraint=False,
    )

    policy = RestraintPolicy.from_settings(settings, decay=0.9)

    assert (policy.max_ignored, policy.cooldown_days, policy.recovery_days) == (5, 10, 3)
    assert (policy.attribution_days, policy.enabled, policy.decay) == (2, False, 0.9)
