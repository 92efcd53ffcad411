"""Interactions: every contact between the business and a customer, in either direction."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.store import Base, IdPK, TimestampMixin


class Direction(StrEnum):
    """Who started the interaction."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Interaction(TimestampMixin, Base):
    """A call, message, visit or e-mail with a customer."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_at", "customer_id", "occurred_at"),)

    id: Mapped[IdPK]
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[Direction] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: What we did: contact, service, gift, fix, surprise (kehu.relations.InteractionKind).
    kind: Mapped[str] = mapped_column(String(16), default="contact", server_default="contact")


class RecommendationEventKind(StrEnum):
    """What happened to a recommended item."""

    IMPRESSION = "impression"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    DISMISS = "dismiss"


class RecommendationEvent(TimestampMixin, Base):
    """One feedback event on a recommended item: shown, clicked, put in the cart, bought, dismissed.

    ``event_id`` is the sender's idempotency key: an event sent twice is stored once.
    ``serve_id`` groups the impressions of one served list (one occasion in a channel).
    """

    __tablename__ = "recommendation_events"
    __table_args__ = (Index("ix_recommendation_events_customer_at", "customer_id", "occurred_at"),)

    id: Mapped[IdPK]
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[RecommendationEventKind] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    serve_id: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int | None]
    score: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), default="api")
