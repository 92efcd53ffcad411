"""Orders: list, read with lines, create."""

from typing import Annotated

from fastapi import APIRouter, Query

from kehu import access, commerce
from kehu.access import access_order_by_id, customer_reference
from kehu.api.deps import OrderTaker, Reader, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import (
    MAX_ID,
    DbId,
    OrderCreate,
    OrderDetail,
    OrderPublic,
    OrdersPublic,
    UtcDatetime,
)
from kehu.core import InvalidInputError
from kehu.store import count_limit_under, is_count_exact

router = APIRouter(prefix="/orders", tags=["orders"], route_class=ApiRoute)


@router.get("", response_model=OrdersPublic)
def read_orders(
    session: SessionDep,
    user: Reader,
    customer_id: DbId | None = None,
    since: Annotated[
        UtcDatetime | None, Query(description="Ordered at or after (ISO 8601).")
    ] = None,
    until: Annotated[UtcDatetime | None, Query(description="Ordered before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> OrdersPublic:
    """List orders, newest first."""
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("since must be earlier than until.", code="commerce.bad_period")
    scope = access.record_scope(user, commerce.Order.customer_id)
    bound = count_limit_under(scope, offset, limit)
    rows, count = commerce.list_orders(
        session,
        customer_id=customer_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
        where=scope,
        count_limit=bound,
    )
    return OrdersPublic(
        data=[OrderPublic.of(o) for o in rows],
        count=count,
        count_is_exact=is_count_exact(count, bound),
    )


@router.get("/{order_id}", response_model=OrderDetail)
def read_order(order_id: DbId, session: SessionDep, user: Reader) -> OrderDetail:
    """Return one order with its lines."""
    return OrderDetail.of(access_order_by_id(session, user, order_id))


@router.post("", response_model=OrderDetail, status_code=201)
def create_order(
    body: OrderCreate, session: SessionDep, settings: SettingsDep, user: OrderTaker
) -> OrderDetail:
    """Create an order (every line negative: a return); 409 when the external id exists."""
    if body.customer_id is not None:
        customer_reference(session, user, body.customer_id, field="customer_id")
    order = commerce.create_order(
        session,
        external_id=body.external_id,
        ordered_at=body.ordered_at,
        lines=[
            commerce.LineInput(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                name=line.name,
            )
            for line in body.lines
        ],
        actor=api_actor(user),
        customer_id=body.customer_id,
        channel=body.channel,
        currency=body.currency or settings.default_currency,
        country=body.country,
    )
    return OrderDetail.of(commerce.get_order(session, order.id))
