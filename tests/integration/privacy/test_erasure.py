"""Erasure: a person blanked, the business's accounts kept, their identities blocked for good."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kehu.audit import AuditEntry
from kehu.commerce import Order, OrderLine
from kehu.core import ConflictError, NotFoundError
from kehu.customers import (
    Customer,
    Identity,
    add_contact,
    add_identity,
    create_customer,
    get_customer,
    merge_customers,
    resolve_customer,
)
from kehu.engagement import Interaction, log_interaction
from kehu.ingest import run_import
from kehu.privacy import ERASED_NAME, ErasureTombstone, erase_customer, export_customer
from kehu.service import AuthorKind, TicketMessage
from tests.factories import ACTOR, make_customer, make_order
from tests.factories.service import make_ticket

EMAIL = "ada@example.com"


def _ada(session):
    ada = make_customer(
        session,
        name="Ada Lovelace",
        phone="+44 20 7946 0000",
        city="London",
        external_id="ADA-1",
        identities=[("email", EMAIL), ("wechat_openid", "oAda")],
    )
    make_order(session, ada, ordered_at=datetime(2010, 4, 1, tzinfo=UTC))
    log_interaction(
        session,
        customer_id=ada.id,
        channel="phone",
        direction="inbound",
        occurred_at=datetime(2010, 4, 2, tzinfo=UTC),
        actor=ACTOR,
        subject="Ada called",
        text="Ada Lovelace asked about delivery",
    )
    make_ticket(session, customer_id=ada.id, subject="Parcel", body="I am Ada, where is it?")
    account = make_customer(session, name="Acme Ltd", kind="organisation")
    add_contact(session, account=account, person=ada, role="procurement", actor=ACTOR)
    session.flush()
    return ada


def test_erasure_blanks_the_person_and_keeps_the_orders_on_the_anonymous_record(session):
    ada = _ada(session)
    other = make_customer(session, name="Bob", identities=[("email", "bob@example.com")])
    n_lines = session.scalar(select(func.count()).select_from(OrderLine))

    result = erase_customer(session, ada.id, actor=ACTOR)

    erased = get_customer(session, ada.id)
    assert erased.name == ERASED_NAME
    assert not erased.is_active
    assert (erased.email, erased.phone, erased.city, erased.external_id) == (None,) * 4
    assert session.scalars(select(Identity).where(Identity.customer_id == ada.id)).all() == []
    assert result.rows["identities"] == 2  # e-mail, WeChat (phone, external id: fields)
    assert result.rows["contacts"] == 1
    # The orders stay for the accounts, on the anonymous record.
    assert session.scalar(select(func.count()).where(Order.customer_id == ada.id)) == 1
    assert session.scalar(select(func.count()).select_from(OrderLine)) == n_lines
    interaction = session.scalars(
        select(Interaction).where(Interaction.customer_id == ada.id)
    ).one()
    assert (interaction.subject, interaction.text) == ("", "")
    bodies = session.scalars(
        select(TicketMessage.body).where(TicketMessage.author_kind == AuthorKind.CUSTOMER)
    ).all()
    assert bodies == [""]
    # Nothing personal survives anywhere in the export of the erased record.
    document = json.dumps(export_customer(session, ada.id, actor=ACTOR).model_dump(mode="json"))
    for personal in ("Ada", "ada@example.com", "7946", "London", "ADA-1", "oAda"):
        assert personal not in document, personal
    # Someone else is untouched.
    assert get_customer(session, other.id).name == "Bob"


def test_the_audit_keeps_the_fact_but_none_of_the_erased_data(session):
    ada = _ada(session)
    erase_customer(session, ada.id, actor=ACTOR)
    session.flush()
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_type == "customer", AuditEntry.object_id == str(ada.id)
        )
    ).all()
    assert "customer.erase" in {e.action for e in entries}
    text = json.dumps([[e.summary, e.changes] for e in entries])
    for personal in ("Ada", "ada@example.com", "ADA-1", "oAda", "7946"):
        assert personal not in text, personal
    tombstones = session.scalars(select(ErasureTombstone.digest)).all()
    assert len(tombstones) >= 4
    assert all(len(d) == 64 for d in tombstones)
    assert not any(EMAIL in d for d in tombstones)


def test_an_erased_identity_is_refused_when_it_comes_back(session):
    ada = _ada(session)
    erase_customer(session, ada.id, actor=ACTOR)

    with pytest.raises(ConflictError, match="erased"), session.begin_nested():
        create_customer(
            session, actor=ACTOR, name="Ada again", identities=[("email", "ADA@example.com ")]
        )
    assert "Ada again" not in set(session.scalars(select(Customer.name)))


def test_resolution_refuses_an_erased_identity_but_not_a_new_one(session):
    ada = _ada(session)
    erase_customer(session, ada.id, actor=ACTOR)
    with pytest.raises(ConflictError, match="erased"), session.begin_nested():
        resolve_customer(session, [("wechat_openid", "oAda")], actor=ACTOR)
    fresh = resolve_customer(session, [("email", "new@example.com")], actor=ACTOR)
    assert fresh.created
    with pytest.raises(ConflictError, match="erased"), session.begin_nested():
        add_identity(session, fresh.customer, "phone", "+44 20 7946 0000", actor=ACTOR)


def test_an_import_of_an_erased_person_is_refused_row_by_row(session):
    ada = _ada(session)
    erase_customer(session, ada.id, actor=ACTOR)
    csv = (
        "external_id,name,email\n"
        "ADA-1,Ada Lovelace,someone@example.com\n"  # the erased external id
        "X-2,A. Lovelace,ada@example.com\n"  # the erased e-mail
        "X-3,Grace Hopper,grace@example.com\n"
    )
    run = run_import(session, kind="customers", data=csv.encode(), filename="c.csv", actor=ACTOR)
    assert run.n_errors == 2, run.errors
    assert all("erased" in str(error) for error in run.errors)
    names = set(session.scalars(select(Customer.name)))
    assert "Grace Hopper" in names
    assert "Ada Lovelace" not in names
    assert "A. Lovelace" not in names


def test_erasing_follows_merges_and_refuses_a_merged_away_record(session):
    ada = _ada(session)
    twin = make_customer(session, name="Ada L.", identities=[("email", "ada.l@example.com")])
    merge_customers(session, winner_id=ada.id, loser_id=twin.id, actor=ACTOR)
    with pytest.raises(ConflictError, match=str(ada.id)):
        erase_customer(session, twin.id, actor=ACTOR)
    result = erase_customer(session, ada.id, actor=ACTOR)
    assert sorted(result.erased_customer_ids) == sorted([ada.id, twin.id])
    assert get_customer(session, twin.id).name == ERASED_NAME
    with pytest.raises(NotFoundError):
        erase_customer(session, 987654, actor=ACTOR)


def test_api_erase_is_for_admins_and_answers_the_counts(client, session, staff):
    ada = _ada(session)
    session.commit()
    url = f"/api/v1/customers/{ada.id}/erase"
    refused = client.post(url, headers=staff["manager"].headers)
    assert refused.status_code == 403
    done = client.post(url, headers=staff["admin"].headers)
    assert done.status_code == 200, done.text
    assert done.json()["rows"]["identities"] == 2
    again = client.post(
        "/api/v1/customers",
        json={"name": "Ada", "email": EMAIL},
        headers=staff["admin"].headers,
    )
    assert again.status_code == 409, again.text
    assert "erased" in again.json()["detail"]
    missing = client.post("/api/v1/customers/987654/erase", headers=staff["admin"].headers)
    assert missing.status_code == 404
