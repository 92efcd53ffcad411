"""Customer search and the customer 360 view, with merge and undo."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from kehu.access import access_customer_by_id, access_merge_by_id, customer_filter_for
from kehu.commerce import customer_order_stats, list_orders, orders_per_month
from kehu.commerce.stats import CustomerSort, list_customers_sorted, summarise_customer_orders
from kehu.core import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from kehu.customers import (
    CustomerFilter,
    CustomerKind,
    current_consents,
    list_contacts,
    list_identities,
    list_merges,
    merge_customers,
    undo_merge,
)
from kehu.engagement import list_interactions
from kehu.privacy import automated_decisions
from kehu.users import get_user_by_id, user_actor
from kehu.value import CustomerValuePublic, ValueErrorCode, get_customer_value
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, can_manage, current_user
from kehu.web.paging import count_limit, pager_context
from kehu.web.rendering import flash, is_htmx, render

router = APIRouter()

PAGE_SIZE = 25
#: Orders and interactions shown per page on the customer 360.
HISTORY_PAGE_SIZE = 10
#: Lines of an order shown before "show all lines".
LINES_PREVIEW = 3
MAX_ID = 2**63 - 1


def parse_id(value: str, what: str = "customer") -> int:
    """Return ``value`` as a database id, or raise a 404 for anything that cannot be one."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not 0 < int(text) <= MAX_ID:
        raise NotFoundError(f"There is no {what} {value[:40]!r}.", code="web.not_found")
    return int(text)


@router.get("/customers", dependencies=[Depends(current_user)])
def customer_list(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Literal["", "person", "organisation"] = "",
    country: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    sort: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Search customers by name, e-mail, phone or handle; filter by kind and country; sort.

    ``sort`` is ``name``, ``revenue`` or ``last_order``; anything else sorts by name.
    """
    # "#16684" is how the console shows a customer number: search for the number itself.
    text = q.strip().removeprefix("#").strip()
    filters = customer_filter_for(
        user,
        CustomerFilter(
            q=text or None,
            kind=CustomerKind(kind) if kind else None,
            country=country.strip() or None,
        ),
    )
    order = CustomerSort.parse(sort)
    bound = count_limit(filters.scope, page, PAGE_SIZE)
    rows, total = list_customers_sorted(
        db, filters, sort=order, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, count_limit=bound
    )
    context = {
        "customers": rows,
        "summaries": summarise_customer_orders(db, [row.id for row in rows]),
        "sort": order.value,
        **pager_context(total, bound, page, PAGE_SIZE),
        "page": page,
        "q": q,
        "kind": kind,
        "country": country,
        "nav": "customers",
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "customer-results":
        return render(request, "customers/_results.html", context)
    return render(request, "customers/list.html", context)


@router.get("/customers/{customer_id}", dependencies=[Depends(current_user)])
def customer_360(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    customer_id: str,
    orders_page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    interactions_page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Show everything known about one customer; orders and interactions come in pages."""
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    monthly = orders_per_month(db, customer.id)
    chart = {
        "months": [month for month, _, _ in monthly],
        "orders": [count for _, count, _ in monthly],
        "revenue": [str(value) for _, _, value in monthly],
    }
    consents = sorted(current_consents(db, customer.id).items())
    contacts = list_contacts(db, customer.id) if customer.kind == CustomerKind.ORGANISATION else []
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "identities": list_identities(db, customer.id),
            "contacts": contacts,
            "consents": consents,
            "stats": customer_order_stats(db, customer.id),
            "chart": chart,
            "currency": summarise_customer_orders(db, [customer.id])[customer.id].currency,
            **_orders_context(db, customer.id, orders_page),
            **_interactions_context(db, customer.id, interactions_page),
            "merges": list_merges(db, customer.id),
            "value": find_customer_value(db, customer.id),
            "automated": automated_decisions(db, customer.id),
            "owner": _owner_name(db, customer.owner_id),
            "nav": "customers",
        },
    )


def find_customer_value(db: DbSession, customer_id: int) -> CustomerValuePublic | None:
    """Return a customer's value scores, or ``None`` when the analysis has not scored them."""
    try:
        return get_customer_value(db, customer_id)
    except NotFoundError as exc:
        if exc.code == ValueErrorCode.NOT_SCORED:
            return None
        raise


def _owner_name(db: DbSession, owner_id: int | None) -> str | None:
    if owner_id is None:
        return None
    try:
        owner = get_user_by_id(db, owner_id)
    except NotFoundError:
        return None
    return owner.name or owner.email


def _n_pages(total: int) -> int:
    return max(1, -(-total // HISTORY_PAGE_SIZE))


def _orders_context(db: DbSession, customer_id: int, page: int) -> dict[str, Any]:
    orders, n_orders = list_orders(
        db,
        customer_id=customer_id,
        limit=HISTORY_PAGE_SIZE,
        offset=(page - 1) * HISTORY_PAGE_SIZE,
    )
    return {
        "orders": orders,
        "n_orders": n_orders,
        "orders_page": page,
        "orders_n_pages": _n_pages(n_orders),
        "lines_preview": LINES_PREVIEW,
        "history_page_size": HISTORY_PAGE_SIZE,
    }


def _interactions_context(db: DbSession, customer_id: int, page: int) -> dict[str, Any]:
    interactions, n_interactions = list_interactions(
        db,
        customer_id=customer_id,
        limit=HISTORY_PAGE_SIZE,
        offset=(page - 1) * HISTORY_PAGE_SIZE,
    )
    return {
        "interactions": interactions,
        "n_interactions": n_interactions,
        "interactions_page": page,
        "interactions_n_pages": _n_pages(n_interactions),
        "history_page_size": HISTORY_PAGE_SIZE,
    }


@router.get("/customers/{customer_id}/orders", dependencies=[Depends(current_user)])
def customer_orders(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    customer_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """One page of a customer's orders: the HTMX pager of the 360 swaps it in.

    A plain browser request goes to the 360 page at that page of orders.
    """
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    if not is_htmx(request):
        return RedirectResponse(f"/customers/{customer.id}?orders_page={page}#orders", 303)
    context = {"customer": customer, **_orders_context(db, customer.id, page)}
    return render(request, "customers/_orders.html", context)


@router.get("/customers/{customer_id}/interactions", dependencies=[Depends(current_user)])
def customer_interactions(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    customer_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """One page of a customer's interactions: the HTMX pager of the 360 swaps it in."""
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    if not is_htmx(request):
        return RedirectResponse(
            f"/customers/{customer.id}?interactions_page={page}#interactions", 303
        )
    context = {"customer": customer, **_interactions_context(db, customer.id, page)}
    return render(request, "customers/_interactions.html", context)


def _require_manager(user: CurrentUser) -> None:
    if not can_manage(user):
        raise PermissionDeniedError(
            "Only administrators and managers may merge customers or undo a merge.",
            code="web.forbidden",
        )


@router.post("/customers/{customer_id}/merge", dependencies=[Depends(verify_csrf)])
def merge_into(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    customer_id: str,
    loser_id: Annotated[str, Form(max_length=40)],
) -> Response:
    """Merge customer ``loser_id`` into this one."""
    _require_manager(user)
    winner = access_customer_by_id(db, user, parse_id(customer_id))
    try:
        loser = access_customer_by_id(db, user, parse_id(loser_id)).id
        merge_customers(db, winner_id=winner.id, loser_id=loser, actor=user_actor(user))
    except (InvalidInputError, ConflictError, NotFoundError) as exc:
        db.rollback()
        flash(request, "error", exc.message)
    else:
        db.commit()
        flash(
            request,
            "success",
            "Customer {loser} was merged into {winner}.",
            loser=loser,
            winner=winner.id,
        )
    return RedirectResponse(f"/customers/{winner.id}#merges", status_code=303)


@router.post("/customers/{customer_id}/merges/{merge_id}/undo", dependencies=[Depends(verify_csrf)])
def undo(
    request: Request, db: DbSession, user: CurrentUser, customer_id: str, merge_id: str
) -> Response:
    """Undo a merge: the merged customer comes back with their history."""
    _require_manager(user)
    customer = access_customer_by_id(db, user, parse_id(customer_id))
    try:
        access_merge_by_id(db, user, parse_id(merge_id, "merge"))
        merge = undo_merge(db, parse_id(merge_id, "merge"), actor=user_actor(user))
    except (ConflictError, NotFoundError) as exc:
        db.rollback()
        flash(request, "error", exc.message)
    else:
        db.commit()
        flash(request, "success", "Merge {merge} was undone.", merge=merge.id)
    return RedirectResponse(f"/customers/{customer.id}#merges", status_code=303)
