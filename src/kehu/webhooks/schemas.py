"""Contracts of the webhooks feature (API and console)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kehu.webhooks.models import DeliveryStatus


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SubscriptionCreate(BaseModel):
    """A new subscription."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000, examples=["https://example.com/hooks/kehu"])
    event_types: list[str] = Field(min_length=1, max_length=50, examples=[["ticket.created"]])


class SubscriptionUpdate(BaseModel):
    """Changes to a subscription; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=50)
    is_active: bool | None = None


class SubscriptionPublic(_Out):
    """A subscription (its secret is shown only when created or rotated)."""

    id: int
    name: str
    url: str
    event_types: list[str]
    is_active: bool
    n_consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime


class SubscriptionWithSecret(SubscriptionPublic):
    """A subscription with the ``whsec_...`` secret receivers verify signatures with."""

    secret: str


class DeliveryPublic(BaseModel):
    """One event to one subscription, with its latest attempt."""

    id: int
    subscription_id: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    n_attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    response_code: int | None
    latency_ms: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime


class DeliveriesPublic(BaseModel):
    """A page of deliveries."""

    data: list[DeliveryPublic]
    count: int


class EventTypePublic(BaseModel):
    """An event type and what it means."""

    type: str
    description: str
