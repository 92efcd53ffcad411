"""Manager reports: contradicting outcomes, policy decisions, SLA alerts, QA, what grows."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kehu.core import ConflictError, InvalidInputError
from kehu.service import (
    ClockState,
    Outcome,
    add_message,
    assign_ticket,
    category_trends,
    contradicting_outcomes,
    list_messages,
    quality_report,
    record_outcome,
    record_policy_decision,
    set_ticket_status,
    sla_alerts,
    ticket_clocks,
    ticket_quality,
)
from tests.factories import ACTOR, make_customer, make_order, make_user
from tests.factories.service import make_desk, make_ticket

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_same_category_approved_for_one_and_refused_for_another_is_listed(session):
    desk = make_desk(session)
    refund = desk.leaves["request_refund"]
    tickets = [make_ticket(session, category_code="request_refund") for _ in range(3)]
    other = make_ticket(session, category_code="exchange_rate")
    record_outcome(session, tickets[0], outcome="approved", outcome_amount="20.00", actor=ACTOR)
    record_outcome(session, tickets[1], outcome="refused", actor=ACTOR)
    record_outcome(session, other, outcome="informed", actor=ACTOR)

    found = contradicting_outcomes(session)

    assert [(c.code, c.outcomes) for c in found] == [
        ("request_refund", {"approved": 1, "refused": 1})
    ]
    assert found[0].category_id == refund.id
    assert [t[0] for t in found[0].tickets] == [tickets[0].id, tickets[1].id]


def test_approvals_with_different_amounts_are_contradictions_too(session):
    make_desk(session)
    a, b, c = (make_ticket(session, category_code="exchange_rate") for _ in range(3))
    record_outcome(session, a, outcome="approved", outcome_amount="10", actor=ACTOR)
    record_outcome(session, b, outcome="approved", outcome_amount="10", actor=ACTOR)
    assert contradicting_outcomes(session) == []

    record_outcome(session, c, outcome="approved", outcome_amount="25", actor=ACTOR)

    assert [x.amounts for x in contradicting_outcomes(session)] == [["10.00", "25.00"]]


def test_a_policy_decision_records_rule_and_steps_and_tells_the_customer(session):
    make_desk(session)
    ticket = make_ticket(session, category_code="request_refund")
    rule = "Refunds within 14 days of purchase."

    decision = record_policy_decision(
        session,
        ticket,
        rule_code="REFUND-14D",
        rule_text=rule,
        outcome="refused",
        steps=["Checked the order date (31 days ago)", "Offered a store credit"],
        reply="We cannot refund this order.",
        actor=ACTOR,
    )

    assert decision.steps == ["Checked the order date (31 days ago)", "Offered a store credit"]
    assert ticket.outcome == Outcome.REFUSED
    reply = list_messages(session, ticket.id)[-1]
    assert reply.author_kind == "agent"
    assert reply.body == (
        "We cannot refund this order.\n\nWhat we tried:\n"
        "1. Checked the order date (31 days ago)\n2. Offered a store credit"
    )
    assert ticket.first_responded_at is not None
    # The same rule for everyone: its wording cannot drift from one customer to the next.
    second = make_ticket(session, category_code="request_refund")
    with pytest.raises(ConflictError, match="same rule applies to everyone"):
        record_policy_decision(
            session,
            second,
            rule_code="REFUND-14D",
            rule_text="Refunds within 30 days.",
            outcome="approved",
            steps=["Asked a manager"],
            reply="OK",
            actor=ACTOR,
        )
    same = record_policy_decision(
        session,
        second,
        rule_code="REFUND-14D",
        rule_text="",
        outcome="refused",
        steps=["Checked the date"],
        reply="Sorry.",
        actor=ACTOR,
    )
    assert same.rule_text == rule
    with pytest.raises(InvalidInputError, match="at least one step"):
        record_policy_decision(
            session,
            second,
            rule_code="REFUND-14D",
            rule_text=rule,
            outcome="refused",
            steps=["  "],
            reply="No.",
            actor=ACTOR,
        )


def test_sla_alerts_list_breaches_and_warnings_worst_first(session):
    make_desk(session)  # 24/7: first response 240 min, resolution 2880 min
    late = make_ticket(session, category_code="card_arrival", opened_at=NOW - timedelta(hours=5))
    close = make_ticket(session, category_code="card_arrival", opened_at=NOW - timedelta(hours=3.5))
    fine = make_ticket(session, category_code="card_arrival", opened_at=NOW - timedelta(hours=1))
    answered = make_ticket(
        session, category_code="card_arrival", opened_at=NOW - timedelta(hours=6)
    )
    add_message(
        session,
        answered,
        body="Hello",
        author_kind="agent",
        actor=ACTOR,
        sent_at=NOW - timedelta(hours=5.5),
    )

    alerts = sla_alerts(session, now=NOW)

    assert [(a.ticket_id, a.target, a.state) for a in alerts] == [
        (late.id, "first_response", ClockState.BREACHED),
        (close.id, "first_response", ClockState.WARNING),
    ]
    clocks = ticket_clocks(session, fine, now=NOW)
    assert [(c.target, c.state) for c in clocks] == [
        ("first_response", ClockState.OK),
        ("resolution", ClockState.OK),
    ]
    assert ticket_clocks(session, answered, now=NOW)[0].state == ClockState.MET


def test_vip_customers_get_the_vip_targets_when_scored(session):
    make_desk(session)
    ticket = make_ticket(session, category_code="card_arrival", opened_at=NOW)
    assert ticket.tier == "default"
    assert ticket.first_response_due_at == NOW + timedelta(minutes=240)


def test_quality_per_agent_and_team_on_three_criteria(session):
    desk = make_desk(session)
    ann = make_user(session, role="agent", department_code="cards", name="Ann")
    customer = make_customer(session)
    order = make_order(session, customer)
    resolved_at = NOW - timedelta(days=10)
    solved = make_ticket(
        session, category_code="card_arrival", opened_at=resolved_at - timedelta(hours=2)
    )
    bounced = make_ticket(
        session, category_code="card_arrival", opened_at=resolved_at - timedelta(hours=1)
    )
    refunded = make_ticket(
        session, category_code="request_refund", order_id=order.id, opened_at=resolved_at
    )
    for ticket in (solved, bounced, refunded):
        assign_ticket(session, ticket, assignee_id=ann.id, actor=ACTOR)
        set_ticket_status(session, ticket, "resolved", actor=ACTOR, at=resolved_at)
    set_ticket_status(session, bounced, "open", actor=ACTOR, at=resolved_at + timedelta(days=2))
    set_ticket_status(session, bounced, "resolved", actor=ACTOR, at=resolved_at + timedelta(days=3))
    record_outcome(session, solved, rating=5, actor=ACTOR)
    record_outcome(session, refunded, amount_paid="2.00", actor=ACTOR)  # order total 7.00
    bounced.sentiment = 0.2

    rows = quality_report(session, window_days=7, now=NOW)

    by_key = {(r.group, r.group_id, r.week): r for r in rows}
    agent_rows = [r for r in rows if r.group == "agent"]
    assert sorted(r.week for r in agent_rows) == ["2026-W46", "2026-W47"]
    week = by_key[("agent", ann.id, "2026-W46")]
    assert (week.name, week.n_tickets, week.n_judged) == ("Ann", 2, 2)
    assert week.solved_share == 1.0
    assert week.loss_reduced == Decimal("5.00")  # claimed 7.00 (the order), paid 2.00
    assert week.perception == 1.0  # the one rating; the other ticket has neither
    # The bounced ticket counts in the week of its last resolution, and not as solved.
    later = by_key[("agent", ann.id, "2026-W47")]
    assert (later.n_tickets, later.solved_share, later.perception) == (1, 0.0, 0.2)
    team = by_key[("team", desk.cards.id, "2026-W47")]
    assert team.n_tickets == 1
    assert ticket_quality(session, solved, window_days=7).perception == 1.0
    assert ticket_quality(session, bounced, window_days=7).solved is False


def test_top_and_rising_categories_with_samples(session):
    make_desk(session)
    for days_ago, code, n in [
        (10, "card_arrival", 5),
        (2, "card_arrival", 4),
        (9, "exchange_rate", 1),
        (1, "exchange_rate", 4),
        (3, "lost_or_stolen_card", 3),
    ]:
        for i in range(n):
            make_ticket(
                session,
                category_code=code,
                body=f"{code} message {i}",
                opened_at=NOW - timedelta(days=days_ago, minutes=i),
            )

    top, rising = category_trends(session, now=NOW, days=7, n_samples=2)

    assert [(t.code, t.n_this, t.n_last) for t in top] == [
        ("card_arrival", 4, 5),
        ("exchange_rate", 4, 1),
        ("lost_or_stolen_card", 3, 0),
    ]
    assert [t.code for t in rising] == ["lost_or_stolen_card", "exchange_rate"]
    assert rising[1].growth == pytest.approx(3.0)
    assert [text for _, text in rising[1].samples] == [
        "exchange_rate message 0",
        "exchange_rate message 1",
    ]
