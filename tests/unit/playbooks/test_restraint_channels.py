"""A channel's status (consent, cap used and left) and the items stopped, hand-computed."""

from datetime import UTC, datetime, timedelta

from kehu.playbooks.restraint import (
    ChannelRule,
    Event,
    RestraintPolicy,
    Withheld,
    WithheldReason,
    channel_status,
    occasions,
    stopped_items,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = RestraintPolicy(max_ignored=3, cooldown_days=30, dismiss_cooldown_days=90)
EMAIL = ChannelRule("email", needs_opt_in=True, max_occasions=2, per_days=7)
WEB = ChannelRule("web")


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def imp(item: str, days: float, channel: str = "email", occasion: str | None = None) -> Event:
    return Event("impression", item, days_ago(days), channel, occasion)


def test_occasions_are_served_lists_of_the_channel_each_at_its_first_impression():
    events = [
        imp("A", 3, occasion="s1"),
        imp("B", 2.9, occasion="s1"),
        imp("A", 1, occasion="s2"),
        imp("C", 1, channel="web", occasion="w1"),
    ]

    assert sorted(occasions(events, "email")) == [days_ago(3), days_ago(1)]
    assert occasions(events, "sms") == []


def test_a_channel_at_its_cap_is_closed_until_the_oldest_occasion_leaves_the_window():
    events = [imp("A", 8, occasion="s0"), imp("A", 3, occasion="s1"), imp("B", 1, occasion="s2")]

    status = channel_status(EMAIL, "granted", events, now=NOW)

    assert (status.used, status.left) == (2, 0)
    assert status.frees_at == days_ago(3) + timedelta(days=7)
    assert status.closed == Withheld(None, WithheldReason.FREQUENCY_CAP, status.frees_at)


def test_consent_closes_before_the_cap_counts_and_web_has_no_cap():
    one = [imp("A", 1, occasion="s1")]

    never_asked = channel_status(EMAIL, None, one, now=NOW)
    web = channel_status(WEB, None, [imp("A", 1, channel="web", occasion="w")], now=NOW)
    withdrawn = channel_status(WEB, "withdrawn", [], now=NOW)

    assert (never_asked.used, never_asked.left) == (1, 1)
    assert never_asked.closed == Withheld(None, WithheldReason.NO_CONSENT)
    assert (web.used, web.left, web.closed) == (1, None, None)
    assert withdrawn.closed == Withheld(None, WithheldReason.NO_CONSENT)
    assert (withdrawn.used, withdrawn.frees_at) == (0, None)


def test_stopped_items_are_those_ignored_too_often_or_dismissed_soonest_back_first():
    events = [
        imp("TEA", 5),
        imp("TEA", 4),
        imp("TEA", 3),
        imp("CUP", 5),
        imp("CUP", 4),
        imp("CUP", 3),
        Event("click", "CUP", days_ago(2)),
        Event("dismiss", "JAM", days_ago(1)),
        imp("OLD", 40),
        imp("OLD", 39),
        imp("OLD", 38),
    ]

    assert stopped_items(events, now=NOW, policy=POLICY) == [
        Withheld("TEA", WithheldReason.IGNORED, days_ago(3) + timedelta(days=30)),
        Withheld("JAM", WithheldReason.DISMISSED, days_ago(1) + timedelta(days=90)),
    ]
