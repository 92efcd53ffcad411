"""Recommendations sent out spend the one contact budget (issue 7 §5); pull channels do not."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy import select

from kehu.commerce import LineInput
from kehu.core import utcnow
from kehu.customers import record_consent
from kehu.jobs.recommend import forget_loaded_recommender
from kehu.relations import (
    ContactDecision,
    ContactLedgerEntry,
    spend_contact,
    update_relation_settings,
)
from tests.factories import ACTOR, make_customer, make_order

URL = "/api/v1/customers/{}/recommendations"


@pytest.fixture
def buyer(app, session, test_settings, tmp_path):
    """A customer who bought, consented to marketing e-mail; popular items are served."""
    app.state.settings = test_settings.model_copy(update={"model_dir": tmp_path / "models"})
    forget_loaded_recommender()
    customer = make_customer(session, name="Budget buyer")
    other = make_customer(session, name="Other buyer")
    day = datetime(2010, 3, 1, 10, tzinfo=UTC)
    for n, (who, basket) in enumerate(
        [(customer, ["TEA", "CUP"]), (other, ["TEA", "POT"]), (other, ["JAM", "CUP"])]
    ):
        make_order(
            session,
            who,
            ordered_at=day + timedelta(days=n),
            lines=[LineInput(sku=sku, quantity=1, unit_price=Decimal("2.00")) for sku in basket],
        )
    for channel in ("email", "sms"):
        record_consent(
            session, customer, channel=channel, purpose="marketing", status="granted", actor=ACTOR
        )
    session.commit()
    yield customer
    forget_loaded_recommender()


def _ledger(session, customer):
    session.expire_all()
    return session.scalars(
        select(ContactLedgerEntry)
        .where(ContactLedgerEntry.customer_id == customer.id)
        .order_by(ContactLedgerEntry.id)
    ).all()


def test_a_list_shown_on_the_web_is_not_a_contact(client, session, admin, buyer):
    statements = []
    engine = session.get_bind().engine

    def count(conn, cursor, statement, *args):
        statements.append(statement.lower())

    sql_event.listen(engine, "before_cursor_execute", count)
    try:
        web = client.get(URL.format(buyer.id), params={"channel": "web"}, headers=admin)
    finally:
        sql_event.remove(engine, "before_cursor_execute", count)

    assert web.status_code == 200, web.text
    assert web.json()["n_recorded"] > 0
    assert _ledger(session, buyer) == []
    # The pull path asks nothing of the budget: not one query more.
    assert not [s for s in statements if "contact_ledger" in s or "relation_settings" in s]


def test_an_email_list_spends_one_contact_and_a_retry_spends_nothing(client, session, admin, buyer):
    params = {"channel": "email", "serve_id": "mail-1"}
    first = client.get(URL.format(buyer.id), params=params, headers=admin).json()
    again = client.get(URL.format(buyer.id), params=params, headers=admin).json()

    assert first["count"] > 0
    assert first["channel_closed"] is None
    assert again["count"] == first["count"]
    ledger = _ledger(session, buyer)
    assert [(e.playbook, e.decision, e.channel, e.reference) for e in ledger] == [
        ("recommendations", ContactDecision.SENT, "email", "serve:mail-1")
    ]


def test_a_spent_budget_withholds_the_list_and_logs_why(client, session, admin, buyer):
    update_relation_settings(session, {"contact_budget": 1}, actor=ACTOR)
    spend_contact(session, customer_id=buyer.id, playbook="cadence", actor=ACTOR, channel="phone")
    session.commit()

    body = client.get(URL.format(buyer.id), params={"channel": "sms"}, headers=admin).json()

    assert body["data"] == []
    assert body["count"] == 0
    assert body["n_recorded"] == 0
    assert body["channel_closed"]["reason"] == "contact_budget"
    refused = _ledger(session, buyer)[-1]
    assert refused.playbook == "recommendations"
    assert refused.decision == ContactDecision.DROPPED  # priority 40 < 50: dropped, not waiting
    assert "1 of 1 contacts" in refused.reason


def test_a_budget_of_zero_is_explained_not_a_500(client, session, admin, buyer):
    update_relation_settings(session, {"contact_budget": 0}, actor=ACTOR)
    session.commit()

    response = client.get(URL.format(buyer.id), params={"channel": "email"}, headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["channel_closed"]["reason"] == "contact_budget"
    assert "budget is 0" in _ledger(session, buyer)[-1].reason


def test_waiting_playbooks_get_a_retry_time(client, session, admin, buyer):
    update_relation_settings(
        session,
        {"contact_budget": 1, "wait_min_priority": 10},  # recommendations (40) now wait
        actor=ACTOR,
    )
    spend_contact(session, customer_id=buyer.id, playbook="service", actor=ACTOR)
    session.commit()

    body = client.get(URL.format(buyer.id), params={"channel": "email"}, headers=admin).json()

    assert body["channel_closed"]["reason"] == "contact_budget"
    assert body["channel_closed"]["until"] is not None
    assert _ledger(session, buyer)[-1].decision == ContactDecision.WAITED


def test_impressions_reported_for_lists_sent_elsewhere_count_once(client, session, admin, buyer):
    at = (utcnow() - timedelta(hours=1)).isoformat()
    mail = [
        {
            "event_id": f"m{n}",
            "kind": "impression",
            "customer_id": buyer.id,
            "item_id": sku,
            "channel": "email",
            "serve_id": "newsletter-7",
            "occurred_at": at,
        }
        for n, sku in enumerate(["TEA", "CUP", "POT"])
    ]
    web = [{**mail[0], "event_id": "w1", "channel": "web", "serve_id": "page-1"}]

    first = client.post("/api/v1/events", json={"events": mail + web}, headers=admin)
    again = client.post("/api/v1/events", json={"events": mail}, headers=admin)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    ledger = _ledger(session, buyer)
    assert [(e.decision, e.channel, e.reference) for e in ledger] == [
        (ContactDecision.SENT, "email", "serve:newsletter-7")
    ]


def test_a_reported_list_uses_the_budget_of_later_playbooks(client, session, admin, buyer):
    update_relation_settings(session, {"contact_budget": 1}, actor=ACTOR)
    session.commit()
    shown = {
        "event_id": "s1",
        "kind": "impression",
        "customer_id": buyer.id,
        "item_id": "TEA",
        "channel": "sms",
        "occurred_at": (utcnow() - timedelta(minutes=5)).isoformat(),
    }
    assert client.post("/api/v1/events", json={"events": [shown]}, headers=admin).status_code == 200

    verdict = spend_contact(session, customer_id=buyer.id, playbook="campaign", actor=ACTOR)

    assert verdict.decision == ContactDecision.DROPPED
