"""Keeping in touch, pure: neglect per tier cadence and free-service reminders."""

from datetime import date

from kehu.playbooks.cadence import (
    Cadence,
    Purchase,
    ReminderRule,
    TouchState,
    due_services,
    find_neglected,
)

TODAY = date(2011, 12, 9)
CADENCES = [Cadence("vip", 30, 5), Cadence("high", 60)]


def test_neglect_counts_from_the_last_touch_or_else_the_first_order():
    states = [
        TouchState(1, "vip", date(2011, 11, 8), date(2010, 1, 1)),  # 31 days: neglected
        TouchState(2, "vip", date(2011, 11, 9), date(2010, 1, 1)),  # 30 days: fine
        TouchState(3, "high", None, date(2011, 9, 1)),  # never touched, 99 days
        TouchState(4, "low", None, date(2009, 1, 1)),  # no policy for low
        TouchState(5, "vip", None, None),  # an account with no history
    ]

    result = find_neglected(states, CADENCES, today=TODAY)

    assert [(a.customer_id, a.days_since) for a in result.alerts] == [(3, 99), (1, 31)]
    assert (result.n_checked, result.n_without_policy, result.n_without_history) == (5, 1, 1)
    vip = result.alerts[1]
    assert vip.due_in_days == 5
    assert vip.dedupe_key == "neglect:1:2011-11-08"
    assert result.alerts[0].dedupe_key == "neglect:3:never"
    assert result.alerts[0].evidence()["counted_from"] == "first order (never touched)"


def test_service_is_due_around_its_date_and_a_product_rule_wins_over_its_category():
    rules = [
        ReminderRule(1, "Kettle descale", 90, category="Kettles"),
        ReminderRule(2, "Premium kettle check", 30, product_id=7),
    ]
    purchases = [
        Purchase(1, 5, "kettles", date(2011, 9, 10)),  # due 2011-12-09 by category
        Purchase(2, 7, "Kettles", date(2011, 11, 9)),  # product rule: due 2011-12-09
        Purchase(2, 7, "Kettles", date(2011, 11, 9)),  # the same purchase day twice
        Purchase(3, 5, "Kettles", date(2011, 1, 1)),  # long past its grace
        Purchase(4, 5, "Mugs", date(2011, 9, 10)),  # no rule for mugs
    ]

    due = due_services(purchases, rules, today=TODAY)

    assert [(d.customer_id, d.reminder_id, d.due_on) for d in due] == [
        (1, 1, date(2011, 12, 9)),
        (2, 2, date(2011, 12, 9)),
    ]
    assert due[0].dedupe_key == "service:1:1:2011-09-10"
