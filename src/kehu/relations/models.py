"""Relationship playbooks: tasks, cadence, reminders, surprises, the contact budget, referrals."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin

Amount = Numeric(14, 2)


class TaskStatus(StrEnum):
    """Where a task stands: open until someone does it or dismisses it."""

    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


class Task(TimestampMixin, Base):
    """Something a person should do for a customer, with an owner and a due date.

    Every alert of the relationship playbooks (neglect, free-service due, surprise, churn risk)
    becomes one. ``dedupe_key`` makes raising the same alert twice harmless: while a task with
    that key is open, raising it again refreshes its evidence instead of adding a second one.
    """

    __tablename__ = "relation_tasks"
    __table_args__ = (
        Index("ix_relation_tasks_owner_status_due", "owner_id", "status", "due_at"),
        Index("ix_relation_tasks_customer_status", "customer_id", "status"),
        # At most one open task per key; closed ones keep their key as history.
        Index(
            "uq_relation_tasks_open_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime]
    status: Mapped[TaskStatus] = mapped_column(String(16), default=TaskStatus.OPEN)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    #: What raised it: "rule:<name>", "cadence", "health", "user"...
    source: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(320), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class CadencePolicy(TimestampMixin, Base):
    """How often a customer of a tier should hear from us meaningfully (editable)."""

    __tablename__ = "relation_cadence_policies"

    id: Mapped[IdPK]
    tier: Mapped[str] = mapped_column(String(16), unique=True)
    every_days: Mapped[int] = mapped_column(Integer)
    #: Days the owner has to make the contact once the task is raised.
    due_in_days: Mapped[int] = mapped_column(Integer, default=7)
    is_active: Mapped[bool] = mapped_column(default=True)


class ServiceReminder(TimestampMixin, Base):
    """A free routine service due some days after buying a product (or any of a category).

    Exactly one of ``product_id`` and ``category`` is set; a product rule wins over its
    category's.
    """

    __tablename__ = "relation_service_reminders"

    id: Mapped[IdPK]
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(200), index=True)
    label: Mapped[str] = mapped_column(String(200))
    after_days: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(default=True)


class SurpriseMoment(StrEnum):
    """The moments a surprise may be given at."""

    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    COMPLAINT_FIXED = "complaint_fixed"
    SEASON = "season"


class Surprise(TimestampMixin, Base):
    """One surprise in the catalogue: unexpected, easy, rare and cheap."""

    __tablename__ = "relation_surprises"

    id: Mapped[IdPK]
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    #: Minutes of staff time.
    effort_minutes: Mapped[int] = mapped_column(Integer, default=15)
    #: Moments it suits (a list of SurpriseMoment values).
    moments: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Months it suits for the "season" moment (1-12; empty: any month).
    months: Mapped[list[int]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)


class GiftStatus(StrEnum):
    """A planned surprise is given or cancelled."""

    PLANNED = "planned"
    GIVEN = "given"
    CANCELLED = "cancelled"


class SurpriseGift(TimestampMixin, Base):
    """A surprise planned for (and then given to) one customer at one moment."""

    __tablename__ = "relation_surprise_gifts"
    __table_args__ = (Index("ix_relation_surprise_gifts_customer_at", "customer_id", "planned_at"),)

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    surprise_id: Mapped[int] = mapped_column(ForeignKey("relation_surprises.id"), index=True)
    moment: Mapped[str] = mapped_column(String(32))
    status: Mapped[GiftStatus] = mapped_column(String(16), default=GiftStatus.PLANNED)
    planned_at: Mapped[datetime]
    given_at: Mapped[datetime | None]
    cost: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    task_id: Mapped[int | None] = mapped_column(ForeignKey("relation_tasks.id"))
    #: Why this customer at this moment (the evidence shown on the task).
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RelationSettings(TimestampMixin, Base):
    """The one row of relationship settings: the contact budget and the surprise limits."""

    __tablename__ = "relation_settings"

    id: Mapped[IdPK]
    #: Contacts a customer may receive across every playbook within ``budget_window_days``.
    contact_budget: Mapped[int] = mapped_column(Integer, default=4)
    budget_window_days: Mapped[int] = mapped_column(Integer, default=30)
    #: {"playbook": priority}; higher wins a place in the budget.
    priorities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Requests at least this important wait for a slot; less important ones are dropped.
    wait_min_priority: Mapped[int] = mapped_column(Integer, default=50)
    #: Tiers whose customers may be surprised.
    surprise_tiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    surprise_every_months: Mapped[int] = mapped_column(Integer, default=6)
    surprise_monthly_budget: Mapped[Decimal] = mapped_column(Amount, default=Decimal("200"))
    currency: Mapped[str] = mapped_column(String(3), default="GBP")


class ContactDecision(StrEnum):
    """What the budget decided for a contact a playbook wanted to make."""

    SENT = "sent"
    WAITED = "waited"
    DROPPED = "dropped"


class ContactLedgerEntry(Base):
    """One request for a contact and the budget's decision (the per-customer ledger)."""

    __tablename__ = "relation_contact_ledger"
    __table_args__ = (Index("ix_relation_contact_ledger_customer_at", "customer_id", "at"),)

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    playbook: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32), default="")
    decision: Mapped[ContactDecision] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500), default="")
    #: What the contact was about (a task id, a serve id...).
    reference: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_label: Mapped[str] = mapped_column(String(320), default="")


class Referral(TimestampMixin, Base):
    """Who brought whom: a customer is referred by at most one other."""

    __tablename__ = "relation_referrals"

    id: Mapped[IdPK]
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    referred_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    referred_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(32), default="console")
    note: Mapped[str] = mapped_column(String(500), default="")


class Rule(TimestampMixin, Base):
    """A playbook rule kept as data: a condition tree and one action with its parameters."""

    __tablename__ = "relation_rules"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: The condition tree (see kehu.playbooks.rules.Condition).
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
