"""Service desk console: queues, the new-ticket form, the ticket page, the manager dashboard."""

import re

import pytest

from kehu.service import Ticket, get_ticket, list_messages, record_outcome
from kehu.users import Role
from tests.factories import ACTOR
from tests.factories.service import make_desk, make_ticket
from tests.integration.web.conftest import csrf_of, sign_in


@pytest.fixture
def desk(session, users):
    desk = make_desk(session)
    users[Role.AGENT].department_id = desk.cards.id  # record-level access: docs/access.md
    session.commit()
    return desk


@pytest.fixture
def agent(client, users):
    assert sign_in(client, "agent@example.com").status_code == 303
    return client


def test_the_form_opens_a_ticket_and_the_page_shows_answer_and_clock(agent, session, desk):
    token = csrf_of(agent, "/service/new")

    response = agent.post(
        "/service/new",
        data={
            "csrf_token": token,
            "subject": "Card?",
            "body": "Where is my card?",
            "requester": "someone@example.com",
            "channel": "phone",
            "category_code": "card_arrival",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303, response.text
    ticket_id = int(response.headers["location"].rsplit("/", 1)[1])
    page = agent.get(f"/service/tickets/{ticket_id}")
    assert page.status_code == 200
    assert "Cards / Card arrival" in page.text
    assert 'data-testid="canonical-answer"' in page.text
    assert "Cards arrive within 5 working days." in page.text  # prefilled reply
    assert 'data-state="ok"' in page.text
    assert get_ticket(session, ticket_id).channel == "phone"


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        pytest.param({"body": "  "}, 422, "The message is empty", id="empty_case"),
        pytest.param({"body": "x" * 100_001}, 422, "the limit is 100,000", id="huge_case"),
        pytest.param(
            {"body": "hi", "category_code": "nope"}, 422, "no category", id="category_case"
        ),
    ],
)
def test_bad_forms_show_the_reason_and_keep_the_text(agent, session, desk, fields, status, needle):
    token = csrf_of(agent, "/service/new")
    before = session.query(Ticket).count()

    response = agent.post("/service/new", data={"csrf_token": token, **fields})

    assert response.status_code == status
    assert needle in response.text
    assert session.query(Ticket).count() == before


def test_agents_reply_correct_the_category_and_resolve_from_the_page(agent, session, desk):
    ticket = make_ticket(session, subject="Lost card")
    session.commit()
    page = f"/service/tickets/{ticket.id}"
    token = csrf_of(agent, page)

    agent.post(f"{page}/reply", data={"csrf_token": token, "body": "We blocked it."})
    agent.post(
        f"{page}/category",
        data={"csrf_token": token, "category_id": desk.leaves["lost_or_stolen_card"].id},
    )
    agent.post(f"{page}/status", data={"csrf_token": token, "status": "resolved"})
    refused = agent.post(f"{page}/status", data={"csrf_token": token, "status": "new"})

    session.expire_all()
    ticket = get_ticket(session, ticket.id)
    assert [m.body for m in list_messages(session, ticket.id)][-1] == "We blocked it."
    assert (ticket.category_source, ticket.department_id, ticket.status) == (
        "agent",
        desk.cards.id,
        "resolved",
    )
    assert "it cannot become new" in refused.text


def test_queues_show_triage_and_departments(agent, users, session, desk):
    users[Role.AGENT].department_id = desk.billing.id  # an agent browses its own department
    placed = make_ticket(session, subject="Placed", category_code="exchange_rate")
    waiting = make_ticket(session, subject="Waiting")
    waiting.in_triage = True
    session.commit()

    triage = agent.get("/service?queue=triage")
    billing = agent.get(f"/service?department={desk.billing.id}")

    assert re.findall(r'data-ticket-id="(\d+)"', triage.text) == [str(waiting.id)]
    assert re.findall(r'data-ticket-id="(\d+)"', billing.text) == [str(placed.id)]


def test_the_dashboard_is_for_managers(client, users, session, desk):
    tickets = [make_ticket(session, category_code="request_refund") for _ in range(3)]
    record_outcome(session, tickets[0], outcome="approved", actor=ACTOR)
    record_outcome(session, tickets[1], outcome="refused", actor=ACTOR)
    session.commit()
    assert sign_in(client, "agent@example.com").status_code == 303
    assert client.get("/service/dashboard").status_code == 403
    client.cookies.clear()
    assert sign_in(client, "manager@example.com").status_code == 303

    page = client.get("/service/dashboard")

    assert page.status_code == 200
    assert "Payments / Request refund" in page.text
    assert 'data-testid="rising"' in page.text  # 3 new tickets: a rising category
    assert page.text.count(f'href="/service/tickets/{tickets[0].id}"') >= 1


def test_managers_edit_the_canonical_answer_from_the_ticket_as_a_new_version(
    client, users, session, desk
):
    from kehu.service import list_answer_versions

    ticket = make_ticket(session, category_code="card_arrival")
    users[Role.MANAGER].department_id = desk.cards.id  # the ticket is routed to the team
    session.commit()
    assert sign_in(client, "manager@example.com").status_code == 303
    page = f"/service/tickets/{ticket.id}"
    assert 'data-testid="answer-editor"' in client.get(page).text
    token = csrf_of(client, page)

    client.post(f"{page}/answer", data={"csrf_token": token, "body": "Cards take 3 days."})

    versions = list_answer_versions(session, desk.leaves["card_arrival"].id)
    assert [(a.version, a.body) for a in versions] == [(1, "Cards take 3 days.")]
    assert "Cards take 3 days." in client.get(page).text
    client.cookies.clear()
    assert sign_in(client, "agent@example.com").status_code == 303
    assert 'data-testid="answer-editor"' not in client.get(page).text
    token = csrf_of(client, page)
    refused = client.post(f"{page}/answer", data={"csrf_token": token, "body": "Mine"})
    assert refused.status_code == 403
