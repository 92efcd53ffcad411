"""Relationship health: a customer's stage and churn risk, lists, cohort curves, retention value."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from kehu import access, health, privacy
from kehu.access import access_customer_by_id
from kehu.analytics.health import StageThresholds
from kehu.api.deps import Manager, Reader, SessionDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import MAX_ID, DbId
from kehu.core import ConflictError
from kehu.jobs.health import run_health_analysis
from kehu.store import count_limit_under, is_count_exact

router = APIRouter(tags=["health"], route_class=ApiRoute)


class HealthRunRequest(BaseModel):
    """Settings of a health run; each omitted one takes the server's setting."""

    model_config = ConfigDict(extra="forbid")

    as_of: date | None = Field(
        default=None, description="Observation end (inclusive); default: the newest sale's day."
    )
    window_days: int | None = Field(default=None, ge=7, le=730)
    alert_risk: float | None = Field(default=None, gt=0, le=1)
    thresholds: StageThresholds | None = None


@router.get("/health/summary", response_model=health.HealthSummary)
def read_health_summary(session: SessionDep, user: Reader) -> health.HealthSummary:
    """Return the latest successful run, the stage distribution and the churn model's check."""
    del user
    run = health.latest_health_run(session)
    last = health.latest_health_run(session, include_failed=True)
    return health.HealthSummary(
        run=None if run is None else health.HealthRunPublic.model_validate(run),
        last_attempt=None if last is None else health.HealthRunPublic.model_validate(last),
        stages=health.stage_summary(session),
        churn=dict((run.metrics or {}).get("churn", {})) if run else {},
    )


@router.get("/health/customers", response_model=health.HealthListPublic)
def read_health_customers(
    session: SessionDep,
    user: Reader,
    stage: health.HealthStage | None = None,
    min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    tier: Annotated[str | None, Query(max_length=16)] = None,
    owner_id: DbId | None = None,
    sort: Annotated[
        str,
        Query(
            max_length=32,
            description="risk, risk_rise or customer; highest first, a leading - reverses.",
        ),
    ] = "risk",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> health.HealthListPublic:
    """List customers by stage and churn risk, riskiest first."""
    scope = access.customer_scope(user)
    bound = count_limit_under(scope, offset, limit)
    rows, count = health.list_customer_health(
        session,
        stage=stage,
        min_risk=min_risk,
        max_risk=max_risk,
        tier=tier,
        owner_id=owner_id,
        sort=sort,
        limit=limit,
        offset=offset,
        where=scope,
        count_limit=bound,
    )
    return health.HealthListPublic(
        data=rows, count=count, count_is_exact=is_count_exact(count, bound)
    )


@router.get("/customers/{customer_id}/health", response_model=health.CustomerHealthPublic)
def read_customer_health(
    customer_id: DbId, session: SessionDep, user: Reader
) -> health.CustomerHealthPublic:
    """Return a customer's stage, churn risk and the evidence behind them (404 with the reason)."""
    access_customer_by_id(session, user, customer_id)
    privacy.refuse_opted_out_scores(session, customer_id)  # 404 privacy.opted_out
    return health.get_customer_health(session, customer_id)


@router.get("/health/cohorts", response_model=health.CohortsPublic)
def read_health_cohorts(session: SessionDep, user: Reader) -> health.CohortsPublic:
    """Return the monthly cohort retention curves of the latest run (empty before any)."""
    del user
    return health.cohort_curves(session)


@router.get("/health/retention-value", response_model=health.RetentionValuePublic)
def read_retention_value(session: SessionDep, user: Reader) -> health.RetentionValuePublic:
    """Return what +5 % retention is worth from the business's own CLV, beside the seed's claim."""
    del user
    return health.retention_value(session)


@router.post("/health/runs", response_model=health.HealthRunPublic, status_code=201)
def create_health_run(
    session: SessionDep, user: Manager, body: HealthRunRequest | None = None
) -> health.HealthRunPublic:
    """Run the health analysis now (synchronously) and return the run.

    A run the data cannot support is answered 201 with ``status: failed`` and the reason in
    ``message``; 409 while another run is in progress.
    """
    body = body or HealthRunRequest()
    if health.find_running_health_run(session) is not None:
        raise ConflictError(
            "A health analysis is already running; try again when it has finished.",
            code=health.HealthErrorCode.RUN_IN_PROGRESS,
        )
    run = run_health_analysis(
        session,
        actor=api_actor(user),
        as_of=body.as_of,
        window_days=body.window_days,
        alert_risk=body.alert_risk,
        thresholds=body.thresholds,
    )
    return health.HealthRunPublic.model_validate(run)
