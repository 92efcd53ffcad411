"""Request and response contracts of the REST API v1.

Responses are built inside the route (``Model.model_validate(row)``) while the session is open;
datetimes go out as ISO 8601 in UTC (``2010-03-01T10:00:00Z``); money goes out as a string
decimal with its currency (``{"amount": "7.00", "currency": "GBP"}``).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from typing_extensions import override

from kehu.core import as_utc, to_money
from kehu.core.paging import CountedPage
from kehu.customers import ConsentStatus, ContactRole, CustomerKind, IdentityKind
from kehu.engagement import Direction
from kehu.users import Role

#: The largest id a store can hold (a signed 64-bit integer on PostgreSQL and SQLite).
MAX_ID = 2**63 - 1


def _to_utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError as exc:
        raise ValueError("the date is out of range once converted to UTC") from exc


DbId = Annotated[int, Field(ge=1, le=MAX_ID, description="A record id (1 to 2^63-1).")]
UtcDatetime = Annotated[
    datetime,
    AfterValidator(_to_utc),
    Field(description="ISO 8601; a time without an offset is taken as UTC."),
]


class Money(BaseModel):
    """An amount as a string decimal (two places) with its ISO 4217 currency."""

    amount: str = Field(examples=["7.00"])
    currency: str = Field(examples=["GBP"])

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> "Money":
        """Return ``amount`` rounded to cents in ``currency``."""
        return cls(amount=str(to_money(amount)), currency=currency)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- errors


class FieldErrorPublic(BaseModel):
    """One invalid part of a request."""

    field: str = Field(examples=["body email"])
    message: str
    type: str


class ErrorPublic(BaseModel):
    """Every error the API answers: a message a person can act on and a stable code.

    Validation errors (422 ``invalid``) list each invalid field in ``errors``; some feature
    errors carry ``details``; an internal error (500) carries the ``request_id`` it was logged
    under.
    """

    detail: str = Field(examples=["Customer 7 does not exist."])
    code: str = Field(examples=["not_found"])
    errors: list[FieldErrorPublic] | None = None
    details: Any = None
    request_id: str | None = None


# ---------------------------------------------------------------- auth and users


class TokenRequest(_In):
    """Credentials exchanged for a new API token."""

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)
    name: str = Field(default="api", min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenPublic(_Out):
    """An API token, without its secret."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenPublic):
    """A new API token with its secret, which is shown only this once."""

    token: str = Field(description="The bearer secret; store it now, it cannot be shown again.")


class UserPublic(_Out):
    """A member of staff."""

    id: int
    email: str
    name: str
    role: Role
    department_code: str | None = None
    locale: str
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, user: Any) -> "UserPublic":
        """Return the public view of a user row."""
        out = cls.model_validate(user)
        out.department_code = user.department.code if user.department else None
        return out


class UsersPublic(BaseModel):
    """A list of users."""

    data: list[UserPublic]
    count: int


class UserCreate(_In):
    """A new member of staff."""

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)
    role: Role
    department_code: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="en", pattern=r"^(en|zh-CN)$")


class UserTokenCreate(_In):
    """A token an administrator creates for a user (a service account, say)."""

    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class DepartmentPublic(_Out):
    """A team."""

    id: int
    code: str
    name: str


class DepartmentsPublic(BaseModel):
    """A list of departments."""

    data: list[DepartmentPublic]
    count: int


class DepartmentCreate(_In):
    """A new team."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)


# ---------------------------------------------------------------- customers


class CustomerPublic(_Out):
    """A customer's profile."""

    id: int
    external_id: str | None
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    country: str | None
    city: str | None
    birthday: date | None
    notes: str
    owner_id: int | None
    merged_into_id: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class CustomersPublic(CountedPage):
    """One page of customers and how many match."""

    data: list[CustomerPublic]


class IdentityPublic(_Out):
    """A handle that points at the customer."""

    id: int
    customer_id: int
    kind: IdentityKind
    value: str
    source: str
    verified: bool
    created_at: datetime


class ContactPublic(_Out):
    """A person acting for an organisation customer."""

    id: int
    person_id: int
    person_name: str = ""
    role: ContactRole
    title: str
    is_primary: bool
    started_on: date | None
    ended_on: date | None

    @classmethod
    def of(cls, contact: Any) -> "ContactPublic":
        """Return the public view of a contact row."""
        out = cls.model_validate(contact)
        out.person_name = contact.person.name
        return out


class ConsentIn(_In):
    """A consent event to record: a channel granted or withdrawn for a purpose."""

    channel: str = Field(min_length=1, max_length=32, examples=["email"])
    purpose: str = Field(min_length=1, max_length=64, examples=["marketing"])
    status: ConsentStatus
    source: str = Field(default="", max_length=200)
    at: UtcDatetime | None = None


class ConsentPublic(_Out):
    """One consent event."""

    id: int
    customer_id: int
    channel: str
    purpose: str
    status: ConsentStatus
    source: str
    at: datetime


class ConsentInForce(BaseModel):
    """The consent in force for a channel and purpose (the newest event)."""

    channel: str
    purpose: str
    status: ConsentStatus


class OrderStats(BaseModel):
    """Headline figures of a customer's orders."""

    n_orders: int
    n_returns: int
    revenue: Money
    first_order_at: datetime | None
    last_order_at: datetime | None


class MonthOrders(BaseModel):
    """Sales and net value in one month."""

    month: str = Field(examples=["2010-03"])
    n_orders: int
    revenue: Money


class MergePublic(_Out):
    """A merge of one customer into another."""

    id: int
    winner_id: int
    loser_id: int
    merged_at: datetime
    merged_by: str
    undone_at: datetime | None
    undone_by: str | None
    moved: dict[str, Any]


class MergeIn(_In):
    """Which customer to merge into the one in the path."""

    loser_id: DbId


class OrderLinePublic(BaseModel):
    """One product on an order."""

    line_no: int
    sku: str
    product_name: str
    quantity: int
    unit_price: Money
    discount: Money


class OrderPublic(BaseModel):
    """An order (or a return)."""

    id: int
    external_id: str
    customer_id: int | None
    kind: str
    ordered_at: datetime
    channel: str
    country: str | None
    total: Money
    created_at: datetime

    @classmethod
    def of(cls, order: Any) -> "OrderPublic":
        """Return the public view of an order row."""
        return cls(
            id=order.id,
            external_id=order.external_id,
            customer_id=order.customer_id,
            kind=str(order.kind),
            ordered_at=order.ordered_at,
            channel=order.channel,
            country=order.country,
            total=Money.of(order.total, order.currency),
            created_at=order.created_at,
        )


class OrderDetail(OrderPublic):
    """An order with its lines."""

    lines: list[OrderLinePublic]

    @override
    @classmethod
    def of(cls, order: Any) -> "OrderDetail":
        """Return an order row with its lines."""
        lines = [
            OrderLinePublic(
                line_no=line.line_no,
                sku=line.product.sku,
                product_name=line.product.name,
                quantity=line.quantity,
                unit_price=Money.of(line.unit_price, order.currency),
                discount=Money.of(line.discount, order.currency),
            )
            for line in order.lines
        ]
        return cls(**OrderPublic.of(order).model_dump(), lines=lines)


class OrdersPublic(CountedPage):
    """One page of orders and how many match."""

    data: list[OrderPublic]


class OrderLineIn(_In):
    """A line of a new order; a negative quantity is goods returned."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=-1_000_000, le=1_000_000)
    unit_price: Decimal = Field(ge=0, lt=Decimal("1e9"), max_digits=14, decimal_places=2)
    discount: Decimal = Field(default=Decimal("0"), ge=0, lt=Decimal("1e9"), decimal_places=2)
    name: str = Field(default="", max_length=300)


class OrderCreate(_In):
    """A new order; every line negative makes it a return."""

    external_id: str = Field(min_length=1, max_length=128)
    customer_id: DbId | None = None
    ordered_at: UtcDatetime
    channel: str = Field(default="store", min_length=1, max_length=32)
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217; the store default if absent."
    )
    country: str | None = Field(default=None, max_length=100)
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000)


class InteractionPublic(_Out):
    """A contact with a customer."""

    id: int
    external_id: str | None
    customer_id: int
    channel: str
    direction: Direction
    occurred_at: datetime
    subject: str
    text: str
    user_id: int | None
    created_at: datetime


class InteractionsPublic(BaseModel):
    """One page of interactions and how many match."""

    data: list[InteractionPublic]
    count: int


class InteractionCreate(_In):
    """A contact to log."""

    customer_id: DbId
    channel: str = Field(min_length=1, max_length=32, examples=["phone"])
    direction: Direction
    occurred_at: UtcDatetime
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=20000)
    external_id: str | None = Field(default=None, min_length=1, max_length=128)


class Customer360(BaseModel):
    """Everything about one customer on one page."""

    customer: CustomerPublic
    identities: list[IdentityPublic]
    contacts: list[ContactPublic]
    consents: list[ConsentInForce]
    consent_history: list[ConsentPublic]
    order_stats: OrderStats
    orders_per_month: list[MonthOrders]
    latest_orders: list[OrderPublic]
    latest_interactions: list[InteractionPublic]
    merges: list[MergePublic]


class BatchItemResult(BaseModel):
    """What happened to one record of a batch."""

    index: int
    status: str = Field(examples=["created", "updated", "unchanged", "error"])
    id: int | None = None
    changed: list[str] = Field(default_factory=list)
    conflicts: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BatchResult(BaseModel):
    """Per-record results of a batch upsert, with counts per status."""

    results: list[BatchItemResult]
    counts: dict[str, int]


# ---------------------------------------------------------------- audit and imports


class AuditEntryPublic(_Out):
    """One audit row."""

    id: int
    at: datetime
    actor_kind: str
    actor_label: str
    actor_user_id: int | None
    action: str
    object_type: str
    object_id: str | None
    summary: str
    changes: dict[str, Any] | None


class AuditEntriesPublic(BaseModel):
    """One page of the audit log and how many entries match."""

    data: list[AuditEntryPublic]
    count: int


class ImportRunPublic(_Out):
    """An import (or dry run) of one file and its outcome."""

    id: int
    kind: str
    filename: str
    status: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    n_rows: int
    n_loaded: int
    n_errors: int
    counts: dict[str, Any]
    errors: list[dict[str, Any]]
    message: str


class ImportRunsPublic(BaseModel):
    """One page of import runs and how many there are."""

    data: list[ImportRunPublic]
    count: int


class MappingPublic(_Out):
    """A saved column mapping."""

    id: int
    kind: str
    name: str
    columns: dict[str, str]
    created_by: str
    created_at: datetime


class MappingsPublic(BaseModel):
    """Saved column mappings."""

    data: list[MappingPublic]
    count: int


class MappingCreate(_In):
    """A column mapping to save: ``{kehu field: source column}``."""

    kind: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    columns: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=300)]]


class ImportKindPublic(BaseModel):
    """One import kind and the fields it accepts."""

    kind: str
    fields: list[dict[str, Any]]
