"""Webhook factories: a subscription with one queued delivery."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.webhooks import WebhookDelivery, create_subscription
from tests.factories import ACTOR, make_customer


def make_webhook(session: Session) -> dict[str, int]:
    """Subscribe example.com to customer.created and queue one delivery; return their ids."""
    subscription = create_subscription(
        session,
        name="factory hook",
        url="https://example.com/hooks/kehu",
        event_types=["customer.created"],
        actor=ACTOR,
    )
    make_customer(session)
    delivery_id = session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == subscription.id)
    ).one()
    return {"subscription": subscription.id, "delivery": delivery_id}
