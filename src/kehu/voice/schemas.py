"""Contracts of the voice feature: what the API and console show of posts, alerts, crises..."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kehu.voice.models import AlertStatus, CrisisStatus, PostKind


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PostPublic(_Public):
    """A post or comment with its sentiment and spread risk."""

    id: int
    platform: str
    external_id: str
    kind: PostKind
    parent_id: int | None
    parent_external_id: str | None
    author_handle: str
    author_followers: int | None = Field(description="None: the export did not say")
    reposts: int | None
    comments: int | None
    likes: int | None
    posted_at: datetime
    url: str
    text: str
    language: str
    is_truncated: bool
    duplicate_of_id: int | None
    customer_id: int | None
    product_sku: str | None
    topic: str | None
    sentiment: float | None = Field(description="P(positive); None until scored")
    sentiment_label: str = "unscored"
    risk_score: float | None
    risk_breakdown: dict[str, Any] | None
    cluster_size: int | None


class PostsPublic(BaseModel):
    """One page of posts."""

    data: list[PostPublic]
    count: int


class PostDetail(BaseModel):
    """A post with its comments (the first 100)."""

    post: PostPublic
    comments: list[PostPublic]
    n_comments: int


class CustomerBrief(BaseModel):
    """The author's customer record as an alert shows it."""

    id: int
    name: str
    owner_id: int | None
    tier: str | None = Field(description="Value tier (vip, high, medium, low); None: not scored")
    clv: str | None = None


class AlertPublic(_Public):
    """A spread-risk alert with its post and the author's customer."""

    id: int
    post_id: int
    score: float
    breakdown: dict[str, Any]
    status: AlertStatus
    owner_id: int | None
    routed_to: str
    customer_id: int | None
    raised_at: datetime
    closed_at: datetime | None
    post: PostPublic | None = None
    customer: CustomerBrief | None = None


class AlertsPublic(BaseModel):
    """One page of alerts."""

    data: list[AlertPublic]
    count: int


class CrisisEventPublic(_Public):
    """One timeline entry."""

    id: int
    at: datetime
    kind: str
    text: str
    actor_label: str


class CrisisPublic(_Public):
    """A crisis case with its clock."""

    id: int
    title: str
    status: CrisisStatus
    owner_id: int | None
    alert_id: int | None
    post_id: int | None
    opened_at: datetime
    response_due_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    checklist: dict[str, Any]
    seconds_left: int = 0
    is_overdue: bool = False
    responded_after_minutes: float | None = None


class CrisesPublic(BaseModel):
    """One page of crises."""

    data: list[CrisisPublic]
    count: int


class CrisisDetail(BaseModel):
    """A crisis with its timeline and its post."""

    crisis: CrisisPublic
    timeline: list[CrisisEventPublic]
    post: PostPublic | None


class VoiceSettingsPublic(_Public):
    """The voice settings."""

    risk_threshold: float
    response_target_minutes: int
    crisis_owner_id: int | None
    cluster_window_hours: int
    dedupe_window_hours: int
    weights: dict[str, float]


class DemandTermPublic(_Public):
    """A word of a demand dictionary."""

    id: int
    attribute: str
    value: str
    term: str
    language: str


class DemandTermsPublic(BaseModel):
    """A dictionary."""

    data: list[DemandTermPublic]
    count: int


class MentionSeriesPublic(BaseModel):
    """Mentions of one attribute's values per day."""

    attribute: str
    days: list[str]
    series: dict[str, list[int]]
    totals: dict[str, int]
    products: list[str]


class PollOptionPublic(BaseModel):
    """A poll option and its tally."""

    option_id: int
    label: str
    votes: int
    share: float
    cumulative: list[int]


class PollPublic(BaseModel):
    """A poll with its tallies over time."""

    id: int
    question: str
    product_key: str
    is_open: bool
    created_at: datetime
    n_votes: int
    days: list[str]
    options: list[PollOptionPublic]


class PollsPublic(BaseModel):
    """One page of polls."""

    data: list[PollPublic]
    count: int


__all__ = [
    "AlertPublic",
    "AlertsPublic",
    "CrisesPublic",
    "CrisisDetail",
    "CrisisEventPublic",
    "CrisisPublic",
    "CustomerBrief",
    "DemandTermPublic",
    "DemandTermsPublic",
    "MentionSeriesPublic",
    "PollOptionPublic",
    "PollPublic",
    "PollsPublic",
    "PostDetail",
    "PostPublic",
    "PostsPublic",
    "VoiceSettingsPublic",
]
