"""A value run stores its dashboards' figures; they equal a direct computation (issue 8 §3).

Also the owner's list ("my customers"), read in CLV order from the index at scale."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import select, update

from kehu.commerce import LineInput, Order, OrderKind, create_order
from kehu.customers import Customer
from kehu.engagement import log_interaction
from kehu.jobs.value import run_value_analysis
from kehu.users import Role
from kehu.value import (
    CustomerValue,
    ValueRun,
    ValueTier,
    dashboard_figures,
    list_owner_customers,
    stored_dashboard_figures,
)
from tests.factories import ACTOR, make_customer, make_user
from tests.integration.value.conftest import LAST_DAY


def _scores(session):
    return session.execute(
        select(CustomerValue.value_rank, CustomerValue.tier, CustomerValue.clv).order_by(
            CustomerValue.value_rank
        )
    ).all()


def _add_a_return_and_a_euro_order(session):
    customer = make_customer(session)
    for external_id, quantity in (("EUR-1", 2), ("EUR-2", -1)):  # a sale, then a return
        create_order(
            session,
            actor=ACTOR,
            customer_id=customer.id,
            external_id=external_id,
            ordered_at=dt.datetime(2021, 6, 1, 12, tzinfo=dt.UTC),
            currency="EUR",
            lines=[LineInput(sku="EUR-SKU", quantity=quantity, unit_price=Decimal("19.99"))],
        )


def test_a_run_stores_figures_equal_to_a_direct_computation(session, history):
    _add_a_return_and_a_euro_order(session)

    run = run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    session.commit()

    assert run.status == "succeeded", run.message
    figures = stored_dashboard_figures(run)
    assert figures is not None
    assert figures.stored
    scores = _scores(session)
    n = len(scores)
    total = sum(clv for _, _, clv in scores)
    # Tiers: counts, CLV, and both shares.
    count = Counter(tier for _, tier, _ in scores)
    value = defaultdict(Decimal)
    for _, tier, clv in scores:
        value[tier] += clv
    assert [t.tier for t in figures.tiers] == list(ValueTier)
    for size in figures.tiers:
        assert size.n_customers == count[size.tier]
        assert size.clv == value[size.tier]
        assert abs(size.customer_share - count[size.tier] / n) < 1e-12
        assert abs(size.value_share - float(value[size.tier] / total)) < 1e-9
    # Pareto: the top 20 % of customers, and every point a top-k sum.
    top = round(0.2 * n)
    assert (
        abs(figures.pareto_share_at - float(sum(c for r, _, c in scores if r <= top) / total))
        < 1e-9
    )
    assert (figures.pareto[0].customer_share, figures.pareto[0].value_share) == (0.0, 0.0)
    for point in figures.pareto[1:]:
        k = round(point.customer_share * n)
        assert abs(point.value_share - float(sum(c for r, _, c in scores if r <= k) / total)) < 1e-9
    assert figures.pareto[-1].customer_share == 1.0
    # Histogram: every customer in exactly the bin of their CLV.
    bins = figures.histogram
    assert len(bins) == 20
    assert (bins[0].lower, bins[-1].upper) == (scores[-1].clv, scores[0].clv)
    for i, b in enumerate(bins):
        last = i == len(bins) - 1
        inside = [
            c for _, _, c in scores if b.lower <= c and (c < b.upper or (last and c == b.upper))
        ]
        assert b.n_customers == len(inside), (i, b)
    # Orders: every order in the store, returns apart, net value per currency.
    orders = session.scalars(select(Order)).all()
    revenue = defaultdict(Decimal)
    for order in orders:
        revenue[order.currency] += order.total
    assert figures.orders.n_orders == sum(o.kind == OrderKind.SALE for o in orders)
    assert figures.orders.n_returns == sum(o.kind == OrderKind.RETURN for o in orders) >= 1
    assert figures.orders.revenue == dict(revenue)
    assert set(revenue) == {"EUR", "GBP"}


def test_a_failed_run_stores_no_figures(session):
    run = run_value_analysis(session, actor=ACTOR)

    assert run.status == "failed"
    assert run.dashboard_figures is None
    assert stored_dashboard_figures(run) is None


def test_an_older_run_without_figures_gets_them_computed_live_and_not_written(session, history):
    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    stored = stored_dashboard_figures(run)
    session.execute(update(ValueRun).where(ValueRun.id == run.id).values(dashboard_figures=None))
    session.commit()
    session.refresh(run)

    live = dashboard_figures(session, run)

    assert stored is not None
    assert not live.stored
    assert live.model_dump(exclude={"computed_at", "stored"}) == stored.model_dump(
        exclude={"computed_at", "stored"}
    )
    assert session.scalar(select(ValueRun.dashboard_figures).where(ValueRun.id == run.id)) is None


def test_stored_figures_of_an_unknown_shape_are_recomputed(session, history):
    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    run.dashboard_figures = {"tiers": "not a list"}
    session.flush()

    assert stored_dashboard_figures(run) is None
    assert not dashboard_figures(session, run).stored


def test_the_summary_api_serves_the_stored_figures(client, session, staff, history):
    run = run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    session.commit()
    # Scores changed behind the run's back: the summary still shows what the run stored.
    session.execute(update(CustomerValue).values(tier=ValueTier.LOW))
    session.commit()

    summary = client.get("/api/v1/value/summary", headers=staff["agent"].headers).json()

    tiers = {t["tier"]: t["n_customers"] for t in summary["tiers"]}
    assert tiers["vip"] == run.n_vip > 0
    assert summary["figures_computed_at"] is not None
    assert summary["tiers"] == run.dashboard_figures["tiers"]
    assert summary["pareto"] == run.dashboard_figures["pareto"]
    assert summary["histogram"] == run.dashboard_figures["histogram"]


def test_an_owners_customers_page_through_scored_then_unscored(session, history):
    run_value_analysis(session, actor=ACTOR, holdout_weeks=0)
    owner = make_user(session, Role.OWNER, email="pager@example.com")
    scored = session.execute(
        select(CustomerValue.customer_id, CustomerValue.clv).order_by(CustomerValue.customer_id)
    ).all()[::17]  # 8 scored customers, CLVs in no particular order
    unscored = [make_customer(session).id for _ in range(4)]
    mine = [customer_id for customer_id, _ in scored] + unscored
    session.execute(update(Customer).where(Customer.id.in_(mine)).values(owner_id=owner.id))
    log_interaction(
        session,
        customer_id=unscored[1],
        channel="phone",
        direction="outbound",
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2, hours=1),
        subject="Call",
        actor=ACTOR,
    )
    session.commit()

    pages = [list_owner_customers(session, owner.id, limit=3, offset=o) for o in range(0, 15, 3)]

    by_value = [c for c, _ in sorted(scored, key=lambda row: (-row[1], row[0]))]
    assert [row.customer_id for rows, _ in pages for row in rows] == by_value + unscored
    assert {count for _, count in pages} == {12}
    rows = [row for page, _ in pages for row in page]
    assert [row.clv is None for row in rows] == [False] * 8 + [True] * 4
    assert [row.days_since_contact for row in rows] == [None] * 9 + [2, None, None]
    assert list_owner_customers(session, owner.id, limit=3, offset=30) == ([], 12)
