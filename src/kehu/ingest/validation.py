"""Validate stage: one pydantic row model per import kind.

A row arrives as ``{kehu field: text or None}`` (after mapping); a model either accepts it, with
typed values, or gives the problems as ``(field, reason)`` pairs for the error report.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kehu.core import InvalidInputError
from kehu.customers import CustomerIn, CustomerKind, IdentityIn, IdentityKind, normalise_identity
from kehu.ingest.kinds import IDENTITY_FIELDS
from kehu.ingest.parsing import (
    clean_external_id,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_quantity,
)

M = TypeVar("M", bound=BaseModel)

#: The largest whole number (quantity, line number) a row may hold: the columns' 32-bit range.
MAX_WHOLE = 2_147_483_647


def _when(value: object, info: ValidationInfo) -> object:
    if isinstance(value, str):
        context = info.context or {}
        return parse_datetime(value, context.get("date_format"))
    return value


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class CustomerRow(_Row):
    """A row of a customers file."""

    external_id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=300)
    kind: CustomerKind | None = None
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    birthday: date | None = None
    notes: str | None = None
    wechat_openid: str | None = Field(default=None, max_length=320)
    wechat_unionid: str | None = Field(default=None, max_length=320)
    weibo_uid: str | None = Field(default=None, max_length=320)
    forum_handle: str | None = Field(default=None, max_length=320)
    store_card: str | None = Field(default=None, max_length=320)
    app_user: str | None = Field(default=None, max_length=320)

    @field_validator("external_id")
    @classmethod
    def _clean_id(cls, value: str | None) -> str | None:
        return None if value is None else clean_external_id(value)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("birthday", mode="before")
    @classmethod
    def _birthday(cls, value: object) -> object:
        return parse_date(value) if isinstance(value, str) else value

    @field_validator("email", "phone", *IDENTITY_FIELDS)
    @classmethod
    def _identity(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return normalise_identity(str(info.field_name), value)[1]
        except InvalidInputError as exc:
            raise ValueError(exc.message) from None

    def to_customer_in(self) -> CustomerIn:
        """Return the record for :func:`kehu.customers.upsert_customer`."""
        identities = [
            IdentityIn(kind=IdentityKind(name), value=getattr(self, name))
            for name in IDENTITY_FIELDS
            if getattr(self, name)
        ]
        return CustomerIn(
            external_id=self.external_id,
            kind=self.kind,
            name=self.name,
            email=self.email,
            phone=self.phone,
            country=self.country,
            city=self.city,
            birthday=self.birthday,
            notes=self.notes,
            identities=identities,
        )


class ProductRow(_Row):
    """A row of a products file."""

    sku: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=300)
    category: str | None = Field(default=None, max_length=200)
    price: Decimal | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: object) -> object:
        return parse_amount(value) if isinstance(value, str) else value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class OrderLineRow(_Row):
    """A row of an orders file: one line of one order."""

    order_id: str = Field(max_length=128)
    customer_id: str | None = Field(default=None, max_length=128)
    ordered_at: datetime
    sku: str = Field(max_length=64)
    description: str | None = Field(default=None, max_length=300)
    quantity: int = Field(ge=-MAX_WHOLE, le=MAX_WHOLE)
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")
    line_no: int | None = Field(default=None, ge=1, le=MAX_WHOLE)
    channel: str | None = Field(default=None, max_length=32)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    country: str | None = Field(default=None, max_length=100)

    @field_validator("customer_id")
    @classmethod
    def _clean_id(cls, value: str | None) -> str | None:
        return None if value is None else clean_external_id(value)

    @field_validator("ordered_at", mode="before")
    @classmethod
    def _ordered_at(cls, value: object, info: ValidationInfo) -> object:
        return _when(value, info)

    @field_validator("quantity", "line_no", mode="before")
    @classmethod
    def _whole(cls, value: object) -> object:
        return parse_quantity(value) if isinstance(value, str) else value

    @field_validator("unit_price", "discount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> object:
        return parse_amount(value) if isinstance(value, str) else value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("quantity")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a quantity of 0 is not a sale nor a return")
        return value


class InteractionRow(_Row):
    """A row of an interactions file."""

    external_id: str = Field(max_length=128)
    customer_id: str | None = Field(default=None, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    channel: str = Field(max_length=32)
    direction: Literal["inbound", "outbound"]
    occurred_at: datetime
    subject: str = Field(default="", max_length=300)
    text: str = ""

    @field_validator("customer_id")
    @classmethod
    def _clean_id(cls, value: str | None) -> str | None:
        return None if value is None else clean_external_id(value)

    @field_validator("direction", "channel", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at(cls, value: object, info: ValidationInfo) -> object:
        return _when(value, info)

    @field_validator("subject", "text", mode="before")
    @classmethod
    def _none_is_blank(cls, value: object) -> object:
        return "" if value is None else value


class ConsentRow(_Row):
    """A row of a consents file."""

    customer_id: str | None = Field(default=None, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    channel: str = Field(max_length=32)
    purpose: str = Field(max_length=64)
    status: Literal["granted", "withdrawn"]
    at: datetime | None = None
    source: str = Field(default="", max_length=200)

    @field_validator("customer_id")
    @classmethod
    def _clean_id(cls, value: str | None) -> str | None:
        return None if value is None else clean_external_id(value)

    @field_validator("status", "channel", "purpose", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: object, info: ValidationInfo) -> object:
        return _when(value, info)

    @field_validator("source", mode="before")
    @classmethod
    def _none_is_blank(cls, value: object) -> object:
        return "" if value is None else value


#: Texts longer than this are cut (and flagged) at import; a post is not a book.
MAX_POST_TEXT = 20_000
_UNKNOWN_COUNTS = frozenset({"-", "--", "—", "n/a", "na", "null", "none", "unknown", "未知"})


def parse_count(text: str) -> int | None:
    """Parse a platform count: ``1234``, ``1,234``, ``1.2万`` (12,000), ``3k``; blank: unknown."""
    value = text.strip().lower().replace(",", "").replace(" ", "")
    if not value or value in _UNKNOWN_COUNTS:
        return None
    scale = 1
    for suffix, factor in (("万", 10_000), ("w", 10_000), ("亿", 100_000_000), ("k", 1000)):
        if value.endswith(suffix):
            value, scale = value[: -len(suffix)], factor
            break
    try:
        number = Decimal(value) * scale
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a count (use digits: 1234, 1.2万, 3k)") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{text!r} is not a count of 0 or more")
    if number > 10**15:
        raise ValueError(f"{text!r} is too large a count")
    return int(number)


class PostRow(_Row):
    """A row of a posts file: one post or comment from a platform export."""

    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=128)
    kind: Literal["post", "comment"] | None = None
    parent_id: str | None = Field(default=None, max_length=128)
    author_handle: str = Field(max_length=200)
    author_id: str | None = Field(default=None, max_length=320)
    author_followers: int | None = None
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    posted_at: datetime
    url: str | None = Field(default=None, max_length=2000)
    text: str = ""
    product_sku: str | None = Field(default=None, max_length=64)
    topic: str | None = Field(default=None, max_length=200)
    customer_id: str | None = Field(default=None, max_length=128)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # Exports sometimes carry NUL characters, which PostgreSQL text cannot hold.
        return value.replace("\x00", "") if isinstance(value, str) else value

    @field_validator("platform", "kind", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("posted_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not 1990 <= value.year <= 2100:
            raise ValueError("a post's date must be between 1990 and 2100")
        return value

    @field_validator("external_id", "parent_id", "customer_id")
    @classmethod
    def _clean_id(cls, value: str | None) -> str | None:
        return None if value is None else clean_external_id(value)

    @field_validator("author_followers", "reposts", "comments", "likes", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        return parse_count(value) if isinstance(value, str) else value

    @field_validator("posted_at", mode="before")
    @classmethod
    def _posted_at(cls, value: object, info: ValidationInfo) -> object:
        return _when(value, info)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("a URL must start with http:// or https://")
        return value

    @field_validator("text", mode="before")
    @classmethod
    def _none_is_blank(cls, value: object) -> object:
        return "" if value is None else value


ROW_MODELS: dict[str, type[_Row]] = {
    "customers": CustomerRow,
    "products": ProductRow,
    "orders": OrderLineRow,
    "interactions": InteractionRow,
    "consents": ConsentRow,
    "posts": PostRow,
}


def validate_row(
    model: type[M], values: dict[str, str | None], context: dict[str, Any]
) -> tuple[M | None, list[tuple[str | None, str]]]:
    """Return the validated row, or ``None`` and the problems as ``(field, reason)`` pairs."""
    present = {k: v for k, v in values.items() if v is not None and v.strip()}
    try:
        return model.model_validate(present, context=context), []
    except ValidationError as exc:
        problems: list[tuple[str | None, str]] = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else None
            reason = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                reason = "this required value is empty"
            problems.append((field, reason))
        return None, problems
