"""Tickets: intake, customer link, thread, statuses, assignment, routing, corrections."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kehu.core import ConflictError, InvalidInputError
from kehu.service import (
    MAX_MESSAGE_CHARS,
    AuthorKind,
    CategorySource,
    Ticket,
    TicketStatus,
    add_message,
    assign_ticket,
    correct_category,
    list_events,
    list_messages,
    route_ticket,
    set_ticket_status,
)
from tests.factories import ACTOR, make_customer, make_user
from tests.factories.service import make_desk, make_ticket

OPENED = datetime(2026, 11, 23, 9, tzinfo=UTC)


def test_a_known_senders_ticket_is_linked_to_the_customer_through_identities(session):
    customer = make_customer(session, identities=[("email", "Ada@Example.com")])

    ticket = make_ticket(session, requester="ada@example.COM", subject="  Card  late ")

    assert ticket.customer_id == customer.id
    assert ticket.subject == "Card late"
    assert ticket.status == TicketStatus.NEW
    assert [m.body for m in list_messages(session, ticket.id)] == ["My card has not arrived yet."]


def test_an_unknown_sender_gives_a_ticket_without_a_customer(session):
    n_customers = session.scalar(select(func.count()).select_from(Ticket))

    ticket = make_ticket(session, requester="stranger@example.com")

    assert ticket.customer_id is None
    assert ticket.requester == "stranger@example.com"
    assert session.scalar(select(func.count()).select_from(Ticket)) == n_customers + 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"body": "   ", "subject": ""}, "empty", id="empty_case"),
        pytest.param({"body": "x" * (MAX_MESSAGE_CHARS + 1)}, "the limit is", id="huge_case"),
        pytest.param({"category_code": "nope"}, "no category 'nope'", id="unknown_category_case"),
        pytest.param({"category_code": "card"}, "choose one of its leaves", id="parent_case"),
        pytest.param({"customer_id": 987654321}, "no customer", id="customer_case"),
        pytest.param({"order_id": 987654321}, "no order", id="order_case"),
        pytest.param({"channel": "pigeon"}, "Unknown channel", id="channel_case"),
    ],
)
def test_bad_tickets_are_refused_with_a_reason_and_nothing_written(session, fields, message):
    make_desk(session)
    before = session.scalar(select(func.count()).select_from(Ticket))

    with pytest.raises(InvalidInputError, match=message):
        make_ticket(session, **fields)

    assert session.scalar(select(func.count()).select_from(Ticket)) == before


def test_a_duplicate_external_id_is_a_conflict(session):
    make_ticket(session, external_id="mail:1")
    with pytest.raises(ConflictError, match="already exists"):
        make_ticket(session, external_id="mail:1")


def test_a_requester_category_places_the_ticket_with_department_sla_and_clock(session):
    desk = make_desk(session)

    ticket = make_ticket(session, category_code="card_arrival", opened_at=OPENED)

    assert ticket.category_id == desk.leaves["card_arrival"].id
    assert ticket.category_source == CategorySource.REQUESTER
    assert ticket.department_id == desk.cards.id  # inherited from the parent
    assert ticket.sla_policy_id == desk.policy.id
    assert ticket.first_response_due_at == OPENED + timedelta(minutes=240)
    assert ticket.resolution_due_at == OPENED + timedelta(minutes=2880)


def test_routing_below_the_threshold_goes_to_triage_not_a_department(session):
    desk = make_desk(session)
    sure = make_ticket(session)
    unsure = make_ticket(session)

    route_ticket(
        session, sure, category_code="card_arrival", confidence=0.9, threshold=0.5, actor=ACTOR
    )
    route_ticket(
        session, unsure, category_code="request_refund", confidence=0.3, threshold=0.5, actor=ACTOR
    )

    assert (sure.in_triage, sure.department_id, sure.category_source) == (
        False,
        desk.cards.id,
        CategorySource.MODEL,
    )
    assert (unsure.in_triage, unsure.department_id, unsure.category_id) == (True, None, None)
    assert unsure.predicted_category_id == desk.leaves["request_refund"].id
    assert unsure.confidence == 0.3


def test_routing_to_a_retired_or_unknown_category_goes_to_triage(session):
    make_desk(session)
    ticket = make_ticket(session)

    route_ticket(session, ticket, category_code="gone", confidence=0.99, threshold=0.5, actor=ACTOR)

    assert ticket.in_triage
    assert ticket.predicted_category_id is None


def test_an_agents_correction_is_a_label_that_routing_does_not_override(session):
    desk = make_desk(session)
    ticket = make_ticket(session)
    route_ticket(
        session, ticket, category_code="exchange_rate", confidence=0.4, threshold=0.5, actor=ACTOR
    )

    correct_category(session, ticket, desk.leaves["request_refund"].id, actor=ACTOR)
    route_ticket(
        session, ticket, category_code="card_arrival", confidence=0.99, threshold=0.5, actor=ACTOR
    )

    assert ticket.category_id == desk.leaves["request_refund"].id
    assert ticket.category_source == CategorySource.AGENT
    assert ticket.department_id == desk.billing.id
    assert not ticket.in_triage
    with pytest.raises(InvalidInputError, match="leaves"):
        correct_category(session, ticket, desk.parents["money"].id, actor=ACTOR)


def test_the_first_public_agent_reply_stops_the_first_response_clock(session):
    ticket = make_ticket(session, opened_at=OPENED)
    agent = make_user(session, role="agent")
    noted = OPENED + timedelta(minutes=5)
    replied = OPENED + timedelta(minutes=30)

    add_message(
        session,
        ticket,
        body="check order",
        author_kind="agent",
        is_internal=True,
        actor=ACTOR,
        sent_at=noted,
    )
    assert ticket.first_responded_at is None
    add_message(
        session,
        ticket,
        body="We are on it.",
        author_kind=AuthorKind.AGENT,
        user_id=agent.id,
        actor=ACTOR,
        sent_at=replied,
    )

    assert ticket.first_responded_at == replied
    assert ticket.status == TicketStatus.OPEN
    assert [m.author_kind for m in list_messages(session, ticket.id)] == [
        "customer",
        "agent",
        "agent",
    ]
    with pytest.raises(InvalidInputError, match="empty"):
        add_message(session, ticket, body=" ", author_kind="agent", actor=ACTOR)


def test_a_customer_writing_to_a_resolved_ticket_reopens_it(session):
    ticket = make_ticket(session)
    set_ticket_status(session, ticket, "resolved", actor=ACTOR)
    assert ticket.resolved_at is not None

    add_message(session, ticket, body="Still not here!", author_kind="customer", actor=ACTOR)

    assert ticket.status == TicketStatus.OPEN
    assert ticket.n_reopened == 1
    assert [e.kind for e in list_events(session, ticket.id)] == ["created", "resolved", "reopened"]


def test_closed_is_final_and_unknown_statuses_are_refused(session):
    ticket = make_ticket(session)
    set_ticket_status(session, ticket, TicketStatus.CLOSED, actor=ACTOR)

    with pytest.raises(ConflictError, match="cannot become open"):
        set_ticket_status(session, ticket, "open", actor=ACTOR)
    with pytest.raises(ConflictError, match="closed"):
        add_message(session, ticket, body="hello?", author_kind="customer", actor=ACTOR)
    with pytest.raises(InvalidInputError, match="Unknown status"):
        set_ticket_status(session, ticket, "done", actor=ACTOR)


def test_assigning_an_agent_brings_their_department_and_leaves_triage(session):
    desk = make_desk(session)
    agent = make_user(session, role="agent", department_code="billing")
    ticket = make_ticket(session)
    route_ticket(session, ticket, category_code=None, confidence=None, threshold=0.5, actor=ACTOR)
    assert ticket.in_triage

    assign_ticket(session, ticket, assignee_id=agent.id, actor=ACTOR)

    assert (ticket.assignee_id, ticket.department_id, ticket.in_triage) == (
        agent.id,
        desk.billing.id,
        False,
    )
    with pytest.raises(InvalidInputError, match="no active user"):
        assign_ticket(session, ticket, assignee_id=987654321, actor=ACTOR)
    with pytest.raises(InvalidInputError, match="no department"):
        assign_ticket(session, ticket, department_id=987654321, actor=ACTOR)


def test_a_ticket_without_a_category_runs_on_the_default_policy(session):
    from kehu.service import save_sla_policy, ticket_clocks

    desk = make_desk(session)
    default = save_sla_policy(
        session,
        code="default",
        targets={"default": {"first_response_minutes": 30, "resolution_minutes": 600}},
        actor=ACTOR,
    )
    waiting = make_ticket(session, opened_at=OPENED)
    placed = make_ticket(session, category_code="card_arrival", opened_at=OPENED)
    route_ticket(session, waiting, category_code=None, confidence=None, threshold=0.5, actor=ACTOR)

    assert (waiting.sla_policy_id, waiting.first_response_due_at) == (
        default.id,
        OPENED + timedelta(minutes=30),
    )
    assert [c.target for c in ticket_clocks(session, waiting)] == ["first_response", "resolution"]
    assert placed.sla_policy_id == desk.policy.id  # the category's own policy wins
