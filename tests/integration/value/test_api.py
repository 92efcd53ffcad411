"""The value API: summary, one customer's scores, lists, my customers, runs; errors and roles."""

from sqlalchemy import func, select

from kehu.customers import Customer
from kehu.engagement import Interaction
from kehu.users import Role
from kehu.value import CustomerValue, ValueRun
from tests.factories import ACTOR, make_customer
from tests.integration.api.conftest import Staff
from tests.integration.value.conftest import LAST_DAY


def _run(client, staff, **body):
    response = client.post(
        "/api/v1/value/runs", json={"holdout_weeks": 0, **body}, headers=staff["manager"].headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_manager_runs_the_analysis_and_everyone_reads_it(client, session, staff, history):
    run = _run(client, staff, as_of=LAST_DAY.isoformat(), vip_share=0.1)

    assert run["status"] == "succeeded", run["message"]
    assert run["observation_end"] == LAST_DAY.isoformat()
    summary = client.get("/api/v1/value/summary", headers=staff["agent"].headers).json()
    assert summary["run"]["id"] == run["id"]
    tiers = {t["tier"]: t["n_customers"] for t in summary["tiers"]}
    assert tiers["vip"] == run["n_vip"] == -(-run["n_scored"] // 10)
    assert summary["pareto"][0] == {"customer_share": 0.0, "value_share": 0.0}
    assert summary["pareto"][-1]["customer_share"] == 1.0
    assert abs(summary["pareto"][-1]["value_share"] - 1.0) < 1e-9
    assert sum(b["n_customers"] for b in summary["histogram"]) == run["n_scored"]
    assert len(summary["histogram"]) == 20


def test_one_customers_scores_and_404s(client, session, staff, history):
    _run(client, staff)
    scored = session.scalar(select(CustomerValue).where(CustomerValue.value_rank == 1))
    never = make_customer(session, owner_id=staff["owner"].user.id)
    session.get(Customer, scored.customer_id).owner_id = staff["owner"].user.id  # their own
    session.commit()

    ok = client.get(f"/api/v1/customers/{scored.customer_id}/value", headers=staff["owner"].headers)
    missing = client.get(f"/api/v1/customers/{never.id}/value", headers=staff["owner"].headers)
    unknown = client.get("/api/v1/customers/999999/value", headers=staff["owner"].headers)

    assert ok.status_code == 200
    body = ok.json()
    assert (body["value_rank"], body["tier"], body["currency"]) == (1, "vip", "GBP")
    assert body["segment_name_zh"]
    assert body["segment_name_en"]
    assert missing.status_code == 404
    assert missing.json()["code"] == "value.not_scored"
    assert "no sale up to" in missing.json()["detail"]
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "customers.not_found"


def test_lists_filter_sort_and_page(client, session, staff, history):
    _run(client, staff)
    # The list's filters, sorts and pages over every scored customer: an administrator's view
    # (what each role sees of it: tests/integration/trust/test_record_access.py).
    headers = staff["admin"].headers

    vips = client.get("/api/v1/value/customers?tier=vip&limit=5", headers=headers).json()
    cheapest = client.get("/api/v1/value/customers?sort=-clv&limit=1", headers=headers).json()
    bad_sort = client.get("/api/v1/value/customers?sort=name", headers=headers)
    bad_tier = client.get("/api/v1/value/customers?tier=gold", headers=headers)

    n_vip = session.scalar(select(ValueRun.n_vip).order_by(ValueRun.id.desc()).limit(1))
    assert vips["count"] == n_vip
    assert [c["value_rank"] for c in vips["data"]] == [1, 2, 3, 4, 5]
    assert cheapest["data"][0]["value_rank"] == cheapest["count"]
    assert bad_sort.status_code == 422
    assert bad_sort.json()["code"] == "value.bad_sort"
    assert bad_tier.status_code == 422


def test_an_owner_sees_their_customers_with_days_since_contact(client, session, staff, history):
    from datetime import timedelta

    from kehu.core import utcnow
    from kehu.engagement import Direction

    owner: Staff = staff["owner"]
    _run(client, staff)  # the only owner user gets every VIP
    mine = session.scalars(
        select(CustomerValue.customer_id).where(CustomerValue.tier == "vip")
    ).all()
    session.add(
        Interaction(
            customer_id=mine[0],
            channel="phone",
            direction=Direction.OUTBOUND,
            occurred_at=utcnow() - timedelta(days=3, hours=1),
        )
    )
    session.add(
        Interaction(
            customer_id=mine[0],
            channel="phone",
            direction=Direction.INBOUND,
            occurred_at=utcnow(),
        )
    )
    session.commit()

    page = client.get("/api/v1/me/customers?limit=100", headers=owner.headers).json()
    other = client.get("/api/v1/me/customers", headers=staff["agent"].headers).json()

    assert page["count"] == len(mine)
    by_id = {row["customer_id"]: row for row in page["data"]}
    assert by_id[mine[0]]["days_since_contact"] == 3
    assert all(row["tier"] == "vip" for row in page["data"])
    assert other == {"data": [], "count": 0}


def test_a_run_without_data_is_recorded_as_failed(client, session, staff):
    run = _run(client, staff)

    assert run["status"] == "failed"
    assert "import orders first" in run["message"]
    assert session.scalar(select(func.count()).select_from(ValueRun)) == 1
    summary = client.get("/api/v1/value/summary", headers=staff["admin"].headers).json()
    assert summary["run"] is None
    assert summary["last_attempt"]["status"] == "failed"


def test_bad_run_settings_are_422(client, staff):
    response = client.post(
        "/api/v1/value/runs", json={"vip_share": 2}, headers=staff["admin"].headers
    )
    unknown = client.post("/api/v1/value/runs", json={"colour": 1}, headers=staff["admin"].headers)

    assert response.status_code == 422
    assert unknown.status_code == 422


def test_agents_and_owners_may_not_run_it(client, staff):
    for role in (Role.AGENT, Role.OWNER):
        response = client.post("/api/v1/value/runs", headers=staff[role.value].headers)
        assert response.status_code == 403


del ACTOR
