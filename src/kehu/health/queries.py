"""Reads of the relationship-health feature: runs, one customer's health, lists, curves."""

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kehu.core import InvalidInputError, NotFoundError
from kehu.customers import Customer
from kehu.health.errors import HealthErrorCode
from kehu.health.models import CustomerHealth, HealthRun, HealthRunStatus, HealthStage
from kehu.health.schemas import (
    CohortCurve,
    CohortsPublic,
    CustomerHealthPublic,
    HealthListItem,
    RetentionValuePublic,
    SignalEvidence,
    StageCount,
)
from kehu.store import count_rows
from kehu.value import CustomerValue

#: ``sort`` values of :func:`list_customer_health` (a leading ``-`` reverses).
SORTS: dict[str, Any] = {
    "risk": CustomerHealth.churn_risk,
    "risk_rise": func.coalesce(CustomerHealth.churn_risk - CustomerHealth.previous_risk, 0.0),
    "customer": CustomerHealth.customer_id,
}


def latest_health_run(session: Session, *, include_failed: bool = False) -> HealthRun | None:
    """Return the newest successful run (or the newest of any status), or None."""
    query = select(HealthRun).order_by(HealthRun.id.desc()).limit(1)
    if not include_failed:
        query = query.where(HealthRun.status == HealthRunStatus.SUCCEEDED)
    return session.scalar(query)


def find_running_health_run(session: Session) -> HealthRun | None:
    """Return a run still marked running, if any (the newest)."""
    return session.scalar(
        select(HealthRun)
        .where(HealthRun.status == HealthRunStatus.RUNNING)
        .order_by(HealthRun.id.desc())
        .limit(1)
    )


def previous_health(session: Session) -> dict[int, tuple[str, float]]:
    """Return ``{customer id: (stage, churn risk)}`` of the health stored now."""
    return {
        int(cid): (str(stage), float(risk))
        for cid, stage, risk in session.execute(
            select(CustomerHealth.customer_id, CustomerHealth.stage, CustomerHealth.churn_risk)
        )
    }


def _public(row: CustomerHealth, run: HealthRun | None) -> CustomerHealthPublic:
    evidence = row.evidence or {}
    return CustomerHealthPublic(
        customer_id=row.customer_id,
        run_id=row.run_id,
        stage=row.stage,
        previous_stage=row.previous_stage,
        churn_risk=row.churn_risk,
        previous_risk=row.previous_risk,
        p_alive=row.p_alive,
        reasons=[str(r) for r in evidence.get("reasons", [])],
        signals=[SignalEvidence.model_validate(s) for s in evidence.get("signals", [])],
        computed_at=row.computed_at,
        as_of=run.as_of if run else None,
        window_days=run.window_days if run else None,
    )


def find_customer_health(session: Session, customer_id: int) -> CustomerHealthPublic | None:
    """Return a customer's latest health, or None when they have none."""
    row = session.scalar(select(CustomerHealth).where(CustomerHealth.customer_id == customer_id))
    if row is None:
        return None
    return _public(row, session.get(HealthRun, row.run_id))


def get_customer_health(session: Session, customer_id: int) -> CustomerHealthPublic:
    """Return a customer's latest stage, risk and evidence.

    Raises
    ------
    NotFoundError
        The customer does not exist, or has no health yet; the message says which and why.
    """
    found = find_customer_health(session, customer_id)
    if found is not None:
        return found
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"There is no customer {customer_id}.", code="customers.not_found")
    run = latest_health_run(session)
    reason = (
        "no health analysis has run yet; run `kehu analyze` (or POST /api/v1/health/runs)"
        if run is None
        else f"they had no sale up to {run.as_of} when the last health analysis ran"
    )
    raise NotFoundError(
        f"Customer {customer_id} has no health stage: {reason}.", code=HealthErrorCode.NOT_SCORED
    )


def list_customer_health(
    session: Session,
    *,
    stage: HealthStage | None = None,
    min_risk: float | None = None,
    max_risk: float | None = None,
    tier: str | None = None,
    owner_id: int | None = None,
    sort: str = "risk",
    limit: int = 50,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
    count_limit: int | None = None,
) -> tuple[list[HealthListItem], int]:
    """List customers with their health, riskiest first (filters: stage, risk range, tier, owner).

    ``where`` is a predicate on ``customers``: the caller's scope (``kehu.access``).
    ``count_limit`` bounds the count (:func:`kehu.store.count_rows`): a count above it means
    "more than ``count_limit``". ``None`` counts exactly.

    Raises
    ------
    InvalidInputError
        An unknown ``sort``.
    """
    key = sort.removeprefix("-")
    if key not in SORTS:
        raise InvalidInputError(
            f"sort must be one of {', '.join(SORTS)} (a leading - reverses), not {sort!r}.",
            code=HealthErrorCode.BAD_SORT,
        )
    column = SORTS[key]
    order = column.asc() if sort.startswith("-") else column.desc()
    query = (
        select(
            CustomerHealth,
            Customer.name,
            Customer.external_id,
            Customer.owner_id,
            CustomerValue.tier,
        )
        .join(Customer, Customer.id == CustomerHealth.customer_id)
        .outerjoin(CustomerValue, CustomerValue.customer_id == CustomerHealth.customer_id)
    )
    # The count joins only the tables a filter needs (every health row has its customer, by
    # foreign key): at a million customers the full join costs more than the page itself.
    counted = select(CustomerHealth.customer_id)
    if stage is not None:
        query = query.where(CustomerHealth.stage == stage)
        counted = counted.where(CustomerHealth.stage == stage)
    if min_risk is not None:
        query = query.where(CustomerHealth.churn_risk >= min_risk)
        counted = counted.where(CustomerHealth.churn_risk >= min_risk)
    if max_risk is not None:
        query = query.where(CustomerHealth.churn_risk <= max_risk)
        counted = counted.where(CustomerHealth.churn_risk <= max_risk)
    if tier is not None:
        query = query.where(CustomerValue.tier == tier)
        counted = counted.join(
            CustomerValue, CustomerValue.customer_id == CustomerHealth.customer_id
        ).where(CustomerValue.tier == tier)
    on_customer = [
        *([] if owner_id is None else [Customer.owner_id == owner_id]),
        *([] if where is None else [where]),
    ]
    if on_customer:
        query = query.where(*on_customer)
        counted = counted.join(Customer, Customer.id == CustomerHealth.customer_id).where(
            *on_customer
        )
    count = count_rows(session, counted, at_most=count_limit)
    rows = session.execute(
        query.order_by(order, CustomerHealth.customer_id).limit(limit).offset(offset)
    ).all()
    items = [
        HealthListItem(
            customer_id=health.customer_id,
            name=name or "",
            external_id=external_id,
            stage=health.stage,
            previous_stage=health.previous_stage,
            churn_risk=health.churn_risk,
            previous_risk=health.previous_risk,
            tier=_text(tier_value),
            owner_id=owner,
            reasons=[str(r) for r in (health.evidence or {}).get("reasons", [])],
        )
        for health, name, external_id, owner, tier_value in rows
    ]
    return items, count


def _text(value: object) -> str | None:
    """Return a value of an outer join as text (None stays None)."""
    return None if value is None else str(value)


def stage_summary(session: Session) -> list[StageCount]:
    """Return every stage with its customers, share and mean churn risk (all stages listed)."""
    found = {
        str(stage): (int(n), None if mean is None else float(mean))
        for stage, n, mean in session.execute(
            select(
                CustomerHealth.stage, func.count(), func.avg(CustomerHealth.churn_risk)
            ).group_by(CustomerHealth.stage)
        )
    }
    total = sum(n for n, _ in found.values())
    return [
        StageCount(
            stage=stage,
            n_customers=found.get(stage.value, (0, None))[0],
            share=found.get(stage.value, (0, None))[0] / total if total else 0.0,
            mean_risk=found.get(stage.value, (0, None))[1],
        )
        for stage in HealthStage
    ]


def cohort_curves(session: Session) -> CohortsPublic:
    """Return the cohort retention curves of the latest successful run (empty before one)."""
    run = latest_health_run(session)
    if run is None:
        return CohortsPublic(run_id=None, as_of=None, data=[])
    curves = (run.metrics or {}).get("cohorts", [])
    return CohortsPublic(
        run_id=run.id,
        as_of=run.as_of,
        data=[CohortCurve.model_validate(c) for c in curves],
    )


def retention_value(session: Session) -> RetentionValuePublic:
    """Return what +5 % retention is worth according to the latest successful run."""
    run = latest_health_run(session)
    if run is None:
        return RetentionValuePublic(
            run_id=None,
            available=False,
            message="No health analysis has run yet; run `kehu analyze`.",
        )
    metrics = run.metrics or {}
    value = metrics.get("retention_value")
    if not value:
        return RetentionValuePublic(
            run_id=run.id,
            available=False,
            message=str(
                metrics.get("retention_value_note", "The last run could not value retention.")
            ),
        )
    fields = set(RetentionValuePublic.model_fields)
    return RetentionValuePublic(
        run_id=run.id,
        available=True,
        currency=str(metrics.get("currency", "")),
        **{k: v for k, v in value.items() if k in fields and k not in ("run_id", "available")},
    )
