"""The value analysis job on a real store: scores, tiers, segments, owners, holdout, bad input."""

import datetime as dt
import math

import pyarrow as pa
from sqlalchemy import func, select

from kehu import value
from kehu.audit import AuditEntry
from kehu.commerce import Order
from kehu.customers import Customer
from kehu.jobs import run_value_analysis
from kehu.users import Role
from kehu.value import CustomerValue, ValueRunStatus, ValueTier
from tests.factories import ACTOR, make_user
from tests.integration.value.conftest import LAST_DAY, load_history


def _scores(session):
    return session.scalars(select(CustomerValue).order_by(CustomerValue.value_rank)).all()


def test_scores_every_customer_with_a_sale(session, history):
    run = run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)

    assert run.status == ValueRunStatus.SUCCEEDED, run.message
    assert run.observation_end == LAST_DAY
    scores = _scores(session)
    assert run.n_customers == 120
    assert (
        run.n_scored == len(scores) == 120 - run.metrics["summary"]["n_first_purchase_on_last_day"]
    )
    n = run.n_scored
    # VIP = ceil(0.2 n), high up to ceil(0.5 n), medium up to ceil(0.8 n).
    sizes = run.metrics["tiers"]
    assert sizes["vip"] == run.n_vip == math.ceil(0.2 * n)
    assert sizes["vip"] + sizes["high"] == math.ceil(0.5 * n)
    assert sizes["vip"] + sizes["high"] + sizes["medium"] == math.ceil(0.8 * n)
    assert sum(sizes.values()) == n
    assert [s.value_rank for s in scores] == list(range(1, n + 1))
    clv = [s.clv for s in scores]
    assert clv == sorted(clv, reverse=True)
    assert {s.tier for s in scores[: sizes["vip"]]} == {ValueTier.VIP}
    assert all(0 <= s.p_alive <= 1 and s.expected_purchases >= 0 for s in scores)
    assert scores[0].value_percentile == 100.0
    assert {"r", "alpha", "a", "b"} == set(run.parameters["purchases"]["params"])
    assert {"p", "q", "v"} == set(run.parameters["spend"]["params"])
    assert float(run.total_clv) == float(sum(clv))
    assert all(s.rfm_segment in {seg.code for seg in _segments()} for s in scores)


def _segments():
    from kehu.analytics.segments import SEGMENTS

    return SEGMENTS.values()


def test_holdout_check_compares_predicted_and_actual(session, history):
    newest = session.scalar(select(func.max(Order.ordered_at))).date()

    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=26)

    holdout = run.metrics["holdout"]
    assert run.observation_end == newest  # by default, the newest order's day
    assert (newest - run.calibration_end).days == 26 * 7
    assert holdout["holdout_weeks"] == 26
    assert holdout["total_actual"] >= 0
    assert holdout["mae"] >= 0
    assert sum(b["n_customers"] for b in holdout["by_frequency"]) == holdout["n_customers"]


def test_vips_get_balanced_stable_owners(session, history):
    first, second = (make_user(session, role=Role.OWNER) for _ in range(2))
    make_user(session, role=Role.AGENT)  # not an owner: never assigned

    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)

    vips = session.execute(
        select(Customer.id, Customer.owner_id)
        .join(CustomerValue, CustomerValue.customer_id == Customer.id)
        .where(CustomerValue.tier == ValueTier.VIP)
    ).all()
    owners = [owner for _, owner in vips]
    assert set(owners) == {first.id, second.id}
    # Greedy balance: the loads (share of customers + share of CLV) differ by at most what
    # one customer adds.
    clv = dict(session.execute(select(CustomerValue.customer_id, CustomerValue.clv)).all())
    total = sum(clv[c] for c, _ in vips)
    load = {
        o: sum(1 / len(vips) + float(clv[c] / total) for c, owner in vips if owner == o)
        for o in (first.id, second.id)
    }
    worst = max(1 / len(vips) + float(clv[c] / total) for c, _ in vips)
    assert abs(load[first.id] - load[second.id]) <= worst
    assert run.n_owner_changes == len(vips)
    audits = session.scalar(
        select(func.count()).where(
            AuditEntry.action == "customer.update", AuditEntry.summary == "owner_id"
        )
    )
    assert audits == len(vips)

    again = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)

    assert again.n_owner_changes == 0
    assert session.execute(
        select(Customer.id, Customer.owner_id).where(Customer.id.in_([c for c, _ in vips]))
    ).all() == sorted(vips)


def test_a_departing_owner_hands_customers_to_the_others(session, history):
    leaving, staying = (make_user(session, role=Role.OWNER) for _ in range(2))
    run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    theirs = list(session.scalars(select(Customer.id).where(Customer.owner_id == leaving.id)))
    assert theirs

    result = value.reassign_customers_of(session, leaving.id, actor=ACTOR)

    assert result.n_assigned == len(theirs)
    assert session.scalar(select(func.count()).where(Customer.owner_id == leaving.id)) == 0
    assert set(session.scalars(select(Customer.owner_id).where(Customer.id.in_(theirs)))) == {
        staying.id
    }


def test_the_run_reassigns_customers_of_inactive_owners(session, history):
    from kehu.users import set_user_active

    leaving, staying = (make_user(session, role=Role.OWNER) for _ in range(2))
    run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    theirs = list(session.scalars(select(Customer.id).where(Customer.owner_id == leaving.id)))
    set_user_active(session, leaving, False, actor=ACTOR)

    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)

    assert run.metrics["owners"]["departed"]["n_assigned"] == len(theirs)
    assert set(session.scalars(select(Customer.owner_id).where(Customer.id.in_(theirs)))) == {
        staying.id
    }


def test_without_owner_users_vips_stay_unassigned_and_the_run_says_so(session, history):
    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)

    assert run.status == ValueRunStatus.SUCCEEDED
    assert f"{run.n_vip} VIP customer(s) have no owner" in run.message
    assert session.scalar(select(func.count()).where(Customer.owner_id.is_not(None))) == 0


def test_no_orders_is_a_failed_run_with_a_reason(session):
    run = run_value_analysis(session, actor=ACTOR)

    assert run.status == ValueRunStatus.FAILED
    assert "no orders" in run.message
    assert run.finished_at is not None
    assert session.scalar(select(func.count()).select_from(CustomerValue)) == 0


def test_one_customer_is_a_failed_run(session):
    from kehu.analytics.clv import simulate_transactions

    log = simulate_transactions(30, random_state=3)
    load_history(session, log.filter(log.column("customer_id").to_numpy() == 0))

    run = run_value_analysis(session, actor=ACTOR)

    assert run.status == ValueRunStatus.FAILED
    assert "the value models need at least 10" in run.message


def test_identical_customers_fail_with_a_reason(session):
    days = [dt.date(2022, 1, 3), dt.date(2022, 1, 10)]
    same = pa.table(
        {
            "customer_id": [c for c in range(20) for _ in days],
            "date": days * 20,
            "amount": [10.0] * 40,
        }
    )
    load_history(session, same, prefix="SAME")

    run = run_value_analysis(session, actor=ACTOR, as_of=dt.date(2022, 1, 17), holdout_weeks=0)

    assert run.status == ValueRunStatus.FAILED, (run.message, run.parameters)
    assert run.message.startswith("The value analysis failed: ")
    assert "identif" in run.message or "same" in run.message, run.message
    assert run.n_customers == 20
    assert session.scalar(select(func.count()).select_from(CustomerValue)) == 0


def test_a_failed_run_keeps_the_previous_scores(session, history):
    good = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    before = session.execute(select(CustomerValue.customer_id, CustomerValue.clv)).all()

    bad = run_value_analysis(session, actor=ACTOR, as_of=dt.date(2019, 1, 1))

    assert bad.status == ValueRunStatus.FAILED
    assert "no orders of known customers on or before 2019-01-01" in bad.message
    assert session.execute(select(CustomerValue.customer_id, CustomerValue.clv)).all() == before
    assert value.latest_value_run(session).id == good.id
    assert value.latest_value_run(session, include_failed=True).id == bad.id


def test_open_tickets_of_new_vips_get_the_vip_promise(session, history):
    from kehu.service import TicketStatus, set_ticket_status
    from tests.factories.service import make_desk, make_ticket

    make_desk(session)
    customers = sorted(set(history.values()))[:30]
    tickets = {
        c: make_ticket(session, customer_id=c, category_code="card_arrival") for c in customers
    }
    resolved = make_ticket(session, customer_id=customers[0], category_code="card_arrival")
    set_ticket_status(session, resolved, TicketStatus.RESOLVED, actor=ACTOR)
    assert {t.tier for t in tickets.values()} == {"default"}

    run = run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)

    assert run.status == ValueRunStatus.SUCCEEDED, run.message
    tiers = {s.customer_id: str(s.tier) for s in _scores(session)}
    for customer_id, ticket in tickets.items():
        session.refresh(ticket)
        assert ticket.tier == tiers.get(customer_id, "default")
    assert "vip" in {t.tier for t in tickets.values()}
    session.refresh(resolved)
    assert resolved.tier == "default"  # a closed ticket keeps the promise it was measured by
