"""Relationship console pages: tasks, cadence, surprises, rules with a dry run, referrals, 360."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from kehu.playbooks.rules import seed_default_rules
from kehu.relations import Task, TaskStatus, list_touches
from kehu.users import find_user_by_email
from tests.factories import ACTOR, make_customer
from tests.factories.relations import make_relations
from tests.factories.service import make_ticket
from tests.integration.web.conftest import csrf_of


def test_every_page_renders_for_an_agent_and_management_forms_are_hidden(agent_client, session):
    customer = make_customer(session, name="Ada Lovelace")
    ids = make_relations(session, customer.id)
    # Record-level access (docs/access.md): the agent owns the task and has a ticket of Ada's.
    agent = find_user_by_email(session, "agent@example.com")
    session.get(Task, ids["task"]).owner_id = agent.id
    make_ticket(session, customer_id=customer.id)
    session.commit()

    pages = {
        path: agent_client.get(path)
        for path in (
            "/relations",
            "/relations/cadence",
            "/relations/surprises",
            "/relations/rules",
            "/relations/referrals",
            f"/customers/{customer.id}/lately",
        )
    }

    assert {path: r.status_code for path, r in pages.items()} == dict.fromkeys(pages, 200)
    assert "Call them" in pages["/relations"].text
    assert 'data-testid="rules-preview"' not in pages["/relations/rules"].text
    assert "Free check-up" in pages["/relations/cadence"].text
    assert "Too few to tell" in pages["/relations/surprises"].text
    assert "Referrer" in pages["/relations/referrals"].text
    assert 'data-testid="lately-panel"' in pages[f"/customers/{customer.id}/lately"].text


def test_closing_a_task_from_the_dashboard(admin_client, session):
    customer = make_customer(session)
    ids = make_relations(session, customer.id)
    session.commit()

    response = admin_client.post(
        f"/relations/tasks/{ids['task']}/close",
        data={"csrf_token": csrf_of(admin_client, "/relations"), "status": "done", "note": "ok"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.expire_all()
    assert session.get(Task, ids["task"]).status == TaskStatus.DONE


def test_a_bad_rule_is_refused_with_the_reason_and_nothing_is_stored(admin_client, session):
    token = csrf_of(admin_client, "/relations/rules")

    response = admin_client.post(
        "/relations/rules",
        data={
            "csrf_token": token,
            "name": "bad",
            "when": '["favourite_colour", "eq", "red"]',
            "title": "x",
        },
    )

    assert response.status_code == 200
    assert "unknown field" in response.text
    assert "favourite_colour" in response.text
    assert admin_client.get("/relations/rules").text.count("<strong>bad</strong>") == 0


def test_dry_run_preview_lists_plans_and_changes_nothing(admin_client, session):
    customer = make_customer(session, name="Unowned VIP")
    seed_default_rules(session, actor=ACTOR)
    session.commit()
    before = session.scalar(select(func.count()).select_from(Task))

    response = admin_client.post(
        "/relations/rules/preview", data={"csrf_token": csrf_of(admin_client, "/relations/rules")}
    )

    assert response.status_code == 200
    assert "Dry run: nothing was changed" in response.text
    assert session.scalar(select(func.count()).select_from(Task)) == before
    del customer


def test_logging_a_touch_from_the_360(admin_client, session):
    customer = make_customer(session)
    session.commit()

    response = admin_client.post(
        f"/customers/{customer.id}/touches",
        data={
            "csrf_token": csrf_of(admin_client, f"/customers/{customer.id}"),
            "kind": "gift",
            "subject": "Sent a card",
            "occurred_on": "2026-11-20",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    touches = list_touches(session, customer.id)
    assert [(t.kind, t.subject) for t in touches] == [("gift", "Sent a card")]
    assert touches[0].occurred_at == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
