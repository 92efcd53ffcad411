"""Contracts of the service desk (what the API reads and answers)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from kehu.service.models import AuthorKind, Outcome, TicketChannel, TicketStatus
from kehu.service.sla import ClockState

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentInfo(_In):
    """An attachment listed on a message (its content is not stored)."""

    name: str = Field(default="", max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=127)
    size: int = Field(default=0, ge=0, le=2**40)


class TicketCreate(_In):
    """A new ticket: the customer's first message and who sent it."""

    body: str = Field(default="", max_length=100_000)
    subject: str = Field(default="", max_length=1000)
    channel: TicketChannel = TicketChannel.API
    customer_id: Id | None = None
    requester: str = Field(
        default="", max_length=320, description="E-mail or phone of the sender; finds the customer."
    )
    external_id: str | None = Field(default=None, max_length=256)
    category_code: str | None = Field(default=None, max_length=128)
    order_id: Id | None = None
    attachments: list[AttachmentInfo] = Field(default_factory=list, max_length=100)
    route: bool = Field(default=True, description="Classify and route at once (needs a model).")


class MessageCreate(_In):
    """A message added to a thread."""

    body: str = Field(default="", max_length=100_000)
    author_kind: AuthorKind = AuthorKind.AGENT
    is_internal: bool = False
    attachments: list[AttachmentInfo] = Field(default_factory=list, max_length=100)


class AssignRequest(_In):
    """Whom a ticket goes to."""

    department_id: Id | None = None
    assignee_id: Id | None = None


class StatusRequest(_In):
    """A status change."""

    status: TicketStatus


class CategoryRequest(_In):
    """An agent's choice of category (a training label)."""

    category_id: Id


class LinkCustomerRequest(_In):
    """Link a ticket to a customer (a sender kehu did not know)."""

    customer_id: Id
    remember_sender: bool = Field(
        default=True,
        description="Add the sender's e-mail or phone to the customer (the next message links "
        "itself) and link the sender's other unlinked tickets.",
    )


class OutcomeRequest(_In):
    """What the QA criteria read: the customer's rating and the money involved."""

    rating: int | None = Field(default=None, ge=1, le=5)
    outcome: Outcome | None = None
    outcome_amount: Money | None = None
    amount_claimed: Money | None = None
    amount_paid: Money | None = None
    value_recovered: Money | None = None


class DecisionCreate(_In):
    """A policy decision with the rule applied and the steps tried."""

    rule_code: str = Field(min_length=1, max_length=64)
    rule_text: str = Field(default="", max_length=5000)
    outcome: Outcome
    amount: Money | None = None
    steps: list[Annotated[str, Field(max_length=500)]] = Field(min_length=1, max_length=20)
    reply: str = Field(default="", max_length=20_000)


class CategoryCreate(_In):
    """A category of the tree."""

    code: str = Field(min_length=1, max_length=128)
    name: str = Field(default="", max_length=200)
    parent_code: str | None = Field(default=None, max_length=128)
    department_code: str | None = Field(default=None, max_length=64)
    sla_policy_code: str | None = Field(default=None, max_length=64)


class CategoryUpdate(_In):
    """Changes to a category; a field left out stays, an empty string clears it."""

    name: str | None = Field(default=None, max_length=200)
    parent_code: str | None = Field(default=None, max_length=128)
    department_code: str | None = Field(default=None, max_length=64)
    sla_policy_code: str | None = Field(default=None, max_length=64)
    is_active: bool | None = None


class AnswerCreate(_In):
    """A new version of a category's canonical answer."""

    body: str = Field(min_length=1, max_length=20_000)
    note: str = Field(default="", max_length=300)


class SlaPolicyCreate(_In):
    """An SLA policy: targets per tier in business minutes, business hours, holidays."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    business_hours: dict[str, list[str]] = Field(
        default_factory=dict, description='ISO weekday → ["09:00", "18:00"]; empty = 24/7.'
    )
    holidays: list[str] = Field(default_factory=list, max_length=1000)
    targets: dict[str, dict[str, Any]]
    warn_at_share: float = Field(default=0.8, gt=0, lt=1)


class SlaPolicyUpdate(_In):
    """Changes to an SLA policy (applies to tickets routed from now on)."""

    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    business_hours: dict[str, list[str]] | None = None
    holidays: list[str] | None = Field(default=None, max_length=1000)
    targets: dict[str, dict[str, Any]] | None = None
    warn_at_share: float | None = Field(default=None, gt=0, lt=1)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MessagePublic(_Out):
    """A message of a thread."""

    id: int
    author_kind: AuthorKind
    user_id: int | None
    body: str
    is_internal: bool
    sent_at: datetime
    attachments: list[dict[str, Any]]


class TicketPublic(_Out):
    """A ticket as listed in a queue."""

    id: int
    #: Optimistic locking: send it back as ``If-Match`` to change the ticket only if unchanged.
    version: int
    external_id: str | None
    subject: str
    channel: TicketChannel
    status: TicketStatus
    customer_id: int | None
    requester: str
    order_id: int | None
    department_id: int | None
    assignee_id: int | None
    category_id: int | None
    category_source: str | None
    predicted_category_id: int | None
    confidence: float | None
    in_triage: bool
    tier: str
    sla_policy_id: int | None
    opened_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    n_reopened: int
    rating: int | None
    sentiment: float | None
    outcome: Outcome | None
    outcome_amount: Decimal | None
    amount_claimed: Decimal | None
    amount_paid: Decimal | None
    value_recovered: Decimal | None


class LinkCustomerPublic(BaseModel):
    """A ticket linked to a customer, and every ticket the link reached."""

    ticket: "TicketPublic"
    linked_ticket_ids: list[int]


class TicketsPublic(BaseModel):
    """A page of tickets."""

    data: list[TicketPublic]
    count: int


class ClockPublic(_Out):
    """One SLA promise of a ticket now."""

    target: str
    due_at: datetime
    state: ClockState
    used_share: float
    business_minutes_left: float


class AnswerPublic(_Out):
    """One version of a canonical answer."""

    id: int
    category_id: int
    version: int
    body: str
    note: str
    author_id: int | None
    is_current: bool
    created_at: datetime


class AnswersPublic(BaseModel):
    """Every version of a category's answer, newest first."""

    data: list[AnswerPublic]
    count: int


class DecisionPublic(_Out):
    """A policy decision."""

    id: int
    ticket_id: int
    rule_code: str
    rule_text: str
    outcome: Outcome
    amount: Decimal | None
    steps: list[str]
    reply: str
    decided_by_id: int | None
    decided_at: datetime


class QualityPublic(BaseModel):
    """The three QA criteria of a ticket."""

    solved: bool | None
    perception: float | None
    perception_source: str | None
    loss_reduced: Decimal | None


class TicketDetail(BaseModel):
    """A ticket with its thread, suggested answer, SLA clocks and quality."""

    ticket: TicketPublic
    category_path: str | None
    predicted_category_path: str | None
    messages: list[MessagePublic]
    suggested_answer: AnswerPublic | None
    clocks: list[ClockPublic]
    decisions: list[DecisionPublic]
    quality: QualityPublic


class CategoryPublic(_Out):
    """A node of the category tree."""

    id: int
    code: str
    name: str
    parent_id: int | None
    department_id: int | None
    sla_policy_id: int | None
    is_active: bool
    is_leaf: bool = False
    path: str = ""


class CategoriesPublic(BaseModel):
    """The category tree, flat, by code."""

    data: list[CategoryPublic]
    count: int


class RowErrorPublic(BaseModel):
    """A row that was not loaded."""

    line: int
    message: str


class CategoryImportPublic(BaseModel):
    """What a category CSV import did."""

    n_rows: int
    n_created: int
    n_updated: int
    errors: list[RowErrorPublic]
    applied: bool = Field(
        default=True, description="False when all_or_nothing found errors: nothing was written."
    )


class SlaPolicyPublic(_Out):
    """An SLA policy."""

    id: int
    code: str
    name: str
    timezone: str
    business_hours: dict[str, Any]
    holidays: list[str]
    targets: dict[str, Any]
    warn_at_share: float


class SlaPoliciesPublic(BaseModel):
    """Every SLA policy."""

    data: list[SlaPolicyPublic]
    count: int
