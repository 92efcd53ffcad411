"""Webhook subscriptions, the outbox of events and the delivery log.

:func:`kehu.webhooks.emit` writes an :class:`WebhookEvent` and one pending
:class:`WebhookDelivery` per matching subscription *in the caller's transaction*: a change that
rolls back takes its events with it, and a committed change cannot lose them (the outbox
pattern). The worker (:mod:`kehu.jobs.webhooks`) sends due deliveries and logs every attempt.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin
from kehu.webhooks.secrets import EncryptedSecret


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every attempt failed; given up


class WebhookSubscription(TimestampMixin, Base):
    """A receiver's URL and the event types it wants, signed with its own secret."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: ``whsec_<base64 key>`` (Standard Webhooks). Signing needs the key itself, so it is
    #: encrypted at rest, not hashed (:mod:`kehu.webhooks.secrets`).
    secret: Mapped[str] = mapped_column(EncryptedSecret())
    #: Event types wanted; ``["*"]`` means every type.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    n_consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")


class WebhookEvent(Base):
    """One event in the outbox: its type and JSON payload, as sent to every subscriber."""

    __tablename__ = "webhook_events"

    id: Mapped[IdPK]
    #: The id receivers see (``webhook-id``); the same on every retry, for their deduplication.
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(TimestampMixin, Base):
    """One event to one subscription: its status, attempts and last answer."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )

    id: Mapped[IdPK]
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    status: Mapped[DeliveryStatus] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    n_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery (the delivery log)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[IdPK]
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    is_success: Mapped[bool] = mapped_column(Boolean, default=False)
