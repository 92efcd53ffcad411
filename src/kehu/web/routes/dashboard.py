"""The home page: headline counts and the latest imports."""

from collections.abc import Sequence

from fastapi import APIRouter, Request
from starlette.responses import Response

from kehu import ingest
from kehu.commerce.totals import order_totals
from kehu.customers import CustomerFilter, list_customers
from kehu.web.deps import CurrentUser, DbSession, can_manage
from kehu.web.rendering import render

router = APIRouter()


@router.get("/")
def dashboard(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """Show counts of customers, orders and revenue, and the latest imports."""
    _, n_customers = list_customers(db, CustomerFilter(), limit=1)
    totals = order_totals(db)
    imports: Sequence[ingest.ImportRun] = []
    if can_manage(user):
        imports, _ = ingest.list_import_runs(db, limit=5, offset=0)
    return render(
        request,
        "dashboard/index.html",
        {"n_customers": n_customers, "totals": totals, "imports": imports, "nav": "home"},
    )
