"""Interactions: every contact between the business and a customer, in either direction."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
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
