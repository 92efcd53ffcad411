"""Service desk API: tickets end to end, e-mail upload, categories, answers, SLA, bad input."""

from pathlib import Path

import pytest

from kehu.service import Ticket
from tests.factories import make_customer
from tests.factories.service import make_desk

DATA = Path(__file__).parents[2] / "data" / "service"
API = "/api/v1/service"


@pytest.fixture
def desk(session, staff):
    desk = make_desk(session)
    # Record-level access (docs/access.md): the agent and the manager work in Cards, where
    # these tickets are routed.
    for role in ("agent", "manager"):
        staff[role].user.department_id = desk.cards.id
    session.commit()
    return desk


def test_a_ticket_goes_from_intake_to_resolution_through_the_api(client, staff, session, desk):
    customer = make_customer(session, identities=[("email", "ada@example.com")])
    session.commit()
    agent = staff["agent"]

    created = client.post(
        f"{API}/tickets",
        json={
            "subject": "Card?",
            "body": "Where is my card?",
            "requester": "ADA@example.com",
            "category_code": "card_arrival",
        },
        headers=agent.headers,
    )
    assert created.status_code == 201, created.text
    detail = created.json()
    ticket_id = detail["ticket"]["id"]
    assert detail["ticket"]["customer_id"] == customer.id
    assert detail["ticket"]["department_id"] == desk.cards.id
    assert detail["category_path"] == "Cards / Card arrival"
    assert detail["suggested_answer"]["body"] == "Cards arrive within 5 working days."
    assert [c["target"] for c in detail["clocks"]] == ["first_response", "resolution"]
    assert {c["state"] for c in detail["clocks"]} == {"ok"}

    reply = client.post(
        f"{API}/tickets/{ticket_id}/messages",
        json={"body": "Cards arrive within 5 working days."},
        headers=agent.headers,
    )
    assert reply.status_code == 201, reply.text
    assigned = client.post(
        f"{API}/tickets/{ticket_id}/assign",
        json={"assignee_id": agent.user.id},
        headers=agent.headers,
    )
    assert assigned.json()["assignee_id"] == agent.user.id
    resolved = client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": "resolved"}, headers=agent.headers
    )
    assert resolved.json()["status"] == "resolved"

    detail = client.get(f"{API}/tickets/{ticket_id}", headers=agent.headers).json()
    assert [m["author_kind"] for m in detail["messages"]] == ["customer", "agent"]
    assert [c["state"] for c in detail["clocks"]] == ["met", "met"]

    queue = client.get(
        f"{API}/tickets",
        params={"department_id": desk.cards.id, "queue": "done"},
        headers=agent.headers,
    ).json()
    assert (queue["count"], queue["data"][0]["id"]) == (1, ticket_id)
    assert (
        client.get(f"{API}/tickets", params={"queue": "open"}, headers=agent.headers).json()[
            "count"
        ]
        == 0
    )


def test_without_a_model_a_new_ticket_waits_in_triage(client, staff, desk, tmp_path, app):
    app.state.settings = app.state.settings.model_copy(update={"model_dir": tmp_path})

    created = client.post(f"{API}/tickets", json={"body": "hello"}, headers=staff["agent"].headers)

    assert created.status_code == 201, created.text
    assert created.json()["ticket"]["in_triage"] is True
    triage = client.get(
        f"{API}/tickets", params={"queue": "triage"}, headers=staff["agent"].headers
    )
    assert triage.json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        pytest.param({"body": ""}, 422, "empty", id="empty_case"),
        pytest.param({"body": "x" * 100_001}, 422, "body", id="huge_case"),
        pytest.param(
            {"body": "hi", "category_code": "nope"}, 422, "no category", id="category_case"
        ),
        pytest.param(
            {"body": "hi", "customer_id": 987654321}, 422, "no customer", id="customer_case"
        ),
        pytest.param({"body": "hi", "channel": "fax"}, 422, "channel", id="channel_case"),
        pytest.param({"body": "hi", "surprise": 1}, 422, "surprise", id="extra_field_case"),
    ],
)
def test_bad_tickets_get_a_clear_4xx(client, staff, desk, body, status, needle):
    response = client.post(
        f"{API}/tickets", json={"route": False, **body}, headers=staff["agent"].headers
    )

    assert response.status_code == status, response.text
    assert needle in response.text


def test_bad_moves_on_a_ticket_get_a_clear_4xx(client, staff, desk):
    headers = staff["agent"].headers
    ticket_id = client.post(
        f"{API}/tickets", json={"body": "hi", "route": False}, headers=headers
    ).json()["ticket"]["id"]
    client.post(f"{API}/tickets/{ticket_id}/status", json={"status": "closed"}, headers=headers)

    reopen = client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": "open"}, headers=headers
    )
    unknown = client.post(
        f"{API}/tickets/{ticket_id}/status", json={"status": "done"}, headers=headers
    )
    parent = client.post(
        f"{API}/tickets/{ticket_id}/category",
        json={"category_id": desk.parents["card"].id},
        headers=headers,
    )
    nobody = client.post(f"{API}/tickets/{ticket_id}/assign", json={}, headers=headers)

    assert (reopen.status_code, reopen.json()["code"]) == (409, "service.bad_transition")
    assert unknown.status_code == 422
    assert (parent.status_code, parent.json()["code"]) == (422, "service.not_a_leaf")
    assert nobody.status_code == 422


@pytest.mark.parametrize(
    "name", ["gbk.eml", "big5.eml", "wrong_charset.eml", "html_only.eml", "attachment.eml"]
)
def test_uploaded_mail_becomes_tickets(client, staff, desk, name, app, tmp_path):
    app.state.settings = app.state.settings.model_copy(update={"model_dir": tmp_path})

    response = client.post(
        f"{API}/mail",
        files={"file": (name, (DATA / name).read_bytes())},
        headers=staff["agent"].headers,
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["n_created"], report["n_triage"], report["errors"]) == (1, 1, [])


def test_a_malformed_mbox_upload_reports_per_message(client, staff, desk):
    response = client.post(
        f"{API}/mail",
        files={"file": ("inbox.mbox", (DATA / "malformed.mbox").read_bytes())},
        headers=staff["agent"].headers,
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["n_messages"], report["n_created"], len(report["errors"])) == (6, 3, 3)
    assert report["errors"][0] == {"index": 1, "line": 1, "message": report["errors"][0]["message"]}


def test_an_upload_without_a_file_is_a_422(client, staff):
    response = client.post(f"{API}/mail", headers=staff["agent"].headers)

    assert response.status_code == 422, response.text


def test_categories_answers_and_sla_policies_through_the_api(client, staff, desk):
    manager = staff["manager"].headers

    imported = client.post(
        f"{API}/categories/import",
        files={"file": ("c.csv", b"code,name,parent_code\nnew_leaf,New,card\nbad,Bad,nope\n")},
        headers=manager,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["n_created"] == 1
    assert imported.json()["errors"] == [
        {"line": 3, "message": "Parent 'nope' of 'bad' does not exist."}
    ]
    tree = client.get(f"{API}/categories", headers=staff["agent"].headers).json()
    leaf = next(c for c in tree["data"] if c["code"] == "new_leaf")
    assert (leaf["is_leaf"], leaf["path"]) == (True, "Cards / New")

    renamed = client.patch(
        f"{API}/categories/{leaf['id']}", json={"name": "Newer"}, headers=manager
    )
    assert renamed.json()["name"] == "Newer"
    cycle = client.patch(
        f"{API}/categories/{desk.parents['card'].id}",
        json={"parent_code": "new_leaf"},
        headers=manager,
    )
    assert (cycle.status_code, cycle.json()["code"]) == (422, "service.category_cycle")

    for body in ("First answer", "Second answer"):
        created = client.post(
            f"{API}/categories/{leaf['id']}/answers", json={"body": body}, headers=manager
        )
        assert created.status_code == 201, created.text
    versions = client.get(f"{API}/categories/{leaf['id']}/answers", headers=manager).json()
    assert [(a["version"], a["is_current"]) for a in versions["data"]] == [(2, True), (1, False)]

    policy = client.post(
        f"{API}/sla-policies",
        json={
            "code": "office",
            "timezone": "Asia/Shanghai",
            "business_hours": {"1": ["09:00", "18:00"]},
            "holidays": ["2026-12-25"],
            "targets": {"default": {"first_response_minutes": 60, "resolution_minutes": 600}},
        },
        headers=manager,
    )
    assert policy.status_code == 201, policy.text
    bad_zone = client.patch(
        f"{API}/sla-policies/{policy.json()['id']}", json={"timezone": "Mars/Base"}, headers=manager
    )
    assert (bad_zone.status_code, bad_zone.json()["code"]) == (422, "service.bad_calendar")
    bad_targets = client.post(
        f"{API}/sla-policies",
        json={"code": "x", "targets": {"vip": {"first_response_minutes": 1}}},
        headers=manager,
    )
    assert bad_targets.status_code == 422
    assert "default" in bad_targets.json()["detail"]


def test_decisions_outcomes_and_manager_reports_through_the_api(client, session, staff, desk):
    for role in ("agent", "manager"):  # refunds are routed to Billing (docs/access.md)
        staff[role].user.department_id = desk.billing.id
    session.commit()
    agent, manager = staff["agent"].headers, staff["manager"].headers
    ids = [
        client.post(
            f"{API}/tickets",
            json={"body": f"Refund please {i}", "category_code": "request_refund"},
            headers=agent,
        ).json()["ticket"]["id"]
        for i in range(2)
    ]
    approved = client.post(
        f"{API}/tickets/{ids[0]}/decisions",
        json={
            "rule_code": "REFUND-14D",
            "rule_text": "Refunds within 14 days.",
            "outcome": "approved",
            "amount": "12.50",
            "steps": ["Checked the purchase date"],
            "reply": "Your refund is on its way.",
        },
        headers=agent,
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["reply"].endswith("What we tried:\n1. Checked the purchase date")
    refused = client.post(
        f"{API}/tickets/{ids[1]}/outcome", json={"outcome": "refused", "rating": 2}, headers=agent
    )
    assert refused.json()["rating"] == 2
    bad_rating = client.post(f"{API}/tickets/{ids[1]}/outcome", json={"rating": 9}, headers=agent)
    assert bad_rating.status_code == 422

    contradictions = client.get(f"{API}/reports/contradictions", headers=manager).json()
    assert [(c["code"], c["outcomes"]) for c in contradictions] == [
        ("request_refund", {"approved": 1, "refused": 1})
    ]
    trends = client.get(f"{API}/reports/trends", headers=manager).json()
    assert [(t["code"], t["n_this"]) for t in trends["top"]] == [("request_refund", 2)]
    assert client.get(f"{API}/reports/sla", headers=manager).json() == []
    quality = client.get(f"{API}/reports/quality", headers=manager)
    assert quality.status_code == 200


def test_the_ticket_list_runs_the_same_selects_however_many_rows(
    client, staff, session, connection, desk
):
    from sqlalchemy import event

    from tests.factories.service import make_ticket

    def n_selects() -> int:
        statements: list[str] = []

        def remember(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        from kehu.users import _token_cache as token_cache

        token_cache.forget_all()  # each request checks its token in the database
        event.listen(connection, "before_cursor_execute", remember)
        try:
            response = client.get(f"{API}/tickets", headers=staff["agent"].headers)
        finally:
            event.remove(connection, "before_cursor_execute", remember)
        assert response.status_code == 200
        return len(statements)

    make_ticket(session, category_code="card_arrival")
    session.commit()
    few = n_selects()
    for _ in range(5):
        make_ticket(session, category_code="request_refund")
    session.commit()

    assert n_selects() == few


def test_agents_link_a_ticket_from_an_unknown_sender_through_the_api(client, staff, session, desk):
    customer = make_customer(session, name="Ada")
    taken = make_customer(session, name="Bob", identities=[("email", "bob@mail.test")])
    session.commit()
    agent = staff["agent"].headers
    opened = [
        client.post(
            f"{API}/tickets",
            json={"body": text, "requester": "ada@mail.test", "route": False},
            headers=agent,
        ).json()["ticket"]
        for text in ("Where is my card?", "Any news on my card?")
    ]
    assert [t["customer_id"] for t in opened] == [None, None]

    linked = client.post(
        f"{API}/tickets/{opened[0]['id']}/customer",
        json={"customer_id": customer.id},
        headers=agent,
    )
    later = client.post(
        f"{API}/tickets",
        json={"body": "Thanks", "requester": "ada@mail.test", "route": False},
        headers=agent,
    )

    assert linked.status_code == 200, linked.text
    assert linked.json()["ticket"]["customer_id"] == customer.id
    assert linked.json()["linked_ticket_ids"] == [opened[0]["id"], opened[1]["id"]]
    assert later.json()["ticket"]["customer_id"] == customer.id
    unknown = client.post(
        f"{API}/tickets/{opened[0]['id']}/customer", json={"customer_id": 10**12}, headers=agent
    )
    assert unknown.status_code == 422
    assert "no customer" in unknown.json()["detail"]
    bob_ticket = client.post(
        f"{API}/tickets", json={"body": "Hi", "route": False}, headers=agent
    ).json()["ticket"]
    session.get(Ticket, bob_ticket["id"]).requester = "bob@mail.test"  # known since it came
    session.commit()
    conflict = client.post(
        f"{API}/tickets/{bob_ticket['id']}/customer",
        json={"customer_id": customer.id},
        headers=agent,
    )
    assert conflict.status_code == 409
    assert f"already belongs to customer {taken.id}" in conflict.json()["detail"]


def test_an_all_or_nothing_category_import_writes_nothing_when_a_row_is_bad(client, staff, desk):
    manager = staff["manager"].headers
    data = b"code,name,parent_code\nfees,Fees,\ncard_fees,Card fees,nowhere\n"
    before = client.get(f"{API}/categories", headers=manager).json()["count"]

    refused = client.post(
        f"{API}/categories/import?all_or_nothing=true",
        files={"file": ("tree.csv", data, "text/csv")},
        headers=manager,
    )
    partial = client.post(
        f"{API}/categories/import",
        files={"file": ("tree.csv", data, "text/csv")},
        headers=manager,
    )

    assert refused.status_code == 200, refused.text
    assert (refused.json()["applied"], refused.json()["n_created"]) == (False, 0)
    assert refused.json()["errors"] == [
        {"line": 3, "message": "Parent 'nowhere' of 'card_fees' does not exist."}
    ]
    assert (partial.json()["applied"], partial.json()["n_created"]) == (True, 1)
    assert client.get(f"{API}/categories", headers=manager).json()["count"] == before + 1


def test_patching_a_policy_moves_the_due_times_of_open_tickets(client, staff, session, desk):
    from datetime import UTC, datetime

    from tests.factories.service import make_ticket

    opened = datetime(2026, 11, 23, 9, tzinfo=UTC)
    ticket_id = make_ticket(session, category_code="card_arrival", opened_at=opened).id
    session.commit()
    manager = staff["manager"].headers

    patched = client.patch(
        f"{API}/sla-policies/{desk.policy.id}",
        json={"targets": {"default": {"first_response_minutes": 30, "resolution_minutes": 90}}},
        headers=manager,
    )
    assert patched.status_code == 200, patched.text
    ticket = client.get(f"{API}/tickets/{ticket_id}", headers=manager).json()["ticket"]

    assert ticket["first_response_due_at"].startswith("2026-11-23T09:30")
    assert ticket["resolution_due_at"].startswith("2026-11-23T10:30")
