"""The relationship run on scored customers: cadence, reminders, surprises, rules, the budget."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from kehu.analytics.clv import simulate_transactions
from kehu.commerce import OrderLine, Product
from kehu.jobs.relations import build_snapshots, measure_surprise_outcomes, run_relations
from kehu.jobs.value import run_value_analysis
from kehu.playbooks.rules import seed_default_rules, store_rule
from kehu.relations import (
    ContactDecision,
    ContactLedgerEntry,
    SurpriseGift,
    Task,
    TaskStatus,
    add_service_reminder,
    close_task,
    list_ledger,
    log_touch,
    seed_cadence_policies,
    seed_surprises,
    update_relation_settings,
)
from kehu.value import CustomerValue
from tests.factories import ACTOR
from tests.integration.value.conftest import LAST_DAY, load_history

NOW = dt.datetime(2022, 1, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def valued(session):
    """120 simulated customers over two years, scored by the value analysis."""
    ids = load_history(session, simulate_transactions(120, random_state=11))
    run = run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    assert run.status == "succeeded", run.message
    return ids


@pytest.fixture
def scored(session, valued):
    """The scored customers with the default cadence and surprise catalogue."""
    ids = valued
    seed_cadence_policies(session, actor=ACTOR)
    seed_surprises(session, actor=ACTOR)
    return ids


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_snapshots_carry_the_fields_rules_read(session, scored):
    snapshots = build_snapshots(session, as_of=LAST_DAY)

    assert len(snapshots) == 120
    one = next(s for s in snapshots if s["tier"] == "vip")
    assert one["n_orders"] >= 1
    assert one["days_since_last_order"] >= 0
    assert one["days_since_last_touch"] is None
    assert one["month"] == 12
    assert one["has_owner"] is False  # no account owner exists here to assign VIPs to


def test_a_run_opens_tasks_within_the_budget_and_a_second_run_adds_none(session, scored):
    first = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)
    n_tasks = _count(session, Task)

    second = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    n_vip_high = _count(session, CustomerValue, CustomerValue.tier.in_(["vip", "high"]))
    assert first.cadence.n_opened >= 1
    assert first.cadence.n_candidates <= n_vip_high + _count(
        session, CustomerValue, CustomerValue.tier == "medium"
    )
    assert _count(session, Task) == n_tasks
    assert second.cadence.n_opened == 0
    assert second.cadence.n_refreshed == first.cadence.n_opened
    neglect = session.scalars(select(Task).where(Task.kind == "neglect")).first()
    assert neglect.evidence["cadence_days"] in (30, 60, 120)
    assert "contacts in 30 days" in neglect.evidence["budget"]
    sent = _count(session, ContactLedgerEntry, ContactLedgerEntry.decision == ContactDecision.SENT)
    assert sent == first.cadence.n_opened + first.service.n_opened + first.surprises.n_opened
    assert _count(session, SurpriseGift) == first.surprises.n_opened


def test_a_touch_ends_neglect_and_a_dismissed_alert_stays_dismissed(session, scored):
    run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)
    tasks = session.scalars(select(Task).where(Task.kind == "neglect").order_by(Task.id)).all()
    touched, dismissed = tasks[0], tasks[1]
    log_touch(
        session,
        customer_id=touched.customer_id,
        kind="contact",
        occurred_at=dt.datetime.combine(LAST_DAY, dt.time(9), tzinfo=dt.UTC),
        actor=ACTOR,
    )
    close_task(session, touched.id, actor=ACTOR)
    close_task(session, dismissed.id, status="dismissed", actor=ACTOR)

    again = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    open_for = set(
        session.scalars(
            select(Task.customer_id).where(Task.kind == "neglect", Task.status == TaskStatus.OPEN)
        )
    )
    assert touched.customer_id not in open_for
    assert dismissed.customer_id not in open_for
    assert again.cadence.n_closed_before == 1


def test_a_zero_budget_drops_every_contact_and_logs_it(session, scored):
    update_relation_settings(session, {"contact_budget": 0}, actor=ACTOR)

    report = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    assert _count(session, Task) == 0
    assert report.cadence.n_dropped == report.cadence.n_candidates > 0
    customer_id = session.scalars(select(ContactLedgerEntry.customer_id)).first()
    entry = list_ledger(session, customer_id)[0]
    assert entry.decision == ContactDecision.DROPPED
    assert "budget is 0" in entry.reason


def test_a_dry_run_writes_nothing(session, scored):
    seed_default_rules(session, actor=ACTOR)
    session.flush()
    before = (_count(session, Task), _count(session, ContactLedgerEntry))

    report = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW, dry_run=True)

    assert report.cadence.n_opened >= 1
    assert (_count(session, Task), _count(session, ContactLedgerEntry)) == before


def test_free_service_reminder_and_a_stored_rule_raise_tasks(session, scored):
    sku = session.scalar(select(Product.sku).join(OrderLine).limit(1))
    add_service_reminder(session, label="Free check-up", after_days=14, sku=sku, actor=ACTOR)
    store_rule(
        session,
        {
            "name": "big-spenders",
            "when": {"all": [["total_spend", "gt", 0], ["tier", "eq", "vip"]]},
            "action": "open_task",
            "params": {"kind": "follow_up", "title": "Thank $name"},
        },
        actor=ACTOR,
    )

    report = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    assert report.service.n_candidates >= 1
    assert _count(session, Task, Task.kind == "service_due") == report.service.n_opened
    n_vip = _count(session, CustomerValue, CustomerValue.tier == "vip")
    assert report.rules.n_opened == n_vip
    assert _count(session, Task, Task.dedupe_key.like("rule:big-spenders:%")) == n_vip


def test_outcomes_report_counts_when_nothing_was_given(session, scored):
    result = measure_surprise_outcomes(session, as_of=NOW)

    assert (result.n_given, result.surprised.n) == (0, 0)
    assert result.verdict.startswith("Too few to tell")


def test_demo_step_seeds_runs_once_and_shows_the_pages_data(session, valued):
    from kehu.demo.relations import seed_relations
    from kehu.relations import Referral, Rule, list_touches

    first = seed_relations(session)
    second = seed_relations(session)

    assert first is not None
    assert second is None
    assert _count(session, Rule) == 3
    assert _count(session, Referral) >= 1
    assert _count(session, Task) == (
        first.cadence.n_opened
        + first.service.n_opened
        + first.surprises.n_opened
        + first.rules.n_opened
    )
    top = session.scalar(select(CustomerValue.customer_id).order_by(CustomerValue.value_rank))
    assert [t.subject for t in list_touches(session, top)] == ["Quarterly check-in call"]
