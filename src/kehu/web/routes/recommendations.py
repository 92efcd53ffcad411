"""The recommendations panel of the customer 360 (loaded by HTMX so the page stays fast).

The panel shows what the customer would be offered now, after restraint, with the reasons in
words; each channel's status (consent, frequency cap used and left, open or closed and why);
the items stopped in every channel and until when; and their history of impressions, clicks,
purchases and dismisses. It serves in the
``console`` channel without recording: a member of staff looking is not an impression.
"""

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from kehu.access import access_customer_by_id
from kehu.engagement import count_feedback_events, list_feedback_events
from kehu.jobs.recommend import channels_overview, item_names, serve_recommendations
from kehu.web.deps import CurrentUser, DbSession, current_user
from kehu.web.rendering import is_htmx, render
from kehu.web.routes.customers import parse_id

router = APIRouter()

#: Items shown in the panel, and events of the history.
PANEL_K = 8
HISTORY_LIMIT = 20
#: Stopped items listed (the count says how many there are in all).
STOPPED_LIMIT = 20


@router.get("/customers/{customer_id}/recommendations", dependencies=[Depends(current_user)])
def customer_recommendations(
    request: Request, db: DbSession, user: CurrentUser, customer_id: str
) -> Response:
    """Render the panel; a plain browser request goes to the 360 page at the panel."""
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    if not is_htmx(request):
        return RedirectResponse(f"/customers/{customer.id}#recommendations", 303)
    served = serve_recommendations(
        db, customer.id, settings=request.app.state.settings, channel="console", k=PANEL_K
    )
    history = list_feedback_events(db, customer.id, limit=HISTORY_LIMIT)
    sources = {r.item_id for item in served.items for r in item.reasons if r.item_id}
    withheld = [w for w in served.withheld if w.item_id is not None][:PANEL_K]
    overview = channels_overview(db, customer.id, settings=request.app.state.settings)
    stopped = overview.stopped[:STOPPED_LIMIT]
    names = item_names(db, sources | {w.item_id for w in [*withheld, *stopped] if w.item_id})
    return render(
        request,
        "customers/_recommendations.html",
        {
            "customer": customer,
            "served": served,
            "withheld": withheld,
            "channels": overview.channels,
            "stopped": stopped,
            "n_stopped": len(overview.stopped),
            "names": names,
            "history": history,
            "counts": count_feedback_events(db, customer.id),
        },
    )
