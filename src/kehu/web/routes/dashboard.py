"""The home page: headline counts and the latest imports."""

from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from kehu import ingest
from kehu.commerce import order_totals
from kehu.customers import CustomerFilter, list_customers
from kehu.value import OrderFigures, latest_value_run, stored_dashboard_figures
from kehu.web.deps import CurrentUser, DbSession, can_manage
from kehu.web.rendering import render

router = APIRouter()


def _order_figures(db: DbSession) -> tuple[OrderFigures, datetime | None]:
    """Return the store's order figures and when they were counted (None: just now).

    Summing every order on each visit takes most of a second at 4M orders, so the figures
    come from the latest value run, which counts them when it runs (issue 8 §3). Before any
    run, or with a run that did not store them, they are counted now.
    """
    run = latest_value_run(db)
    stored = None if run is None else stored_dashboard_figures(run)
    if stored is not None:
        return stored.orders, stored.computed_at
    totals = order_totals(db)
    live = OrderFigures(
        n_orders=totals.n_orders, n_returns=totals.n_returns, revenue=totals.revenue
    )
    return live, None


@router.get("/")
def dashboard(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """Show counts of customers, orders and revenue, and the latest imports."""
    _, n_customers = list_customers(db, CustomerFilter(), limit=1)
    totals, totals_at = _order_figures(db)
    imports: Sequence[ingest.ImportRun] = []
    if can_manage(user):
        imports, _ = ingest.list_import_runs(db, limit=5, offset=0)
    return render(
        request,
        "dashboard/index.html",
        {
            "n_customers": n_customers,
            "totals": totals,
            "totals_at": totals_at,
            "imports": imports,
            "nav": "home",
        },
    )
