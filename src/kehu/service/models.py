"""Service desk tables.

Categories, SLA policies, tickets with their messages and events, canonical answers and
policy decisions.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin

Amount = Numeric(14, 2)


class TicketStatus(StrEnum):
    """Where a ticket stands. ``resolved`` may be reopened; ``closed`` is final."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketChannel(StrEnum):
    """How a ticket arrived."""

    API = "api"
    EMAIL = "email"
    CONSOLE = "console"
    PHONE = "phone"
    CHAT = "chat"


class AuthorKind(StrEnum):
    """Who wrote a message on a ticket."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class CategorySource(StrEnum):
    """Who put a ticket in its category; only people's choices become training labels."""

    MODEL = "model"
    AGENT = "agent"
    REQUESTER = "requester"


class Outcome(StrEnum):
    """How a customer's request ended (compared across tickets of one category)."""

    APPROVED = "approved"
    PARTIAL = "partial"
    REFUSED = "refused"
    INFORMED = "informed"


class SlaPolicy(TimestampMixin, Base):
    """Promised response and resolution times, counted in business hours.

    ``targets`` maps a customer tier (``default``, ``vip``, ``high``...) to
    ``{"first_response_minutes": int, "resolution_minutes": int}``; ``business_hours`` maps an
    ISO weekday (``"1"`` Monday ... ``"7"`` Sunday) to ``["09:00", "18:00"]``; ``holidays``
    lists ISO dates with no business hours.
    """

    __tablename__ = "service_sla_policies"

    id: Mapped[IdPK]
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Warn when this share of the allowed business time is used up.
    warn_at_share: Mapped[float] = mapped_column(Float, default=0.8)


class Category(TimestampMixin, Base):
    """A node of the admin-defined category tree; leaves route tickets."""

    __tablename__ = "service_categories"

    id: Mapped[IdPK]
    code: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("service_sla_policies.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class CanonicalAnswer(TimestampMixin, Base):
    """One version of the answer every agent is offered for a category."""

    __tablename__ = "service_answers"
    __table_args__ = (UniqueConstraint("category_id", "version"),)

    id: Mapped[IdPK]
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(300), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)


class Ticket(TimestampMixin, Base):
    """A customer's request and everything needed to answer it on time."""

    __tablename__ = "service_tickets"
    __table_args__ = (
        Index("ix_service_tickets_department_status", "department_id", "status"),
        Index("ix_service_tickets_category_opened", "category_id", "opened_at"),
    )

    id: Mapped[IdPK]
    external_id: Mapped[str | None] = mapped_column(String(256), unique=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    channel: Mapped[TicketChannel] = mapped_column(String(16))
    status: Mapped[TicketStatus] = mapped_column(String(16), default=TicketStatus.NEW)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    requester: Mapped[str] = mapped_column(String(320), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"))
    category_source: Mapped[CategorySource | None] = mapped_column(String(16))
    #: The classifier's best guess and its calibrated confidence (kept after a correction).
    predicted_category_id: Mapped[int | None] = mapped_column(ForeignKey("service_categories.id"))
    confidence: Mapped[float | None] = mapped_column(Float)
    in_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(16), default="default")
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("service_sla_policies.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    n_reopened: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    #: P(positive) of the customer's last messages, written by the quality job.
    sentiment: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[Outcome | None] = mapped_column(String(16))
    outcome_amount: Mapped[Decimal | None] = mapped_column(Amount)
    #: Loss reduced: what the customer claimed, what was paid out, what was recovered.
    amount_claimed: Mapped[Decimal | None] = mapped_column(Amount)
    amount_paid: Mapped[Decimal | None] = mapped_column(Amount)
    value_recovered: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    #: Optimistic locking: each agent-facing change bumps it with a compare-and-set, so two
    #: agents saving one ticket cannot silently overwrite each other (operations.py).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class TicketMessage(TimestampMixin, Base):
    """One message of a ticket's thread (attachments are listed, not stored)."""

    __tablename__ = "service_messages"
    __table_args__ = (Index("ix_service_messages_ticket_sent", "ticket_id", "sent_at"),)

    id: Mapped[IdPK]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("service_tickets.id", ondelete="CASCADE"))
    author_kind: Mapped[AuthorKind] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: ``[{"name", "content_type", "size"}]``
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class TicketEvent(Base):
    """A change of a ticket (status, assignment, category): the history QA and SLA read."""

    __tablename__ = "service_ticket_events"
    __table_args__ = (Index("ix_service_ticket_events_ticket_at", "ticket_id", "at"),)

    id: Mapped[IdPK]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("service_tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    old: Mapped[str] = mapped_column(String(128), default="")
    new: Mapped[str] = mapped_column(String(128), default="")


class PolicyDecision(TimestampMixin, Base):
    """A decision on a request the policy limits: the rule applied and the steps tried."""

    __tablename__ = "service_policy_decisions"

    id: Mapped[IdPK]
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE"), index=True
    )
    rule_code: Mapped[str] = mapped_column(String(64))
    rule_text: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[Outcome] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Amount)
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    reply: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
