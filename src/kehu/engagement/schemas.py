"""Contracts of recommendation feedback events (what the events API takes and answers)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kehu.core import as_utc
from kehu.engagement.models import RecommendationEventKind


def _to_utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError as exc:
        raise ValueError("the date is out of range once converted to UTC") from exc


UtcTime = Annotated[datetime, AfterValidator(_to_utc)]


class RecommendationEventIn(BaseModel):
    """One feedback event on a recommended item, as a sender reports it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str = Field(
        min_length=1,
        max_length=128,
        description="The sender's unique id of this event; sending it again changes nothing.",
        examples=["web-7f3a-1"],
    )
    kind: RecommendationEventKind
    customer_id: int = Field(ge=1, le=2**63 - 1)
    item_id: str = Field(
        min_length=1, max_length=64, description="The product's SKU.", examples=["85123A"]
    )
    channel: str = Field(default="web", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    occurred_at: UtcTime = Field(
        description="When it happened (ISO 8601; without an offset, UTC). Events may come late "
        "and in any order, but not from the future."
    )
    serve_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The `serve_id` of the served list the event belongs to, if known.",
    )
    position: int | None = Field(default=None, ge=1, le=1000)


class EventOutcome(StrEnum):
    """What became of one event of a batch."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"


class RecommendationEventResult(BaseModel):
    """The outcome of one event of a batch, in the order sent."""

    event_id: str
    status: EventOutcome
    message: str | None = None
    attributed_to: str | None = Field(
        default=None,
        description="For a purchase: the impression or click (event id) it is attributed to.",
    )


class RecommendationEventsResult(BaseModel):
    """The outcome of a batch of events."""

    n_recorded: int
    n_duplicates: int
    results: list[RecommendationEventResult]
