"""The customer-value pages: dashboard, run button, the 360's value card, "my customers"."""

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.analytics.segments import SEGMENTS
from kehu.commerce import LineInput, create_order
from kehu.core import Actor
from kehu.customers import Customer, create_customer
from kehu.engagement import log_interaction
from kehu.ingest import run_import
from kehu.jobs.value import run_value_analysis
from kehu.users import Role
from kehu.value import (
    ValueRun,
    get_customer_value,
    list_valued_customers,
    pareto_share,
    tier_summary,
)
from tests.factories import make_customer, make_user
from tests.integration.web.conftest import csrf_of, sign_in

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "online_retail_ii_sample.csv"
ACTOR = Actor.system("value-test")
SEED_END = datetime(2011, 6, 30, tzinfo=UTC)


def seed_value_data(session: Session, n_named: int = 40) -> None:
    """Import the Online Retail II sample, add named buyers and seeded repeat purchases.

    The sample alone has no repeat buyer (the models need some), so every customer gets a
    deterministic stream of later orders: a purchase rate and a drop-out chance drawn from a
    seeded generator, in customer-id order.
    """
    run_import(session, kind="orders", data=SAMPLE, filename=SAMPLE.name, actor=ACTOR)
    for n in range(n_named):
        create_customer(
            session,
            actor=ACTOR,
            identities=[("email", f"buyer{n}@example.com")],
            name=f"Buyer {n:02d}",
            country="United Kingdom",
            external_id=f"B{n:03d}",
        )
    rng = random.Random(20100101)
    for customer in session.scalars(select(Customer).order_by(Customer.id)):
        rate = rng.choice([0.02, 0.05, 0.1, 0.2])
        p_drop = rng.choice([0.05, 0.2, 0.5])
        day = datetime(2010, 1, 4, 12, tzinfo=UTC) + timedelta(days=rng.randrange(0, 120))
        price = Decimal(rng.choice(["4.50", "12.00", "25.00", "60.00"]))
        k = 0
        while True:
            day += timedelta(days=max(1, round(rng.expovariate(rate))))
            if day >= SEED_END:
                break
            create_order(
                session,
                actor=ACTOR,
                customer_id=customer.id,
                external_id=f"V{customer.external_id or customer.id}-{k}",
                ordered_at=day,
                lines=[LineInput(sku=f"SKU{k % 7}", quantity=1 + k % 3, unit_price=price)],
            )
            k += 1
            if rng.random() < p_drop:
                break


@pytest.fixture
def owner(session):
    user = make_user(session, Role.OWNER, email="owner@example.com", name="Olivia Owner")
    session.commit()
    return user


@pytest.fixture
def scored(session, owner):
    """Seeded orders, one owner, and a successful analysis."""
    seed_value_data(session)
    run = run_value_analysis(session, actor=ACTOR)
    session.commit()
    assert run.status == "succeeded", run.message
    return run


def _testid(html: str, testid: str) -> list[str]:
    found = re.findall(rf'data-testid="{testid}"[^>]*>(.*?)<', html, re.S)
    return [unescape(text).strip() for text in found]


def _switch_to_chinese(client, path: str) -> str:
    token = csrf_of(client, path)
    client.post("/lang", data={"locale": "zh-CN", "next": path, "csrf_token": token})
    return client.get(path).text


def test_empty_state_invites_to_run(admin_client):
    html = admin_client.get("/value").text

    assert 'data-testid="value-empty"' in html
    assert "kehu analyze" in html
    assert 'data-testid="run-analysis"' in html
    assert 'data-testid="no-valued"' in html


def test_agents_see_no_run_button(agent_client):
    html = agent_client.get("/value").text

    assert 'data-testid="value-empty"' in html
    assert 'data-testid="run-analysis"' not in html
    assert "Ask an administrator or a manager to run the analysis." in html


def test_dashboard_shows_tier_sizes_and_shares(admin_client, session, scored):
    html = admin_client.get("/value").text

    assert _testid(html, "run-status") == ["Succeeded"]
    assert _testid(html, "run-scored") == ["66 / 66 · 405 orders"]
    counts = {t: _testid(html, f"tier-{t}-count")[0] for t in ("vip", "high", "medium", "low")}
    assert counts == {"vip": "14", "high": "19", "medium": "20", "low": "13"}
    expected = {
        size.tier.value: f"{100 * size.value_share:.1f} %" for size in tier_summary(session)
    }
    shown = {t: _testid(html, f"tier-{t}-value")[0] for t in expected}
    assert shown == expected
    assert "21.2 % of customers" in html  # 14 of 66


def test_dashboard_states_the_pareto_point_and_embeds_every_chart(admin_client, session, scored):
    html = admin_client.get("/value").text

    share = 100 * pareto_share(session, 0.2)  # the top 13 of 66 customers

    assert _testid(html, "pareto-sentence") == [
        f"The top 20 % of customers bring {share:.1f} % of predicted value."
    ]
    for chart in ("pareto-chart", "clv-histogram", "calibration-chart"):
        assert f'id="{chart}"' in html
    assert 'id="calibration-data"' in html
    assert "BG/NBD" in html
    assert "Gamma-Gamma" in html
    assert "Log-likelihood" in html
    assert "-%.2f" % -scored.parameters["purchases"]["log_likelihood"] in html


def test_top_customers_are_sorted_by_clv_and_filtered_by_tier(admin_client, session, scored):
    html = admin_client.get("/value").text
    top, _ = list_valued_customers(session, sort="clv", limit=25)

    clvs = _testid(html, "value-clv")
    assert len(clvs) == 25
    assert clvs == [f"{row.clv:,.2f}" for row in top]
    assert "66 in all · page 1 of 3" in html

    vip = admin_client.get("/value?tier=vip").text
    assert len(_testid(vip, "value-clv")) == 14
    assert "14 in all · page 1 of 1" in vip

    partial = admin_client.get(
        "/value?tier=low&page=1", headers={"HX-Request": "true", "HX-Target": "value-top"}
    ).text
    assert "<html" not in partial
    assert len(_testid(partial, "value-clv")) == 13


@pytest.mark.parametrize(
    "query_case", ["tier=gold", "segment=%3Cscript%3E", "page=0", "page=abc", "page=99"]
)
def test_bad_filters_never_fail(admin_client, scored, query_case):
    response = admin_client.get(f"/value?{query_case}")

    assert response.status_code in (200, 422)
    assert "<script>" not in response.text.replace("<script src", "").replace(
        '<script type="application/json"', ""
    )


def test_run_button_runs_the_analysis_and_says_so(admin_client, session):
    seed_value_data(session)
    session.commit()
    token = csrf_of(admin_client, "/value")

    response = admin_client.post("/value/run", data={"csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/value"
    run = session.scalars(select(ValueRun)).one()
    assert run.status == "succeeded"
    html = admin_client.get("/value").text
    assert f"Analysis {run.id} finished: 66 customers scored, 14 VIP." in html
    assert _testid(html, "tier-vip-count") == ["14"]


def test_a_failed_run_shows_its_message(admin_client, session):
    make_customer(session)
    session.commit()
    token = csrf_of(admin_client, "/value")

    admin_client.post("/value/run", data={"csrf_token": token}, follow_redirects=False)
    html = unescape(admin_client.get("/value").text)

    assert session.scalars(select(ValueRun.status)).all() == ["failed"]
    assert re.search(
        r'alert-error" role="status">[^<]*There are no orders of known customers', html
    )
    assert 'data-testid="attempt-message"' in html
    assert 'data-testid="value-empty"' in html


def test_agent_may_not_run_the_analysis(agent_client, session):
    seed_value_data(session)
    session.commit()
    token = csrf_of(agent_client, "/value")

    response = agent_client.post("/value/run", data={"csrf_token": token})

    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 0


def test_run_needs_the_csrf_token(admin_client, session):
    response = admin_client.post("/value/run", data={})

    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 0


def test_customer_360_shows_the_value_card(admin_client, session, scored, owner):
    top, _ = list_valued_customers(session, sort="clv", limit=1)
    best = get_customer_value(session, top[0].customer_id)

    html = admin_client.get(f"/customers/{best.customer_id}").text

    assert _testid(html, "value-clv")[0] == f"{best.clv:,.2f}"
    assert _testid(html, "p-alive") == [f"{best.p_alive * 100:.0f} %"]
    assert _testid(html, "tier-badge") == ["VIP"]
    assert _testid(html, "value-expected-purchases")[0] == f"{best.expected_purchases:.2f}"
    assert _testid(html, "value-expected-spend")[0] == f"{best.expected_spend:,.2f}"
    assert _testid(html, "value-owner") == ["Olivia Owner"]
    assert f"R{best.rfm_r} F{best.rfm_f} M{best.rfm_m}" in html
    assert _testid(html, "segment-label") == [SEGMENTS[best.rfm_segment].name_en]


def test_customer_360_of_an_unscored_customer(admin_client, session, scored):
    newcomer = make_customer(session, name="No Orders Yet")
    session.commit()

    html = admin_client.get(f"/customers/{newcomer.id}").text

    assert 'data-testid="value-not-scored"' in html
    assert "Not scored yet." in html


def test_owner_sees_their_customers_most_valuable_first(client, session, scored, owner):
    vip, _ = list_valued_customers(session, tier="vip", sort="clv", limit=50)
    assert {row.owner_id for row in vip} == {owner.id}
    log_interaction(
        session,
        customer_id=vip[0].customer_id,
        channel="phone",
        direction="outbound",
        occurred_at=datetime.now(UTC) - timedelta(days=3, hours=1),
        subject="Thank-you call",
        actor=ACTOR,
    )
    session.commit()
    assert sign_in(client, "owner@example.com").status_code == 303

    html = client.get("/me/customers").text

    assert _testid(html, "n-owned") == ["14"]
    assert _testid(html, "owner-clv") == [f"{row.clv:,.2f}" for row in vip]
    days = _testid(html, "days-since-contact")
    assert days[0] == "3"
    assert 'data-testid="owner-select"' not in html


def test_managers_pick_an_owner(client, session, scored, owner, users):
    assert sign_in(client, users[Role.MANAGER].email).status_code == 303

    own = client.get("/me/customers").text
    theirs = client.get(f"/me/customers?owner={owner.id}").text

    assert 'data-testid="no-owned"' in own
    assert 'data-testid="owner-select"' in own
    assert _testid(theirs, "n-owned") == ["14"]
    assert "Olivia Owner" in theirs


def test_agents_cannot_look_at_other_owners(agent_client, scored, owner):
    html = agent_client.get(f"/me/customers?owner={owner.id}").text

    assert 'data-testid="no-owned"' in html
    assert 'data-testid="owner-clv"' not in html


def test_pages_speak_chinese(admin_client, session, scored):
    top, _ = list_valued_customers(session, sort="clv", limit=1)

    dashboard = _switch_to_chinese(admin_client, "/value")
    card = admin_client.get(f"/customers/{top[0].customer_id}").text

    for label in ("客户价值", "二八效应", "价值层级", "贵宾客户 VIP", "存活概率", "立即运行分析"):
        assert label in dashboard, label
    assert "价值最高的 20% 客户贡献了" in dashboard
    for label in (
        "客户终身价值\uff08CLV\uff09",
        "存活概率",
        "预计购买次数",
        "负责人",
        "贵宾客户 VIP",
    ):
        assert label in card, label
