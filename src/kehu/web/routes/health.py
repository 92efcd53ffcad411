"""Relationship health: the health page, "run now", and the health card of the customer 360."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from kehu.access import access_customer_by_id, customer_scope
from kehu.analytics.health import SIGNALS
from kehu.health import (
    HealthStage,
    cohort_curves,
    find_customer_health,
    latest_health_run,
    list_customer_health,
    retention_value,
    stage_summary,
)
from kehu.jobs.health import run_health_analysis
from kehu.privacy import is_opted_out
from kehu.users import user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, Manager, current_user
from kehu.web.paging import count_limit, pager_context
from kehu.web.rendering import is_htmx, render
from kehu.web.routes.customers import parse_id
from kehu.web.value_view import cohort_chart, run_now

router = APIRouter()

PAGE_SIZE = 25
STAGES = tuple(stage.value for stage in HealthStage)
#: Stages listed by default on the page: the ones that need somebody to act.
WATCH = (HealthStage.AT_RISK.value, HealthStage.PRICE_DRIVEN.value)


@router.get("/health", dependencies=[Depends(current_user)])
def health_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    stage: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Show stages, the accounts at risk with their evidence, cohort curves and the +5 % value.

    An unknown ``stage`` shows the watch list (at risk and price-driven).
    """
    stage = stage if stage in STAGES else ""
    run = latest_health_run(db)
    last = latest_health_run(db, include_failed=True)
    scope = customer_scope(user)
    bound = count_limit(scope, page if stage else 1, PAGE_SIZE)
    if stage:
        rows, total = list_customer_health(
            db,
            stage=HealthStage(stage),
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            where=scope,
            count_limit=bound,
        )
        paging = pager_context(total, bound, page, PAGE_SIZE)
    else:
        rows, total, more = [], 0, False
        for watched in WATCH:
            part, n = list_customer_health(
                db, stage=HealthStage(watched), limit=PAGE_SIZE, where=scope, count_limit=bound
            )
            rows += part
            part_paging = pager_context(n, bound, 1, PAGE_SIZE)
            total += part_paging["total"]
            more = more or part_paging["total_more"]
        rows = sorted(rows, key=lambda r: -r.churn_risk)[:PAGE_SIZE]
        paging = {"total": total, "total_more": more, "n_pages": 1}
    context: dict[str, Any] = {
        "run": run,
        "attempt": last if last is not None and last is not run else None,
        "stages": stage_summary(db),
        "rows": rows,
        **paging,
        "page": page,
        "stage": stage,
        "stage_codes": STAGES,
        "signal_codes": SIGNALS,
        "cohorts": cohort_chart(cohort_curves(db).data),
        "value": retention_value(db),
        "check": ((run.metrics or {}).get("churn", {}).get("check", {}) if run else {}),
        "nav": "health",
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "health-list":
        return render(request, "health/_list.html", context)
    return render(request, "health/dashboard.html", context)


@router.post("/health/run", dependencies=[Depends(verify_csrf)])
def run_health(request: Request, db: DbSession, user: Manager) -> Response:
    """Run the health analysis now and say how it went (admins and managers)."""
    return run_now(
        request,
        db,
        back="/health",
        work=lambda: run_health_analysis(db, actor=user_actor(user)),
        failure="The health analysis failed: {reason}",
        success="Health analysis {id} finished: {n} customers staged, {tasks} task(s) for owners.",
        failed="The health analysis failed.",
        fields=lambda run: {"id": run.id, "n": run.n_customers, "tasks": run.n_tasks},
    )


@router.get("/customers/{customer_id}/health", dependencies=[Depends(current_user)])
def customer_health_card(
    request: Request, db: DbSession, user: CurrentUser, customer_id: str
) -> Response:
    """Render the 360's health card; a plain browser request goes to the 360 page at the card."""
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    if not is_htmx(request):
        return RedirectResponse(f"/customers/{customer.id}#health", 303)
    return render(
        request,
        "health/_card.html",
        {
            "customer": customer,
            "health": find_customer_health(db, customer.id),
            "opted_out": is_opted_out(db, customer.id),
        },
    )
