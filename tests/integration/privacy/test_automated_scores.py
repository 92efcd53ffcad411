"""Opted out of automated decisions: no value or health scores, no automated tasks, default SLA.

Real stores (SQLite and PostgreSQL): simulated order histories for the value and relations
runs, the Online Retail II slice for the health run.
"""

import datetime as dt

from sqlalchemy import func, select

from kehu.analytics.clv import simulate_transactions
from kehu.audit import AuditEntry
from kehu.health import CustomerHealth
from kehu.jobs.health import run_health_analysis
from kehu.jobs.relations import build_snapshots, run_relations
from kehu.jobs.value import run_value_analysis
from kehu.playbooks.rules import store_rule
from kehu.privacy import set_automated_decisions_opt_out
from kehu.relations import Task
from kehu.value import CustomerValue, ValueRunStatus
from tests.factories import ACTOR
from tests.factories.health import AS_OF, stock_health_slice
from tests.integration.value.conftest import LAST_DAY, load_history

NOW = dt.datetime(2022, 1, 3, 9, 0, tzinfo=dt.UTC)


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _history(session):
    return sorted(set(load_history(session, simulate_transactions(120, random_state=11)).values()))


def test_the_value_run_scores_nobody_who_opted_out(session):
    ids = _history(session)
    out = ids[:3]
    for customer_id in out:
        set_automated_decisions_opt_out(session, customer_id, opted_out=True, actor=ACTOR)

    run = run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)

    assert run.status == ValueRunStatus.SUCCEEDED, run.message
    assert _count(session, CustomerValue, CustomerValue.customer_id.in_(out)) == 0
    assert run.metrics["summary"]["n_opted_out"] == 3
    assert _count(session, CustomerValue) == run.n_scored > 100
    ranks = session.scalars(select(CustomerValue.value_rank).order_by(CustomerValue.value_rank))
    assert list(ranks) == list(range(1, run.n_scored + 1))  # ranks among the scored only


def test_opting_out_removes_scores_and_puts_tickets_on_the_default_policy(session):
    from tests.factories.service import make_desk, make_ticket

    ids = _history(session)
    make_desk(session)
    run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    vip = session.scalar(select(CustomerValue.customer_id).where(CustomerValue.value_rank == 1))
    other = next(c for c in ids if c != vip)
    ticket = make_ticket(session, customer_id=vip, category_code="card_arrival")
    assert ticket.tier == "vip"
    n_before = _count(session, CustomerValue)

    set_automated_decisions_opt_out(session, vip, opted_out=True, actor=ACTOR, source="letter")

    assert _count(session, CustomerValue, CustomerValue.customer_id == vip) == 0
    assert _count(session, CustomerValue) == n_before - 1
    assert _count(session, CustomerValue, CustomerValue.customer_id == other) == 1
    session.refresh(ticket)
    assert ticket.tier == "default"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "customer.automated_decisions_opt_out")
    ).one()
    assert entry.changes["customer_values"] == 1
    assert entry.changes["tickets_retiered"] == 1
    # A new ticket of theirs starts on the default policy too.
    assert make_ticket(session, customer_id=vip, category_code="card_arrival").tier == "default"


def test_the_health_run_stages_nobody_who_opted_out(session):
    stock_health_slice(session)
    out = list(
        session.scalars(select(CustomerValue.customer_id).order_by(CustomerValue.customer_id))
    )
    out = out[:2]
    for customer_id in out:
        set_automated_decisions_opt_out(session, customer_id, opted_out=True, actor=ACTOR)
    assert _count(session, CustomerValue, CustomerValue.customer_id.in_(out)) == 0

    run = run_health_analysis(session, actor=ACTOR, as_of=AS_OF)

    assert run.status == "succeeded", run.message
    assert _count(session, CustomerHealth) > 10
    assert _count(session, CustomerHealth, CustomerHealth.customer_id.in_(out)) == 0
    assert _count(session, Task, Task.customer_id.in_(out)) == 0

    # Opting out after a run removes the stage they had.
    staged = session.scalar(select(CustomerHealth.customer_id).limit(1))
    set_automated_decisions_opt_out(session, staged, opted_out=True, actor=ACTOR)
    assert _count(session, CustomerHealth, CustomerHealth.customer_id == staged) == 0


def test_the_relations_playbooks_open_no_task_for_who_opted_out(session):
    ids = _history(session)
    run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    store_rule(
        session,
        {
            "name": "every-buyer",
            "when": {"all": [["total_spend", "gt", 0]]},
            "action": "open_task",
            "params": {"kind": "follow_up", "title": "Thank $name"},
        },
        actor=ACTOR,
    )
    out = ids[:5]
    for customer_id in out:
        set_automated_decisions_opt_out(session, customer_id, opted_out=True, actor=ACTOR)

    report = run_relations(session, actor=ACTOR, as_of=LAST_DAY, now=NOW)

    assert report.n_customers == 115
    assert {s["customer_id"] for s in build_snapshots(session, as_of=LAST_DAY)} >= set(out)
    assert report.rules.n_opened == 115
    assert _count(session, Task, Task.customer_id.in_(out)) == 0
    assert _count(session, Task, Task.customer_id == ids[5]) >= 1


def test_the_score_endpoints_say_the_customer_opted_out(client, session, staff):
    ids = _history(session)
    run_value_analysis(session, actor=ACTOR, as_of=LAST_DAY, holdout_weeks=0)
    scored = session.scalar(select(CustomerValue.customer_id).where(CustomerValue.value_rank == 1))
    session.commit()
    headers = staff["admin"].headers
    shown = client.get(f"/api/v1/customers/{scored}/value", headers=headers)
    assert shown.status_code == 200, shown.text

    put = client.put(
        f"/api/v1/customers/{scored}/automated-decisions",
        json={"opted_out": True},
        headers=headers,
    )
    assert put.status_code == 200, put.text

    for path in ("value", "health"):
        answer = client.get(f"/api/v1/customers/{scored}/{path}", headers=headers)
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "privacy.opted_out"
        assert "opted out of automated decisions" in answer.json()["detail"]
    ranked = client.get("/api/v1/value/customers?limit=100", headers=headers).json()
    assert scored not in {row["customer_id"] for row in ranked["data"]}
    assert ids  # the others are still listed
    assert ranked["count"] == _count(session, CustomerValue)
