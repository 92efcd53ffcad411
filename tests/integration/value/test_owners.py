"""VIP owners on hand-made scores: exact, hand-checked assignments."""

from decimal import Decimal

from sqlalchemy import func, select

from kehu import value
from kehu.audit import AuditEntry
from kehu.core import Actor
from kehu.customers import Customer
from kehu.users import Role
from kehu.value import ValueRunStatus
from tests.factories import ACTOR, make_customer, make_user, make_value_run


def _score(session, clv_by_customer: dict[int, str], tiers: dict[int, str]) -> None:
    run = make_value_run(session)
    ids = list(clv_by_customer)
    ranked = sorted(ids, key=lambda c: -Decimal(clv_by_customer[c]))
    n = len(ids)
    columns = {
        "customer_id": ids,
        "frequency": [1] * n,
        "recency": [1.0] * n,
        "t": [2.0] * n,
        "monetary_value": [Decimal("1.00")] * n,
        "p_alive": [0.5] * n,
        "expected_purchases": [1.0] * n,
        "expected_spend": [Decimal("1.00")] * n,
        "clv": [Decimal(clv_by_customer[c]) for c in ids],
        "value_rank": [ranked.index(c) + 1 for c in ids],
        "value_percentile": [100.0] * n,
        "tier": [tiers[c] for c in ids],
        "rfm_r": [3] * n,
        "rfm_f": [3] * n,
        "rfm_m": [3] * n,
        "rfm_segment": ["need_attention"] * n,
        "total_spend": [Decimal("1.00")] * n,
        "last_purchase_on": [None] * n,
    }
    value.replace_customer_values(session, run, columns, actor=ACTOR)
    value.finish_value_run(session, run, actor=ACTOR, status=ValueRunStatus.SUCCEEDED)


def test_vips_are_spread_by_count_and_value(session):
    a, b = (make_user(session, role=Role.OWNER) for _ in range(2))
    c100, c50, c30, c20, other = (make_customer(session) for _ in range(5))
    _score(
        session,
        {c100.id: "100", c50.id: "50", c30.id: "30", c20.id: "20", other.id: "1"},
        {c100.id: "vip", c50.id: "vip", c30.id: "vip", c20.id: "vip", other.id: "low"},
    )

    result = value.assign_vip_owners(session, actor=Actor.system("test"))

    # N = 4, V = 200: 100 -> a (a 0.75); 50 -> b (b 0.5); 30 -> b (b 0.9); 20 -> a.
    assert {c: session.get(Customer, c).owner_id for c in (c100.id, c50.id, c30.id, c20.id)} == {
        c100.id: a.id,
        c50.id: b.id,
        c30.id: b.id,
        c20.id: a.id,
    }
    assert other.owner_id is None
    assert (result.n_assigned, result.n_kept, result.n_unassigned) == (4, 0, 0)
    audits = session.scalars(
        select(AuditEntry.changes).where(AuditEntry.action == "customer.update")
    ).all()
    assert sorted(change["owner_id"][1] for change in audits) == sorted([a.id, a.id, b.id, b.id])


def test_existing_owners_count_in_the_load_and_are_kept(session):
    a, b = (make_user(session, role=Role.OWNER) for _ in range(2))
    kept = make_customer(session, owner_id=a.id)
    new = make_customer(session)
    _score(session, {kept.id: "100", new.id: "90"}, {kept.id: "vip", new.id: "vip"})

    result = value.assign_vip_owners(session, actor=ACTOR)

    assert (kept.owner_id, new.owner_id) == (a.id, b.id)
    assert (result.n_kept, result.n_assigned) == (1, 1)


def test_an_inactive_or_non_owner_user_loses_the_vip(session):
    owner = make_user(session, role=Role.OWNER)
    agent = make_user(session, role=Role.AGENT)
    vip = make_customer(session, owner_id=agent.id)
    _score(session, {vip.id: "10"}, {vip.id: "vip"})

    value.assign_vip_owners(session, actor=ACTOR)

    assert vip.owner_id == owner.id


def test_reassigning_without_other_owners_leaves_customers_unowned(session):
    leaving = make_user(session, role=Role.OWNER)
    mine = make_customer(session, owner_id=leaving.id)

    result = value.reassign_customers_of(session, leaving.id, actor=ACTOR)

    assert mine.owner_id is None
    assert result.n_unassigned == 1
    assert "No other active owner" in result.message
    assert session.scalar(select(func.count()).where(AuditEntry.action == "customer.update")) == 1
