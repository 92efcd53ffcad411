"""One contact budget: the pure decision (sent, waited, dropped) with priorities."""

from datetime import UTC, datetime, timedelta

import pytest

from kehu.core import InvalidInputError
from kehu.playbooks.budget import BudgetPolicy, ContactRequest, decide
from kehu.relations import ContactDecision

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _days_ago(*days):
    return [NOW - timedelta(days=d) for d in days]


def test_within_the_budget_every_request_is_sent():
    policy = BudgetPolicy(limit=3, window_days=30)

    verdicts = decide(policy, {1: _days_ago(2)}, [ContactRequest(1, "cadence")], at=NOW)

    assert [v.decision for v in verdicts] == [ContactDecision.SENT]
    assert verdicts[0].remaining == 1


def test_contacts_older_than_the_window_do_not_count():
    policy = BudgetPolicy(limit=2, window_days=30)

    verdicts = decide(policy, {1: _days_ago(31, 45, 90)}, [ContactRequest(1, "campaign")], at=NOW)

    assert verdicts[0].decision == ContactDecision.SENT


def test_over_the_budget_important_ones_wait_and_others_drop():
    policy = BudgetPolicy(limit=2, window_days=30)
    history = {1: _days_ago(5, 20)}

    waited, dropped = decide(
        policy, history, [ContactRequest(1, "cadence"), ContactRequest(1, "campaign")], at=NOW
    )

    assert waited.decision == ContactDecision.WAITED
    assert waited.retry_at == NOW - timedelta(days=20) + timedelta(days=30)
    assert "waits until 2026-12-05" in waited.reason
    assert dropped.decision == ContactDecision.DROPPED
    assert "below 50" in dropped.reason


def test_in_one_batch_the_higher_priority_takes_the_last_slot_whatever_the_order():
    policy = BudgetPolicy(limit=1, window_days=30)

    campaign, service = decide(
        policy, {}, [ContactRequest(1, "campaign"), ContactRequest(1, "service")], at=NOW
    )

    assert service.decision == ContactDecision.SENT
    assert campaign.decision == ContactDecision.DROPPED


def test_customers_have_separate_budgets():
    policy = BudgetPolicy(limit=1, window_days=30)

    verdicts = decide(
        policy,
        {1: _days_ago(1)},
        [ContactRequest(1, "surprise"), ContactRequest(2, "surprise")],
        at=NOW,
    )

    assert [v.decision for v in verdicts] == [ContactDecision.WAITED, ContactDecision.SENT]


def test_a_budget_of_zero_drops_everything_and_says_why():
    policy = BudgetPolicy(limit=0, window_days=30)

    verdicts = decide(policy, {}, [ContactRequest(1, "service")], at=NOW)

    assert verdicts[0].decision == ContactDecision.DROPPED
    assert "budget is 0" in verdicts[0].reason


def test_an_unknown_playbook_is_refused():
    with pytest.raises(InvalidInputError, match="Unknown playbook 'fax'"):
        decide(BudgetPolicy(), {}, [ContactRequest(1, "fax")], at=NOW)
