"""Customer value: the value dashboard, "run analysis now" and an owner's "my customers"."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kehu.access import customer_scope
from kehu.jobs.value import run_value_analysis
from kehu.users import Role, list_users, user_actor
from kehu.value import (
    ValueTier,
    dashboard_figures,
    latest_value_run,
    list_owner_customers,
    list_valued_customers,
)
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, Manager, can_manage, current_user
from kehu.web.paging import count_limit, pager_context
from kehu.web.rendering import is_htmx, render
from kehu.web.value_view import (
    SEGMENT_CODES,
    calibration_chart,
    histogram_chart,
    holdout_skipped,
    model_parameters,
    pareto_chart,
    run_now,
    tier_cards,
)

router = APIRouter()

PAGE_SIZE = 25
TIERS = tuple(tier.value for tier in ValueTier)


def _n_pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


@router.get("/value", dependencies=[Depends(current_user)])
def value_dashboard(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    tier: Annotated[str, Query(max_length=16)] = "",
    segment: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Show the latest analysis run, tier sizes, the charts and the most valuable customers.

    Unknown ``tier`` or ``segment`` values are ignored (the filter shows "all").
    """
    tier = tier if tier in TIERS else ""
    segment = segment if segment in SEGMENT_CODES else ""
    run = latest_value_run(db)
    attempt = latest_value_run(db, include_failed=True)
    scope = customer_scope(user)
    bound = count_limit(scope, page, PAGE_SIZE)
    rows, total = list_valued_customers(
        db,
        tier=tier or None,
        segment=segment or None,
        sort="clv",
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        where=scope,
        count_limit=bound,
    )
    context: dict[str, Any] = {
        "run": run,
        "attempt": attempt if attempt is not None and attempt is not run else None,
        "rows": rows,
        **pager_context(total, bound, page, PAGE_SIZE),
        "page": page,
        "tier": tier,
        "segment": segment,
        "tiers": TIERS,
        "segments": SEGMENT_CODES,
        "nav": "value",
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "value-top":
        return render(request, "value/_top.html", context)
    if run is not None:
        # Stored by the run: the scores are not read again on each visit (issue 8 §3).
        figures = dashboard_figures(db, run)
        context.update(
            {
                "figures": figures,
                "cards": tier_cards(figures.tiers),
                "pareto": pareto_chart(
                    figures.pareto, at=figures.pareto_at, share_at=figures.pareto_share_at
                ),
                "histogram": histogram_chart(figures.histogram),
                "calibration": calibration_chart(run),
                "holdout_skipped": holdout_skipped(run),
                "parameters": model_parameters(run),
            }
        )
    return render(request, "value/dashboard.html", context)


@router.post("/value/run", dependencies=[Depends(verify_csrf)])
def run_analysis(request: Request, db: DbSession, user: Manager) -> Response:
    """Run the customer-value analysis now and say how it went (admins and managers)."""
    return run_now(
        request,
        db,
        back="/value",
        work=lambda: run_value_analysis(db, actor=user_actor(user)),
        failure="The analysis failed: {reason}",
        success="Analysis {id} finished: {n} customers scored, {vip} VIP.",
        failed="The analysis failed.",
        fields=lambda run: {"id": run.id, "n": run.n_scored, "vip": run.n_vip},
    )


@router.get("/me/customers")
def my_customers(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    owner: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List the customers a user owns, the most valuable first.

    Admins and managers may pick another owner with ``owner``; everyone else sees their own.
    """
    owners = [u for u in list_users(db) if u.role == Role.OWNER and u.is_active]
    if user.role != Role.ADMIN:  # a manager picks among their team (docs/access.md)
        owners = [u for u in owners if u.department_id == user.department_id]
    owner_id = user.id
    in_team = user.role == Role.ADMIN or owner in {u.id for u in owners}
    if can_manage(user) and owner is not None and in_team:
        owner_id = owner
    rows, total = list_owner_customers(db, owner_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "value/my_customers.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "n_pages": _n_pages(total),
            "owners": owners if can_manage(user) else [],
            "owner_id": owner_id,
            "owner_name": next((u.name for u in owners if u.id == owner_id), user.name),
            "nav": "me",
        },
    )
