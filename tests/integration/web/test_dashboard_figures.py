"""The home and value dashboards read the figures a value run stored (issue 8 §3)."""

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import delete, select, update

from kehu.commerce import LineInput, Order, OrderKind, create_order
from kehu.jobs.value import run_value_analysis
from kehu.users import Role
from kehu.value import CustomerValue, ValueRun, ValueTier
from tests.factories import make_customer, make_order, make_user
from tests.integration.web.test_value_pages import ACTOR, seed_value_data


@pytest.fixture
def scored(session):
    """The value pages' seeded orders (66 buyers, 405 orders), an owner, one analysis."""
    make_user(session, Role.OWNER, email="owner@example.com", name="Olivia Owner")
    seed_value_data(session)
    run = run_value_analysis(session, actor=ACTOR)
    session.commit()
    assert run.status == "succeeded", run.message
    return run


def _testid(html: str, testid: str) -> list[str]:
    found = re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</span>', html, re.S)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", text))).strip() for text in found]


def _direct_order_figures(session) -> tuple[str, list[str]]:
    """Count and sum every order in Python, as the page should show them."""
    orders = session.scalars(select(Order)).all()
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        revenue[order.currency] += order.total
    n_sales = sum(order.kind == OrderKind.SALE for order in orders)
    return f"{n_sales:,}", [f"{revenue[c]:,.2f} {c}" for c in sorted(revenue)]


def _returns(html: str) -> str:
    note = re.search(r'data-testid="n-orders".*?class="stat-note">([^<]*)<', html, re.S)
    assert note
    return note[1].strip()


def test_home_counts_the_orders_live_before_any_analysis(admin_client, session):
    for _ in range(3):
        customer = make_customer(session)
        make_order(session, customer)
    session.commit()

    html = admin_client.get("/").text

    n_orders, revenue = _direct_order_figures(session)
    assert _testid(html, "n-orders") == [n_orders] == ["3"]
    assert _testid(html, "revenue") == revenue
    assert "orders-as-of" not in html


def test_home_shows_the_last_analysis_figures_and_says_when(admin_client, session, scored):
    n_orders, revenue = _direct_order_figures(session)
    n_returns = session.scalars(select(Order).where(Order.kind == OrderKind.RETURN)).all()

    html = admin_client.get("/").text

    assert _testid(html, "n-orders") == [n_orders]
    assert _returns(html) == f"{len(n_returns)} returns"
    assert _testid(html, "revenue") == revenue
    assert _testid(html, "orders-as-of")[0].startswith("as of the last analysis, ")
    assert "revenue-as-of" in html


def test_home_keeps_the_analysis_figures_until_the_next_analysis(admin_client, session, scored):
    before = _direct_order_figures(session)
    customer = session.scalar(select(CustomerValue.customer_id).limit(1))
    create_order(
        session,
        actor=ACTOR,
        customer_id=customer,
        external_id="LATE-1",
        ordered_at=datetime(2011, 7, 1, 12, tzinfo=UTC),
        lines=[LineInput(sku="LATE", quantity=1, unit_price=Decimal("1000.00"))],
    )
    session.commit()

    stale = admin_client.get("/").text
    run_value_analysis(session, actor=ACTOR)
    session.commit()
    fresh = admin_client.get("/").text

    after = _direct_order_figures(session)
    assert (_testid(stale, "n-orders"), _testid(stale, "revenue")) == ([before[0]], before[1])
    assert (_testid(fresh, "n-orders"), _testid(fresh, "revenue")) == ([after[0]], after[1])
    assert after != before


def test_value_dashboard_shows_what_the_run_stored(admin_client, session, scored):
    # Scores changed behind the run's back: the cards and charts still show the run's figures.
    session.execute(delete(CustomerValue).where(CustomerValue.tier == ValueTier.LOW))
    session.commit()

    html = admin_client.get("/value").text

    counts = {t: _testid(html, f"tier-{t}-count")[0] for t in ("vip", "high", "medium", "low")}
    assert counts == {"vip": "14", "high": "19", "medium": "20", "low": "13"}
    assert len(_testid(html, "figures-at")) == 1
    assert "figures-live" not in html
    histogram = re.search(r'id="clv-histogram-data">(.*?)</script>', html, re.S)
    assert histogram
    assert sum(json.loads(histogram[1])["counts"]) == 66


def test_value_dashboard_of_an_older_run_computes_live_and_says_so(admin_client, session, scored):
    session.execute(update(ValueRun).values(dashboard_figures=None))
    session.commit()

    html = admin_client.get("/value").text

    counts = {t: _testid(html, f"tier-{t}-count")[0] for t in ("vip", "high", "medium", "low")}
    assert counts == {"vip": "14", "high": "19", "medium": "20", "low": "13"}
    assert "Run the analysis again to store them." in html
    assert "figures-at" not in html
    assert session.scalar(select(ValueRun.dashboard_figures)) is None  # a visit writes nothing
    home = admin_client.get("/").text
    assert _testid(home, "n-orders") == [_direct_order_figures(session)[0]]
    assert "orders-as-of" not in home  # counted live as well
