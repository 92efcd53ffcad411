"""Reads of posts and alerts."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from kehu.core import NotFoundError
from kehu.voice.errors import VoiceErrorCode
from kehu.voice.models import Alert, AlertStatus, Post, PostKind

#: P(positive) below which a post reads as negative, and above which as positive.
NEGATIVE_BELOW = 0.4
POSITIVE_ABOVE = 0.6
SENTIMENTS = ("negative", "neutral", "positive", "unscored")


def sentiment_label(p_positive: float | None) -> str:
    """Return negative, neutral, positive or unscored for a P(positive)."""
    if p_positive is None:
        return "unscored"
    if p_positive < NEGATIVE_BELOW:
        return "negative"
    if p_positive > POSITIVE_ABOVE:
        return "positive"
    return "neutral"


@dataclass(frozen=True)
class PostFilter:
    """Filters of :func:`list_posts` (None: any)."""

    sentiment: str | None = None
    min_risk: float | None = None
    platform: str | None = None
    kind: PostKind | None = None
    customer_id: int | None = None
    include_duplicates: bool = True


def _filtered(query: Select[Any], filters: PostFilter) -> Select[Any]:
    if filters.sentiment == "negative":
        query = query.where(Post.sentiment < NEGATIVE_BELOW)
    elif filters.sentiment == "positive":
        query = query.where(Post.sentiment > POSITIVE_ABOVE)
    elif filters.sentiment == "neutral":
        query = query.where(Post.sentiment.between(NEGATIVE_BELOW, POSITIVE_ABOVE))
    elif filters.sentiment == "unscored":
        query = query.where(Post.sentiment.is_(None))
    if filters.min_risk is not None:
        query = query.where(Post.risk_score >= filters.min_risk)
    if filters.platform:
        query = query.where(Post.platform == filters.platform)
    if filters.kind is not None:
        query = query.where(Post.kind == filters.kind)
    if filters.customer_id is not None:
        query = query.where(Post.customer_id == filters.customer_id)
    if not filters.include_duplicates:
        query = query.where(Post.duplicate_of_id.is_(None))
    return query


def list_posts(
    session: Session,
    filters: PostFilter | None = None,
    *,
    sort: str = "recent",
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Post], int]:
    """Return one page of posts and how many match; ``sort`` is ``recent`` or ``risk``."""
    query = _filtered(select(Post), filters or PostFilter())
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if sort == "risk":
        query = query.order_by(Post.risk_score.is_(None), Post.risk_score.desc(), Post.id.desc())
    else:
        query = query.order_by(Post.posted_at.desc(), Post.id.desc())
    rows: Sequence[Post] = session.scalars(query.limit(limit).offset(offset)).all()
    return rows, count


def get_post(session: Session, post_id: int) -> Post:
    """Return a post or raise :class:`NotFoundError`."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFoundError(f"There is no post {post_id}.", code=VoiceErrorCode.POST_NOT_FOUND)
    return post


def list_comments(session: Session, post_id: int, *, limit: int = 100) -> Sequence[Post]:
    """Return the comments of a post, oldest first."""
    return session.scalars(
        select(Post).where(Post.parent_id == post_id).order_by(Post.posted_at, Post.id).limit(limit)
    ).all()


def count_comments(session: Session, post_id: int) -> int:
    """Return how many comments of a post are stored."""
    return session.scalar(select(func.count()).where(Post.parent_id == post_id)) or 0


def list_posts_to_score(session: Session, *, limit: int = 50_000) -> Sequence[Post]:
    """Return posts without a sentiment judgement yet, oldest first."""
    return session.scalars(
        select(Post).where(Post.sentiment_at.is_(None)).order_by(Post.id).limit(limit)
    ).all()


def list_recent_posts(session: Session, since: datetime, until: datetime) -> Sequence[Post]:
    """Return the posts posted in ``[since, until]`` (for clustering and risk)."""
    return session.scalars(
        select(Post).where(Post.posted_at >= since, Post.posted_at <= until).order_by(Post.id)
    ).all()


def list_unlinked_authors(session: Session) -> list[tuple[int, str, str, str | None]]:
    """Return ``(post id, platform, handle, author id)`` of posts not linked to a customer."""
    rows = session.execute(
        select(Post.id, Post.platform, Post.author_handle, Post.author_id).where(
            Post.customer_id.is_(None)
        )
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def list_alerts(
    session: Session,
    *,
    status: AlertStatus | str | None = AlertStatus.OPEN,
    owner_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Alert], int]:
    """Return alerts (open ones by default), highest score first, and how many match."""
    query = select(Alert)
    if status is not None:
        query = query.where(Alert.status == status)
    if owner_id is not None:
        query = query.where(Alert.owner_id == owner_id)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Alert.score.desc(), Alert.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, count


def posts_by_id(session: Session, ids: Sequence[int]) -> dict[int, Post]:
    """Return the posts with these ids, by id."""
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(list(ids))))}


def sentiment_counts(session: Session) -> dict[str, int]:
    """Return how many posts read negative, neutral, positive or are unscored."""
    label = case(
        (Post.sentiment.is_(None), "unscored"),
        (Post.sentiment < NEGATIVE_BELOW, "negative"),
        (Post.sentiment > POSITIVE_ABOVE, "positive"),
        else_="neutral",
    )
    counts = dict.fromkeys(SENTIMENTS, 0)
    for name, n in session.execute(select(label, func.count()).group_by(label)):
        counts[str(name)] = int(n)
    return counts


__all__ = [
    "NEGATIVE_BELOW",
    "POSITIVE_ABOVE",
    "SENTIMENTS",
    "PostFilter",
    "count_comments",
    "get_post",
    "list_alerts",
    "list_comments",
    "list_posts",
    "list_posts_to_score",
    "list_recent_posts",
    "list_unlinked_authors",
    "posts_by_id",
    "sentiment_counts",
    "sentiment_label",
]
