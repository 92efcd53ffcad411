"""The relations API on bad input: clear 4xx answers, nothing changed; the budget end to end."""

import pytest
from sqlalchemy import func, select

from kehu.relations import ContactLedgerEntry, Referral, Rule, Task
from tests.factories import make_customer
from tests.factories.relations import make_relations

BASE = "/api/v1/relations"


@pytest.fixture
def world(session):
    customer = make_customer(session, name="Ada")
    ids = make_relations(session, customer.id)
    session.commit()
    return {"customer": customer.id, **ids}


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        (
            "PUT",
            "/rules",
            {
                "name": "r",
                "when": ["favourite_colour", "eq", "red"],
                "action": "open_task",
                "params": {"title": "x"},
            },
            422,
            "unknown field 'favourite_colour'",
        ),
        (
            "PUT",
            "/rules",
            {"name": "r", "when": {"all": []}, "action": "send_fax"},
            422,
            "unknown action 'send_fax'",
        ),
        ("PUT", "/cadence/vip", {"every_days": 7, "due_in_days": 7}, 422, "shorter than"),
        ("PATCH", "/settings", {"priorities": {"cadence": 1}}, 422, "missing"),
        ("POST", "/contacts", {"customer_id": "{customer}", "playbook": "fax"}, 422, "fax"),
        ("POST", "/contacts", {"customer_id": 999999, "playbook": "campaign"}, 422, "999999"),
        (
            "POST",
            "/referrals",
            {"referrer_id": "{customer}", "referred_id": "{customer}", "referred_on": "2026-01-01"},
            422,
            "cannot refer themselves",
        ),
        (
            "POST",
            "/referrals",
            {"referrer_id": "{fresh}", "referred_id": "{customer}", "referred_on": "2026-01-01"},
            409,
            "already brought",
        ),
        (
            "POST",
            "/referrals",
            {"referrer_id": "{customer}", "referred_id": "{referrer}", "referred_on": "2026-01-01"},
            422,
            "circle",
        ),
        (
            "POST",
            "/service-reminders",
            {"label": "x", "after_days": 5, "sku": "NOPE"},
            422,
            "NOPE",
        ),
        (
            "POST",
            "/service-reminders",
            {"label": "x", "after_days": 5, "sku": "A", "category": "B"},
            422,
            "not both",
        ),
        (
            "POST",
            "/service-reminders",
            {"label": "Another check-up", "after_days": 90, "category": "kettles"},
            409,
            "already a reminder for 'kettles'",
        ),
        (
            "POST",
            "/surprises",
            {"code": "card", "name": "Again", "cost": "1", "moments": ["birthday"]},
            409,
            "exists already",
        ),
        ("POST", "/gifts/{gift}/mark", {"status": "planned"}, 422, "given"),
        ("POST", "/tasks/999999/close", {"status": "done"}, 404, "no task 999999"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None,
)
def test_bad_input_is_refused_with_the_reason_and_changes_nothing(
    client, staff, session, world, method, path, body, status, words
):
    def fill(value):
        if isinstance(value, str) and value.startswith("{"):
            return world[value[1:-1]]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    before = [_count(session, m) for m in (Rule, Referral, ContactLedgerEntry, Task)]

    response = client.request(
        method, BASE + path.format(**world), json=fill(body), headers=staff["admin"].headers
    )

    assert response.status_code == status, response.text
    assert words in response.text
    assert [_count(session, m) for m in (Rule, Referral, ContactLedgerEntry, Task)] == before


def test_the_budget_sends_then_waits_then_drops_and_the_ledger_shows_it(
    client, staff, session, world
):
    headers = staff["manager"].headers
    client.patch(f"{BASE}/settings", json={"contact_budget": 1}, headers=headers)

    answers = [
        client.post(
            f"{BASE}/contacts",
            json={"customer_id": world["customer"], "playbook": playbook, "reference": ref},
            headers=headers,
        ).json()
        for playbook, ref in (
            ("surprise", "s1"),
            ("cadence", "c1"),
            ("campaign", "x1"),
            ("surprise", "s1"),
        )
    ]
    ledger = client.get(f"{BASE}/customers/{world['customer']}/ledger", headers=headers).json()

    assert [a["decision"] for a in answers] == ["sent", "waited", "dropped", "sent"]
    assert "not counted twice" in answers[3]["reason"]
    assert answers[1]["retry_at"] is not None
    assert [e["decision"] for e in ledger] == ["dropped", "waited", "sent"]


def test_a_closed_task_cannot_be_closed_again(client, session, staff, world):
    session.get(Task, world["task"]).owner_id = staff["agent"].user.id  # an agent's own task
    session.commit()
    path = f"{BASE}/tasks/{world['task']}/close"
    first = client.post(path, json={"status": "done"}, headers=staff["agent"].headers)
    again = client.post(path, json={"status": "dismissed"}, headers=staff["agent"].headers)

    assert first.status_code == 200
    assert again.status_code == 409
    assert "already done" in again.json()["detail"]
