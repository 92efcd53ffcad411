"""Public contracts of the relationship playbooks (what the API and console show)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TaskPublic(_Out):
    """A task with its evidence."""

    id: int
    customer_id: int
    kind: str
    title: str
    owner_id: int | None
    due_at: datetime
    status: str
    evidence: dict[str, Any]
    dedupe_key: str
    source: str
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str
    note: str


class TasksPublic(BaseModel):
    """One page of tasks."""

    data: list[TaskPublic]
    count: int


class OwnerLoadPublic(_Out):
    """Open and overdue tasks of one owner."""

    owner_id: int | None
    owner_name: str
    n_open: int
    n_overdue: int


class CadencePolicyPublic(_Out):
    """Days between meaningful contacts for one tier."""

    id: int
    tier: str
    every_days: int
    due_in_days: int
    is_active: bool


class ServiceReminderPublic(_Out):
    """A free service due some days after a purchase."""

    id: int
    product_id: int | None
    category: str | None
    label: str
    after_days: int
    is_active: bool


class SurprisePublic(_Out):
    """One surprise of the catalogue."""

    id: int
    code: str
    name: str
    description: str
    cost: Decimal
    currency: str
    effort_minutes: int
    moments: list[str]
    months: list[int]
    is_active: bool


class GiftPublic(_Out):
    """A surprise planned for or given to a customer."""

    id: int
    customer_id: int
    surprise_id: int
    moment: str
    status: str
    planned_at: datetime
    given_at: datetime | None
    cost: Decimal
    currency: str
    task_id: int | None
    reason: dict[str, Any]


class RelationSettingsPublic(_Out):
    """The contact budget and the surprise limits."""

    contact_budget: int
    budget_window_days: int
    priorities: dict[str, int]
    wait_min_priority: int
    surprise_every_months: int
    surprise_monthly_budget: Decimal
    surprise_tiers: list[str]
    currency: str


class LedgerEntryPublic(_Out):
    """One budget decision."""

    id: int
    customer_id: int
    playbook: str
    channel: str
    decision: str
    priority: int
    reason: str
    reference: str
    at: datetime


class VerdictPublic(BaseModel):
    """The budget's answer to a contact request."""

    customer_id: int
    playbook: str
    decision: str
    priority: int
    reason: str
    remaining: int
    retry_at: datetime | None


class TouchPublic(_Out):
    """Something we did for a customer."""

    id: int
    customer_id: int
    kind: str
    channel: str
    direction: str
    occurred_at: datetime
    subject: str
    user_id: int | None


class ReferralPublic(_Out):
    """Who brought whom."""

    id: int
    referrer_id: int
    referred_id: int
    referred_on: date
    source: str
    note: str


class ReferralValuePublic(_Out):
    """What a referrer's referred customers spent and are predicted to be worth."""

    referrer_id: int
    n_referred: int
    spend: Decimal
    n_scored: int
    clv: Decimal | None


class RulePublic(_Out):
    """A stored rule."""

    id: int
    name: str
    description: str
    conditions: dict[str, Any]
    action: str
    params: dict[str, Any]
    priority: int
    is_active: bool
