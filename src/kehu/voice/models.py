"""Voice of the customer: social posts and comments, alerts, crises, demand terms and polls."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin

# Counts of people can pass 2**31 (a celebrity's followers), and must be 64-bit on PostgreSQL.
Count = BigInteger().with_variant(Integer(), "sqlite")


class PostKind(StrEnum):
    """A post starts a thread; a comment answers a post (its ``parent``)."""

    POST = "post"
    COMMENT = "comment"


class AlertStatus(StrEnum):
    """Where a spread-risk alert stands."""

    OPEN = "open"
    DISMISSED = "dismissed"
    CRISIS = "crisis"


class CrisisStatus(StrEnum):
    """Where a crisis case stands."""

    OPEN = "open"
    CLOSED = "closed"


class Post(TimestampMixin, Base):
    """One post or comment from a platform export, with its sentiment and spread risk."""

    __tablename__ = "voice_posts"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_voice_posts_author", "platform", "author_handle", "text_hash"),
        Index("ix_voice_posts_parent", "platform", "parent_external_id"),
        Index("ix_voice_posts_posted_at", "posted_at"),
        Index("ix_voice_posts_risk", "risk_score"),
    )

    id: Mapped[IdPK]
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[PostKind] = mapped_column(String(16), default=PostKind.POST)
    parent_external_id: Mapped[str | None] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("voice_posts.id"), index=True)
    author_handle: Mapped[str] = mapped_column(String(200))
    #: The platform's id of the author (Weibo uid, WeChat openid...), when the export has it.
    author_id: Mapped[str | None] = mapped_column(String(320))
    #: None: the export did not say (unknown is not zero).
    author_followers: Mapped[int | None] = mapped_column(Count)
    reposts: Mapped[int | None] = mapped_column(Count)
    comments: Mapped[int | None] = mapped_column(Count)
    likes: Mapped[int | None] = mapped_column(Count)
    posted_at: Mapped[datetime]
    url: Mapped[str] = mapped_column(String(2000), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    #: SHA-256 (hex, 32 chars) of the normalised text; spam duplicates share it.
    text_hash: Mapped[str] = mapped_column(String(32), default="")
    #: Language detected at import: zh, en, mixed or none (no letters: emoji-only...).
    language: Mapped[str] = mapped_column(String(8), default="none")
    is_truncated: Mapped[bool] = mapped_column(default=False)
    #: The first post of the same author with the same text in the dedupe window.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("voice_posts.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    product_sku: Mapped[str | None] = mapped_column(String(64))
    topic: Mapped[str | None] = mapped_column(String(200))
    #: P(positive) from the sentiment model; None until scored (or no text to judge).
    sentiment: Mapped[float | None] = mapped_column(Float)
    sentiment_at: Mapped[datetime | None]
    risk_score: Mapped[float | None] = mapped_column(Float)
    #: {"parts": {...}, "unknown": [...], ...}: what the score is made of.
    risk_breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    risk_at: Mapped[datetime | None]
    #: Negative posts (distinct authors, this one included) similar to this one in the window.
    cluster_size: Mapped[int | None] = mapped_column(Integer)
    #: The smallest post id of the cluster (0 when it is alone).
    cluster_key: Mapped[int | None] = mapped_column(Count)
    source: Mapped[str] = mapped_column(String(64), default="")


class Alert(TimestampMixin, Base):
    """A post whose spread risk passed the threshold, routed to an owner."""

    __tablename__ = "voice_alerts"

    id: Mapped[IdPK]
    post_id: Mapped[int] = mapped_column(ForeignKey("voice_posts.id"), unique=True)
    score: Mapped[float] = mapped_column(Float)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[AlertStatus] = mapped_column(String(16), default=AlertStatus.OPEN)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Why this owner: customer_owner, crisis_owner or managers.
    routed_to: Mapped[str] = mapped_column(String(32), default="managers")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class Crisis(TimestampMixin, Base):
    """A crisis case: an owner, a clock to the first public response, a checklist."""

    __tablename__ = "voice_crises"

    id: Mapped[IdPK]
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[CrisisStatus] = mapped_column(String(16), default=CrisisStatus.OPEN)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("voice_alerts.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("voice_posts.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_due_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: {item: {"done": bool, "at": iso or None, "by": label, "note": text}}
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CrisisEvent(Base):
    """One entry of a crisis's timeline."""

    __tablename__ = "voice_crisis_events"

    id: Mapped[IdPK]
    crisis_id: Mapped[int] = mapped_column(ForeignKey("voice_crises.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    actor_label: Mapped[str] = mapped_column(String(320), default="")


class DemandTerm(TimestampMixin, Base):
    """A word that names a variant of an attribute: 白色 and white both mean colour=white."""

    __tablename__ = "voice_demand_terms"
    __table_args__ = (UniqueConstraint("attribute", "term"),)

    id: Mapped[IdPK]
    attribute: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(100))
    #: The surface form, normalised (simplified script, lower case).
    term: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8), default="zh")


class Mention(Base):
    """A post that names a variant (counted once per post, attribute and value)."""

    __tablename__ = "voice_mentions"
    __table_args__ = (
        UniqueConstraint("post_id", "attribute", "value"),
        Index("ix_voice_mentions_when", "attribute", "mentioned_at"),
    )

    id: Mapped[IdPK]
    post_id: Mapped[int] = mapped_column(ForeignKey("voice_posts.id"), index=True)
    attribute: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(100))
    #: The product's SKU, else the post's topic, else "" (the whole brand).
    product_key: Mapped[str] = mapped_column(String(200), default="")
    mentioned_at: Mapped[datetime]


class Poll(TimestampMixin, Base):
    """A design poll: customers vote for one option."""

    __tablename__ = "voice_polls"

    id: Mapped[IdPK]
    question: Mapped[str] = mapped_column(String(500))
    product_key: Mapped[str] = mapped_column(String(200), default="")
    is_open: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class PollOption(Base):
    """One option of a poll."""

    __tablename__ = "voice_poll_options"

    id: Mapped[IdPK]
    poll_id: Mapped[int] = mapped_column(ForeignKey("voice_polls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))


class PollVote(Base):
    """One voter's vote (a voter votes once per poll; voting again changes the vote)."""

    __tablename__ = "voice_poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "voter"),)

    id: Mapped[IdPK]
    poll_id: Mapped[int] = mapped_column(ForeignKey("voice_polls.id"), index=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("voice_poll_options.id"), index=True)
    voter: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    voted_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoiceSettings(TimestampMixin, Base):
    """The one row of voice settings, edited through the API (not the environment).

    Kept as data so a crisis manager can tune the threshold without a restart.
    """

    __tablename__ = "voice_settings"

    id: Mapped[IdPK]
    risk_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    response_target_minutes: Mapped[int] = mapped_column(Integer, default=120)
    crisis_owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cluster_window_hours: Mapped[int] = mapped_column(Integer, default=72)
    dedupe_window_hours: Mapped[int] = mapped_column(Integer, default=24)
    #: {"sentiment": w, "reach": w, "velocity": w, "cluster": w} (see kehu.voice.risk).
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
