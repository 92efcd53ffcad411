"""The health analysis on a real store (SQLite and PostgreSQL): job, tasks, API, console, CLI.

The store holds every row of 60 real Online Retail II customers (tests/data/health/).
"""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kehu import health
from kehu.audit import AuditEntry
from kehu.cli.main import app as cli
from kehu.core import InvalidInputError
from kehu.customers import ContactRole, CustomerKind, add_contact, get_customer, update_customer
from kehu.engagement import log_interaction
from kehu.health import CustomerHealth, HealthRun, HealthRunStatus
from kehu.jobs.health import run_health_analysis
from kehu.relations import Task
from kehu.users import Role
from kehu.value import (
    CustomerValue,
    ValueTier,
)
from tests.factories import ACTOR, make_customer, make_user
from tests.factories.health import AS_OF, SLICE, stock_health_slice
from tests.integration.web.conftest import csrf_of, sign_in


def _account_with_service_and_procurement(session) -> int:
    """Two phone calls in the earlier window and a procurement contact on the first customer."""
    account = session.scalar(select(CustomerValue.customer_id).order_by(CustomerValue.customer_id))
    for day in (dt.datetime(2010, 7, 1, tzinfo=dt.UTC), dt.datetime(2010, 8, 1, tzinfo=dt.UTC)):
        log_interaction(
            session,
            customer_id=account,
            channel="phone",
            direction="inbound",
            occurred_at=day,
            actor=ACTOR,
        )
    organisation = get_customer(session, account)
    update_customer(session, organisation, actor=ACTOR, kind=CustomerKind.ORGANISATION)
    add_contact(
        session,
        account=organisation,
        person=make_customer(session, name="Buyer"),
        role=ContactRole.PROCUREMENT,
        actor=ACTOR,
    )
    return account


def test_every_buyer_gets_a_stage_risk_and_evidence_and_vip_owners_get_tasks(session):
    stock_health_slice(session)
    account = _account_with_service_and_procurement(session)

    run = run_health_analysis(session, actor=ACTOR)

    assert run.status == HealthRunStatus.SUCCEEDED, run.message
    assert run.as_of == AS_OF
    rows = session.scalars(select(CustomerHealth)).all()
    assert run.n_customers == len(rows) == 60
    assert sum(run.metrics["stages"].values()) == 60
    assert all(0.0 <= r.churn_risk <= 1.0 for r in rows)
    assert all(r.previous_stage is None and r.previous_risk is None for r in rows)
    assert all(r.evidence["signals"] and r.evidence["reasons"] for r in rows)
    assert run.metrics["risk_source"] == "churn model"
    check = run.metrics["churn"]["check"]
    assert 0.0 <= check["auc_model"] <= 1.0
    assert [s["stage"] for s in check["stages"]] == [s.value for s in health.HealthStage]
    assert run.metrics["discount_basis"] == "price"
    # The store's service contacts and account contacts reach the evidence.
    signals = {s.signal: s for s in health.get_customer_health(session, account).signals}
    assert (signals["service_falling"].then, signals["service_falling"].now) == (2.0, 0.0)
    assert signals["service_falling"].fired
    # The contact has no start date: procurement was there in both windows, so no shift.
    assert (signals["procurement_rising"].then, signals["procurement_rising"].now) == (1.0, 1.0)
    assert not signals["procurement_rising"].fired
    assert run.metrics["cohorts"][0]["cohort"] == "2009-12-01"
    value = health.retention_value(session)
    assert value.available
    assert value.currency == "GBP"
    assert 0 < value.retention < value.improved_retention < 1
    assert value.base_value == pytest.approx(
        float(session.scalar(select(func.sum(CustomerValue.clv))))
    )
    # Tasks: VIPs at risk or in a warning stage, for their owners; every one audited.
    tasks = session.scalars(select(Task)).all()
    assert len(tasks) == run.n_tasks > 0
    vip_ids = set(
        session.scalars(
            select(CustomerValue.customer_id).where(CustomerValue.tier == ValueTier.VIP)
        )
    )
    assert {t.kind for t in tasks} <= {"churn_risk", "stage_change"}
    assert {t.customer_id for t in tasks} <= vip_ids
    assert all(t.owner_id is not None for t in tasks)
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "health.run_succeeded")
        )
        == 1
    )

    again = run_health_analysis(session, actor=ACTOR)

    assert again.status == HealthRunStatus.SUCCEEDED
    rows = session.scalars(select(CustomerHealth)).all()
    assert {r.run_id for r in rows} == {again.id}
    assert all(r.previous_stage == r.stage for r in rows)
    assert session.scalar(select(func.count()).select_from(Task)) == len(tasks)


def test_an_empty_store_gives_a_failed_run_with_the_reason(session):
    run = run_health_analysis(session, actor=ACTOR)

    assert run.status == HealthRunStatus.FAILED
    assert "import orders first" in run.message
    assert session.scalar(select(func.count()).select_from(CustomerHealth)) == 0
    with pytest.raises(InvalidInputError, match="window_days"):
        run_health_analysis(session, actor=ACTOR, window_days=3)


def test_api_reads_lists_filters_and_runs(client, session, staff):
    stock_health_slice(session)
    never = make_customer(session)
    session.commit()
    agent, manager = staff["agent"].headers, staff["manager"].headers

    created = client.post("/api/v1/health/runs", json={"window_days": 90}, headers=manager)
    bad_body = client.post("/api/v1/health/runs", json={"window_days": 3}, headers=manager)

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "succeeded"
    assert bad_body.status_code == 422
    summary = client.get("/api/v1/health/summary", headers=agent).json()
    assert summary["run"]["id"] == created.json()["id"]
    assert sum(s["n_customers"] for s in summary["stages"]) == 60
    assert "check" in summary["churn"]
    # Lists and single records of every customer are an administrator's view from here on (what
    # each role sees of them: tests/integration/trust/test_record_access.py).
    agent = staff["admin"].headers
    everyone = client.get("/api/v1/health/customers?limit=100", headers=agent).json()
    assert everyone["count"] == 60
    risks = [r["churn_risk"] for r in everyone["data"]]
    assert risks == sorted(risks, reverse=True)
    lapsed = client.get("/api/v1/health/customers?stage=lapsed", headers=agent).json()
    assert lapsed["count"] == summary["stages"][-1]["n_customers"]
    assert {r["stage"] for r in lapsed["data"]} == {"lapsed"}
    risky = client.get("/api/v1/health/customers?min_risk=0.5&sort=-risk", headers=agent).json()
    assert all(r["churn_risk"] >= 0.5 for r in risky["data"])
    vips = client.get("/api/v1/health/customers?tier=vip", headers=agent).json()
    assert vips["count"] == session.scalar(
        select(func.count()).select_from(CustomerValue).where(CustomerValue.tier == ValueTier.VIP)
    )
    first = everyone["data"][0]["customer_id"]
    one = client.get(f"/api/v1/customers/{first}/health", headers=agent)
    assert one.status_code == 200
    assert one.json()["signals"]
    assert one.json()["as_of"] == AS_OF.isoformat()
    missing = client.get(f"/api/v1/customers/{never.id}/health", headers=agent)
    assert missing.status_code == 404
    assert missing.json()["code"] == "health.not_scored"
    assert client.get("/api/v1/customers/999999/health", headers=agent).status_code == 404
    bad_sort = client.get("/api/v1/health/customers?sort=name", headers=agent)
    assert bad_sort.status_code == 422
    assert "risk_rise" in bad_sort.json()["detail"]
    assert client.get("/api/v1/health/customers?stage=happy", headers=agent).status_code == 422
    cohorts = client.get("/api/v1/health/cohorts", headers=agent).json()
    assert cohorts["data"][0]["cohort"] == "2009-12-01"
    assert cohorts["data"][0]["retention"][0] == 1.0
    value = client.get("/api/v1/health/retention-value", headers=agent).json()
    assert value["available"] is True
    assert (value["seed_claim_low"], value["seed_claim_high"]) == (0.35, 0.85)
    assert value["added_value"] == pytest.approx(
        value["base_value"] * value["value_change"], rel=1e-4
    )


@pytest.fixture
def web_client(test_settings, session_factory):
    from fastapi.testclient import TestClient

    from kehu.app import create_app

    with TestClient(create_app(test_settings, session_factory)) as client:
        yield client


def test_console_shows_stages_evidence_cohorts_and_the_value(web_client, session):
    stock_health_slice(session)
    make_user(session, Role.MANAGER, email="manager@example.com", name="Manager")
    make_user(session, Role.AGENT, email="agent@example.com", name="Agent")
    session.commit()
    assert sign_in(web_client, "agent@example.com").status_code == 303

    empty = web_client.get("/health")
    assert 'data-testid="health-empty"' in empty.text
    assert 'data-testid="run-health"' not in empty.text  # agents cannot run it
    refused = web_client.post(
        "/health/run", data={"csrf_token": csrf_of(web_client, "/health")}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert session.scalar(select(func.count()).select_from(HealthRun)) == 0
    web_client.cookies.clear()
    assert sign_in(web_client, "manager@example.com").status_code == 303
    ran = web_client.post(
        "/health/run", data={"csrf_token": csrf_of(web_client, "/health")}, follow_redirects=True
    )

    assert ran.status_code == 200
    run = session.scalars(select(HealthRun)).one()
    assert f"Health analysis {run.id} finished: {run.n_customers} customers staged" in ran.text
    assert 'data-testid="stage-cards"' in ran.text
    assert 'id="cohort-data"' in ran.text
    assert 'data-testid="retention-added-value"' in ran.text
    lapsed = web_client.get("/health?stage=lapsed")
    n_lapsed = session.scalar(
        select(func.count()).select_from(CustomerHealth).where(CustomerHealth.stage == "lapsed")
    )
    assert lapsed.text.count('data-testid="health-row"') == n_lapsed
    customer_id = session.scalar(
        select(CustomerHealth.customer_id).where(CustomerHealth.stage == "lapsed").limit(1)
    )
    page = web_client.get(f"/customers/{customer_id}")
    assert f'hx-get="/customers/{customer_id}/health"' in page.text
    card = web_client.get(f"/customers/{customer_id}/health", headers={"HX-Request": "true"})
    assert 'data-testid="health-card"' in card.text
    assert 'data-stage="lapsed"' in card.text
    plain = web_client.get(f"/customers/{customer_id}/health", follow_redirects=False)
    assert plain.status_code == 303
    assert (
        web_client.get("/customers/abc/health", headers={"HX-Request": "true"}).status_code == 404
    )


def test_cli_evaluate_prints_one_json_object_and_refuses_bad_input(tmp_path):
    runner = CliRunner()

    result = runner.invoke(
        cli, ["health", "evaluate", "--orders", str(SLICE), "--as-of", "2010-09-09", "--json"]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_customers"] == 50
    assert report["as_of"] == "2010-09-09"
    assert {s["stage"] for s in report["stages"]} == {s.value for s in health.HealthStage}
    late = runner.invoke(
        cli, ["health", "evaluate", "--orders", str(SLICE), "--as-of", "2010-11-30"]
    )
    assert late.exit_code == 2
    assert "Choose an earlier --as-of" in late.output
    broken = tmp_path / "orders.csv"
    broken.write_text("Invoice,Quantity\n1,2\n")
    bad = runner.invoke(
        cli, ["health", "evaluate", "--orders", str(broken), "--as-of", "2010-09-09"]
    )
    assert bad.exit_code == 2
    assert "lacks the column" in bad.output
