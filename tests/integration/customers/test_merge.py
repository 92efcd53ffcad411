import pytest
from sqlalchemy import select

from kehu.audit import AuditEntry
from kehu.commerce import list_orders
from kehu.core import ConflictError
from kehu.customers import (
    ContactRole,
    Customer,
    add_contact,
    find_customer_by_identity,
    list_identities,
    merge_customers,
    record_consent,
    resolve_customer,
    undo_merge,
)
from kehu.engagement import list_interactions, log_interaction
from tests.factories import make_customer, make_order


def test_two_channels_sharing_a_phone_resolve_to_one_customer(session, actor):
    store = resolve_customer(
        session,
        [("email", "Li.Wei@Example.com"), ("phone", "138 1234 5678")],
        actor=actor,
        source="store",
        defaults={"name": "李伟"},
    )
    wechat = resolve_customer(
        session,
        [("phone", "138-1234-5678"), ("wechat_openid", "oAbC123")],
        actor=actor,
        source="wechat",
    )

    assert store.created
    assert not wechat.created
    assert wechat.customer.id == store.customer.id
    assert wechat.matched_by == "phone"
    kinds = sorted(i.kind for i in list_identities(session, store.customer.id))
    assert kinds == ["email", "phone", "wechat_openid"]
    assert find_customer_by_identity(session, "email", "li.wei@example.com").id == store.customer.id


def test_identities_of_two_customers_report_a_conflict_and_merge_nothing(session, actor):
    a = make_customer(session, identities=[("email", "a@example.com")])
    b = make_customer(session, identities=[("phone", "+4420700000")])

    result = resolve_customer(
        session, [("phone", "+4420700000"), ("email", "a@example.com")], actor=actor
    )

    assert result.customer.id == a.id  # e-mail outranks phone
    assert result.conflicts == [{"kind": "phone", "value": "+4420700000", "customer_id": b.id}]
    assert session.get(Customer, b.id).merged_into_id is None


def test_merge_moves_all_history_and_undo_restores_it(session, actor):
    winner = make_customer(session, name="Winner", phone=None)
    loser = make_customer(session, name="Loser", phone="+441234567", city="Leeds")
    order = make_order(session, loser)
    log_interaction(
        session,
        customer_id=loser.id,
        channel="phone",
        direction="inbound",
        occurred_at=order.ordered_at,
        actor=actor,
        subject="where is my parcel",
    )
    record_consent(
        session, loser, channel="email", purpose="marketing", status="granted", actor=actor
    )
    account = make_customer(session, kind="organisation", name="ACME Ltd")
    add_contact(session, account=account, person=loser, role=ContactRole.PROCUREMENT, actor=actor)

    merge = merge_customers(session, winner_id=winner.id, loser_id=loser.id, actor=actor)
    session.commit()

    assert [o.id for o in list_orders(session, customer_id=winner.id)[0]] == [order.id]
    assert list_interactions(session, customer_id=winner.id)[1] == 1
    assert len(list_identities(session, winner.id)) == 2
    assert session.get(Customer, winner.id).city == "Leeds"
    merged = session.get(Customer, loser.id)
    assert merged.merged_into_id == winner.id
    assert not merged.is_active
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.merge")).all()
    assert [a.object_id for a in audit] == [str(winner.id)]

    undo_merge(session, merge.id, actor=actor)
    session.commit()

    assert list_orders(session, customer_id=winner.id)[1] == 0
    assert [o.id for o in list_orders(session, customer_id=loser.id)[0]] == [order.id]
    assert list_interactions(session, customer_id=loser.id)[1] == 1
    assert len(list_identities(session, winner.id)) == 1
    assert len(list_identities(session, loser.id)) == 1
    assert session.get(Customer, winner.id).city is None
    restored = session.get(Customer, loser.id)
    assert restored.is_active
    assert restored.merged_into_id is None


def test_undo_twice_is_refused(session, actor):
    a, b = make_customer(session), make_customer(session)
    merge = merge_customers(session, winner_id=a.id, loser_id=b.id, actor=actor)
    undo_merge(session, merge.id, actor=actor)

    with pytest.raises(ConflictError, match="already undone"):
        undo_merge(session, merge.id, actor=actor)


def test_merging_into_a_merged_customer_is_refused(session, actor):
    a, b, c = make_customer(session), make_customer(session), make_customer(session)
    merge_customers(session, winner_id=a.id, loser_id=b.id, actor=actor)

    with pytest.raises(ConflictError, match=f"already merged into {a.id}"):
        merge_customers(session, winner_id=b.id, loser_id=c.id, actor=actor)


def test_upserting_the_same_record_twice_changes_nothing(session, actor):
    from kehu.customers import CustomerIn, upsert_customer

    record = CustomerIn(
        external_id="12346",
        name="Ann Lee",
        email="Ann@Example.com",
        country="France",
        identities=[{"kind": "wechat_openid", "value": "o-ann"}],
    )
    first = upsert_customer(session, record, actor=actor)
    second = upsert_customer(session, record, actor=actor)
    changed = upsert_customer(session, record.model_copy(update={"city": "Paris"}), actor=actor)

    assert (first.status, second.status, changed.status) == ("created", "unchanged", "updated")
    assert first.customer.id == second.customer.id == changed.customer.id
    assert changed.changed == ["city"]
    assert first.customer.email == "ann@example.com"
    assert sorted(i.kind for i in list_identities(session, first.customer.id)) == [
        "email",
        "external_id",
        "wechat_openid",
    ]
