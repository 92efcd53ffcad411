"""Exporting one person's data: every table that points at them, audited, via API and CLI."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kehu.audit import AuditEntry
from kehu.core import NotFoundError
from kehu.customers import add_contact, customer_reference_columns, merge_customers, record_consent
from kehu.engagement import log_interaction
from kehu.privacy import EXPORT_FORMAT, export_customer
from tests.factories import ACTOR, make_customer, make_order
from tests.factories.service import make_ticket


def _person(session):
    """A customer with something in most features, and a stranger with data of their own."""
    ada = make_customer(
        session,
        name="Ada Lovelace",
        email="ada@example.com",
        phone="+44 20 1",
        identities=[("email", "ada@example.com")],
    )
    stranger = make_customer(
        session, name="Someone Else", identities=[("email", "else@example.com")]
    )
    record_consent(
        session, ada, channel="email", purpose="marketing", status="granted", actor=ACTOR
    )
    make_order(session, ada, ordered_at=datetime(2010, 4, 1, tzinfo=UTC))
    make_order(session, stranger)
    log_interaction(
        session,
        customer_id=ada.id,
        channel="phone",
        direction="inbound",
        occurred_at=datetime(2010, 4, 2, tzinfo=UTC),
        actor=ACTOR,
        text="Asked about delivery",
    )
    make_ticket(session, customer_id=ada.id, body="Where is my parcel, please?")
    make_ticket(session, customer_id=stranger.id, body="Not Ada's message")
    account = make_customer(session, name="Acme Ltd", kind="organisation")
    add_contact(session, account=account, person=ada, role="procurement", actor=ACTOR)
    session.flush()
    return ada, stranger


def test_the_export_holds_every_table_of_the_person_and_nothing_of_anyone_else(session):
    ada, stranger = _person(session)
    twin = make_customer(session, name="Ada L.", identities=[("email", "ada.l@example.com")])
    merge_customers(session, winner_id=ada.id, loser_id=twin.id, actor=ACTOR)

    document = export_customer(session, ada.id, actor=ACTOR)
    data = json.loads(json.dumps(document.model_dump(mode="json")))  # plain JSON all the way

    assert data["format"] == EXPORT_FORMAT
    assert data["customer"]["email"] == "ada@example.com"
    assert [c["id"] for c in data["merged_customers"]] == [twin.id]
    records, related = data["records"], data["related"]
    values = {row["value"] for row in records["identities"]}
    assert {"ada@example.com", "ada.l@example.com"} <= values  # the twin's identity moved over
    assert [row["purpose"] for row in records["consents"]] == ["marketing"]
    assert len(records["orders"]) == 1
    assert records["orders"][0]["customer_id"] == ada.id
    order_id = records["orders"][0]["id"]
    assert [line["order_id"] for line in related["order_lines"]] == [order_id]
    assert records["interactions"][0]["text"] == "Asked about delivery"
    assert len(records["service_tickets"]) == 1
    bodies = [m["body"] for m in related["service_messages"]]
    assert bodies == ["Where is my parcel, please?"]
    assert [c["person_id"] for c in records["contacts"]] == [ada.id]
    # Nothing of the stranger's anywhere in the document.
    assert "Not Ada's message" not in json.dumps(data)
    assert "else@example.com" not in json.dumps(data)
    assert all(
        row.get("customer_id") in (None, ada.id) for rows in records.values() for row in rows
    )
    del stranger


def test_every_table_pointing_at_customers_is_discovered_from_the_foreign_keys():
    import kehu.models  # noqa: F401

    names = {column.table.name for column in customer_reference_columns()}
    expected = {
        "identities", "contacts", "consents", "orders", "interactions", "service_tickets",
        "voice_posts", "recommendation_events", "customer_values", "customer_health",
        "relation_tasks", "relation_contact_ledger",
    }  # fmt: skip
    assert expected <= names
    assert "customer_merges" not in names


def test_the_export_is_audited_without_the_personal_data(session):
    ada, _ = _person(session)
    export_customer(session, ada.id, actor=ACTOR)
    session.flush()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.export")).one()
    assert entry.object_id == str(ada.id)
    assert entry.changes["rows"]["orders"] == 1
    assert entry.changes["rows"]["order_lines"] == 1
    text = entry.summary + json.dumps(entry.changes)
    assert "ada@example.com" not in text
    assert "Ada" not in text


def test_an_unknown_customer_is_a_not_found_error_and_nothing_is_audited(session):
    with pytest.raises(NotFoundError):
        export_customer(session, 987654, actor=ACTOR)
    session.flush()
    assert (
        session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.export")).all()
        == []
    )


def test_api_export_answers_managers_the_document_and_unknown_customers_404(client, session, staff):
    ada, _ = _person(session)
    session.commit()
    answer = client.get(f"/api/v1/customers/{ada.id}/export", headers=staff["manager"].headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["customer_id"] == ada.id
    assert body["records"]["orders"][0]["customer_id"] == ada.id
    assert "order_lines" in body["related"]
    session.expire_all()
    audited = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "customer.export")
    ).all()
    assert [entry.actor_user_id for entry in audited] == [staff["manager"].user.id]

    refused = client.get(f"/api/v1/customers/{ada.id}/export", headers=staff["agent"].headers)
    assert refused.status_code == 403
    missing = client.get("/api/v1/customers/987654/export", headers=staff["admin"].headers)
    assert missing.status_code == 404
    assert "987654" in missing.json()["detail"]
    bad = client.get("/api/v1/customers/zero/export", headers=staff["admin"].headers)
    assert bad.status_code == 422
