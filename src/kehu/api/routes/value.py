"""Customer value: the dashboard summary, scores of one customer, lists, "my customers", runs."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from kehu import access, privacy, value
from kehu.access import access_customer_by_id
from kehu.analytics.segments import SEGMENTS
from kehu.api.deps import Manager, Reader, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import MAX_ID, DbId
from kehu.core import ConflictError
from kehu.jobs import run_value_analysis
from kehu.store import count_limit_under, is_count_exact

router = APIRouter(tags=["value"], route_class=ApiRoute)


class ValueRunRequest(BaseModel):
    """Settings of an analysis run; each omitted one takes the server's setting."""

    model_config = ConfigDict(extra="forbid")

    as_of: date | None = Field(
        default=None, description="Observation end (inclusive); default: the newest order's day."
    )
    horizon_weeks: int | None = Field(default=None, ge=1, le=520)
    discount_rate_annual: float | None = Field(default=None, ge=0, le=1)
    vip_share: float | None = Field(default=None, gt=0, le=1)
    holdout_weeks: int | None = Field(default=None, ge=0, le=260)


@router.get("/value/summary", response_model=value.ValueSummary)
def read_value_summary(session: SessionDep, user: Reader) -> value.ValueSummary:
    """Return the latest successful run with tier sizes, Pareto points, CLV histogram, calibration.

    The figures are those the run stored (``figures_computed_at`` says when); a run recorded
    before runs stored them gets them computed now. Before any successful run, ``run`` is
    empty and the lists are empty.
    """
    del user
    run = value.latest_value_run(session)
    last = value.latest_value_run(session, include_failed=True)
    holdout = (run.metrics or {}).get("holdout", {}) if run else {}
    figures = None if run is None else value.dashboard_figures(session, run)
    return value.ValueSummary(
        run=None if run is None else value.ValueRunPublic.model_validate(run),
        last_attempt=None if last is None else value.ValueRunPublic.model_validate(last),
        tiers=figures.tiers if figures else [],
        pareto=figures.pareto if figures else [],
        histogram=figures.histogram if figures else [],
        calibration=list(holdout.get("by_frequency", [])),
        figures_computed_at=figures.computed_at if figures else None,
    )


@router.get("/value/customers", response_model=value.ValuedCustomersPublic)
def read_valued_customers(
    session: SessionDep,
    user: Reader,
    tier: value.ValueTier | None = None,
    segment: Annotated[str | None, Query(max_length=32)] = None,
    owner_id: DbId | None = None,
    sort: Annotated[
        str,
        Query(
            max_length=32,
            description="clv, p_alive, expected_purchases, frequency or rank; highest first, "
            "a leading - reverses.",
        ),
    ] = "clv",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> value.ValuedCustomersPublic:
    """List scored customers, most valuable first (filter by tier, segment, owner)."""
    scope = access.customer_scope(user)
    bound = count_limit_under(scope, offset, limit)
    rows, count = value.list_valued_customers(
        session,
        tier=tier,
        segment=segment,
        owner_id=owner_id,
        sort=sort,
        limit=limit,
        offset=offset,
        where=scope,
        count_limit=bound,
    )
    return value.ValuedCustomersPublic(
        data=rows, count=count, count_is_exact=is_count_exact(count, bound)
    )


@router.get("/customers/{customer_id}/value", response_model=value.CustomerValuePublic)
def read_customer_value(
    customer_id: DbId, session: SessionDep, user: Reader
) -> value.CustomerValuePublic:
    """Return one customer's value scores; 404 (with the reason) when they are not scored."""
    access_customer_by_id(session, user, customer_id)
    privacy.refuse_opted_out_scores(session, customer_id)  # 404 privacy.opted_out
    scores = value.get_customer_value(session, customer_id)
    segment = SEGMENTS.get(scores.rfm_segment)
    if segment is not None:
        scores.segment_name_en, scores.segment_name_zh = segment.name_en, segment.name_zh
    return scores


@router.get("/me/customers", response_model=value.OwnerCustomersPublic)
def read_my_customers(
    session: SessionDep,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> value.OwnerCustomersPublic:
    """List the caller's own customers with CLV, P(alive), tier, segment and days since contact."""
    rows, count = value.list_owner_customers(session, user.id, limit=limit, offset=offset)
    return value.OwnerCustomersPublic(data=rows, count=count)


@router.post("/value/runs", response_model=value.ValueRunPublic, status_code=201)
def create_value_run(
    session: SessionDep,
    settings: SettingsDep,
    user: Manager,
    body: ValueRunRequest | None = None,
) -> value.ValueRunPublic:
    """Run the value analysis now (synchronously) and return the run.

    A run the data cannot support is answered 201 with ``status: failed`` and the reason in
    ``message``; 409 while another run is in progress.
    """
    body = body or ValueRunRequest()
    if value.find_running_value_run(session) is not None:
        raise ConflictError(
            "A value analysis is already running; try again when it has finished.",
            code=value.ValueErrorCode.RUN_IN_PROGRESS,
        )
    run = run_value_analysis(
        session,
        actor=api_actor(user),
        as_of=body.as_of,
        horizon_weeks=body.horizon_weeks or settings.value_horizon_weeks,
        discount_rate_annual=(
            settings.value_discount_rate_annual
            if body.discount_rate_annual is None
            else body.discount_rate_annual
        ),
        vip_share=body.vip_share or settings.vip_share,
        holdout_weeks=body.holdout_weeks,
    )
    return value.ValueRunPublic.model_validate(run)
