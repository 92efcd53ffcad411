"""Reads of the webhooks feature."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.core import NotFoundError
from kehu.webhooks.errors import WebhookErrorCode
from kehu.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """Return the subscription or raise :class:`NotFoundError`."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError(
            f"There is no webhook subscription {subscription_id}.",
            code=WebhookErrorCode.SUBSCRIPTION_NOT_FOUND,
        )
    return subscription


def list_subscriptions(session: Session) -> Sequence[WebhookSubscription]:
    """Return every subscription, by name."""
    return session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.name)).all()


def list_deliveries(
    session: Session,
    *,
    subscription_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[tuple[WebhookDelivery, WebhookEvent]], int]:
    """Return one page of deliveries with their events (newest first) and the total count."""
    query = select(WebhookDelivery, WebhookEvent).join(
        WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
    )
    if subscription_id is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset)
    ).all()
    return [(d, e) for d, e in rows], total


def list_attempts(session: Session, delivery_id: int) -> Sequence[WebhookAttempt]:
    """Return a delivery's attempts, first first."""
    return session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt)
    ).all()
