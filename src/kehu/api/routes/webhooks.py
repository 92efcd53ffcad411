"""Webhooks out (admins): subscriptions per event type, the delivery log, retries."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kehu import webhooks
from kehu.api.deps import Admin, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import MAX_ID, DbId
from kehu.webhooks import schemas as s
from kehu.webhooks.models import DeliveryStatus

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=ApiRoute)


@router.get("/event-types", response_model=list[s.EventTypePublic])
def read_event_types(user: Admin) -> list[s.EventTypePublic]:
    """List the event types a subscription may ask for (or ``*`` for all)."""
    del user
    return [s.EventTypePublic(type=k, description=v) for k, v in webhooks.EVENT_TYPES.items()]


@router.get("/subscriptions", response_model=list[s.SubscriptionPublic])
def read_subscriptions(session: SessionDep, user: Admin) -> list[s.SubscriptionPublic]:
    """List every webhook subscription (secrets are not shown)."""
    del user
    return [s.SubscriptionPublic.model_validate(x) for x in webhooks.list_subscriptions(session)]


@router.post("/subscriptions", response_model=s.SubscriptionWithSecret, status_code=201)
def create_subscription(
    body: s.SubscriptionCreate, session: SessionDep, settings: SettingsDep, user: Admin
) -> s.SubscriptionWithSecret:
    """Subscribe a URL to event types; the answer carries the signing secret, shown only now.

    Receivers verify each request's ``webhook-signature`` with it (docs/webhooks.md). A URL
    on a loopback, private, link-local or metadata address is refused (422
    ``webhooks.unsafe_url``) unless ``KEHU_WEBHOOKS_ALLOW_PRIVATE=true``.
    """
    subscription = webhooks.create_subscription(
        session,
        name=body.name,
        url=body.url,
        event_types=body.event_types,
        actor=api_actor(user),
        allow_private=settings.webhooks_allow_private,
    )
    return s.SubscriptionWithSecret.model_validate(subscription)


@router.get("/subscriptions/{subscription_id}", response_model=s.SubscriptionPublic)
def read_subscription(
    subscription_id: DbId, session: SessionDep, user: Admin
) -> s.SubscriptionPublic:
    """Return one subscription."""
    del user
    return s.SubscriptionPublic.model_validate(webhooks.get_subscription(session, subscription_id))


@router.patch("/subscriptions/{subscription_id}", response_model=s.SubscriptionPublic)
def update_subscription(
    subscription_id: DbId,
    body: s.SubscriptionUpdate,
    session: SessionDep,
    settings: SettingsDep,
    user: Admin,
) -> s.SubscriptionPublic:
    """Change the URL or event types, or disable/enable (enabling resets the failure count)."""
    subscription = webhooks.update_subscription(
        session,
        subscription_id,
        actor=api_actor(user),
        allow_private=settings.webhooks_allow_private,
        **body.model_dump(exclude_unset=True),
    )
    return s.SubscriptionPublic.model_validate(subscription)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret", response_model=s.SubscriptionWithSecret
)
def rotate_secret(
    subscription_id: DbId, session: SessionDep, user: Admin
) -> s.SubscriptionWithSecret:
    """Give the subscription a new signing secret (shown only now; the old one stops at once)."""
    subscription = webhooks.rotate_secret(session, subscription_id, actor=api_actor(user))
    return s.SubscriptionWithSecret.model_validate(subscription)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: DbId, session: SessionDep, user: Admin) -> Response:
    """Delete a subscription, its pending deliveries and its log."""
    webhooks.delete_subscription(session, subscription_id, actor=api_actor(user))
    return Response(status_code=204)


def _delivery(delivery: webhooks.WebhookDelivery, event: webhooks.WebhookEvent) -> s.DeliveryPublic:
    return s.DeliveryPublic(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        event_id=event.event_id,
        event_type=event.event_type,
        status=DeliveryStatus(delivery.status),
        n_attempts=delivery.n_attempts,
        next_attempt_at=(
            delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING else None
        ),
        last_attempt_at=delivery.last_attempt_at,
        response_code=delivery.response_code,
        latency_ms=delivery.latency_ms,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


@router.get("/deliveries", response_model=s.DeliveriesPublic)
def read_deliveries(
    session: SessionDep,
    user: Admin,
    subscription_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> s.DeliveriesPublic:
    """Return the delivery log, newest first: status, attempts, last answer and latency."""
    del user
    rows, total = webhooks.list_deliveries(
        session, subscription_id=subscription_id, status=status, limit=limit, offset=offset
    )
    return s.DeliveriesPublic(data=[_delivery(d, e) for d, e in rows], count=total)


@router.post("/deliveries/{delivery_id}/retry", response_model=s.DeliveryPublic)
def retry_delivery(delivery_id: DbId, session: SessionDep, user: Admin) -> s.DeliveryPublic:
    """Queue a failed delivery again now (its subscription must be active to be sent)."""
    delivery = webhooks.retry_delivery(session, delivery_id, actor=api_actor(user))
    event = session.get(webhooks.WebhookEvent, delivery.event_id)
    assert event is not None  # noqa: S101 - a delivery's event is cascade-deleted with it
    return _delivery(delivery, event)
