"""Writes of posts, scores, alerts and voice settings (the only way they change)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.customers import get_customer
from kehu.users import get_user_by_id
from kehu.voice.errors import VoiceErrorCode
from kehu.voice.models import Alert, AlertStatus, Mention, Post, PostKind, VoiceSettings
from kehu.voice.risk import Risk, RiskWeights

#: Settings a fresh store starts with (see :class:`kehu.voice.models.VoiceSettings`).
DEFAULT_SETTINGS: dict[str, Any] = {
    "risk_threshold": 0.5,
    "response_target_minutes": 120,
    "crisis_owner_id": None,
    "cluster_window_hours": 72,
    "dedupe_window_hours": 24,
}
_EDITABLE = (*DEFAULT_SETTINGS, "weights")


@dataclass(frozen=True)
class PostIn:
    """One post or comment as the import hands it over (already validated)."""

    platform: str
    external_id: str
    author_handle: str
    posted_at: datetime
    kind: PostKind | None = None
    parent_external_id: str | None = None
    author_id: str | None = None
    author_followers: int | None = None
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    url: str = ""
    text: str = ""
    text_hash: str = ""
    language: str = "none"
    is_truncated: bool = False
    customer_id: int | None = None
    product_sku: str | None = None
    topic: str | None = None


_COMPARED = (
    "kind",
    "parent_external_id",
    "author_handle",
    "author_id",
    "author_followers",
    "reposts",
    "comments",
    "likes",
    "posted_at",
    "url",
    "text",
    "text_hash",
    "language",
    "is_truncated",
    "customer_id",
    "product_sku",
    "topic",
)


def get_voice_settings(session: Session) -> VoiceSettings:
    """Return the voice settings (a default, unsaved row when none was ever saved)."""
    row = session.scalar(select(VoiceSettings).order_by(VoiceSettings.id).limit(1))
    if row is None:
        row = VoiceSettings(**DEFAULT_SETTINGS, weights=RiskWeights().as_dict())
    return row


def update_voice_settings(session: Session, *, actor: Actor, **changes: Any) -> VoiceSettings:
    """Change voice settings (threshold, response target, crisis owner, windows, weights).

    Raises
    ------
    InvalidInputError
        For an unknown setting, a value out of range or a crisis owner who is not a user.
    """
    unknown = sorted(set(changes) - set(_EDITABLE))
    if unknown:
        raise InvalidInputError(
            f"Unknown voice setting(s): {', '.join(unknown)}.", code=VoiceErrorCode.BAD_SETTINGS
        )
    row = get_voice_settings(session)
    is_new = row not in session
    if "risk_threshold" in changes and not 0 < float(changes["risk_threshold"]) <= 1:
        raise InvalidInputError(
            "risk_threshold must be above 0 and at most 1.", code=VoiceErrorCode.BAD_SETTINGS
        )
    for name, low, high in (
        ("response_target_minutes", 1, 7 * 24 * 60),
        ("cluster_window_hours", 1, 24 * 90),
        ("dedupe_window_hours", 0, 24 * 90),
    ):
        if name in changes and not low <= int(changes[name]) <= high:
            raise InvalidInputError(
                f"{name} must be between {low} and {high}.", code=VoiceErrorCode.BAD_SETTINGS
            )
    if changes.get("crisis_owner_id") is not None:
        try:
            get_user_by_id(session, int(changes["crisis_owner_id"]))
        except NotFoundError as exc:
            raise InvalidInputError(
                f"crisis_owner_id: there is no user {changes['crisis_owner_id']}.",
                code=VoiceErrorCode.UNKNOWN_USER,
            ) from exc
    if "weights" in changes:
        merged = {**RiskWeights.from_dict(row.weights).as_dict(), **(changes["weights"] or {})}
        changes["weights"] = RiskWeights.from_dict(merged).as_dict()
    before = {name: getattr(row, name) for name in changes}
    for name, value in changes.items():
        setattr(row, name, value)
    if is_new:
        session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.settings",
        object_type="voice_settings",
        object_id=row.id,
        summary="Voice settings changed",
        changes={"before": _jsonable(before), "after": _jsonable(changes)},
    )
    return row


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def find_post(session: Session, platform: str, external_id: str) -> Post | None:
    """Return the post with this platform and external id, or ``None``."""
    return session.scalar(
        select(Post).where(Post.platform == platform, Post.external_id == external_id)
    )


def _duplicate_of(session: Session, post: Post, window_hours: int) -> int | None:
    """Return the first post of the same author with the same text in the window, if any."""
    if not post.text_hash or window_hours <= 0:
        return None
    window = timedelta(hours=window_hours)
    earlier = session.scalars(
        select(Post)
        .where(
            Post.platform == post.platform,
            Post.author_handle == post.author_handle,
            Post.text_hash == post.text_hash,
            Post.duplicate_of_id.is_(None),
            Post.posted_at >= post.posted_at - window,
            Post.posted_at <= post.posted_at + window,
        )
        .order_by(Post.posted_at, Post.id)
    ).all()
    for other in earlier:
        if other.id == post.id:
            return None
        if other.posted_at <= post.posted_at:
            return other.id
    return None


def upsert_post(session: Session, data: PostIn, *, source: str = "") -> tuple[Post, str]:
    """Create or update a post on (platform, external id); return it and what happened.

    A changed text clears the post's sentiment, risk and mentions so the next scoring run
    redoes them. A comment is linked to its parent when the parent is known (either way
    round: a parent imported after its comments adopts them). The author's spam is marked:
    the same normalised text by the same author within the dedupe window is a duplicate of
    the first one and is not counted again.

    The import that calls this records one audit row for the whole file.

    Returns
    -------
    tuple
        The post and ``created``, ``updated`` or ``unchanged``.
    """
    kind = data.kind or (PostKind.COMMENT if data.parent_external_id else PostKind.POST)
    values = {name: getattr(data, name) for name in _COMPARED}
    values["kind"] = kind
    post = find_post(session, data.platform, data.external_id)
    status = "created"
    if post is None:
        post = Post(platform=data.platform, external_id=data.external_id, source=source, **values)
        session.add(post)
    else:
        changed = {name: value for name, value in values.items() if getattr(post, name) != value}
        if not changed:
            return post, "unchanged"
        status = "updated"
        if "text" in changed or "text_hash" in changed:
            post.sentiment = post.sentiment_at = None
            post.risk_score = post.risk_at = post.risk_breakdown = None
            session.execute(delete(Mention).where(Mention.post_id == post.id))
        elif changed.keys() & {"author_followers", "reposts", "comments", "posted_at"}:
            post.risk_at = None  # rescored on the next run
        for name, value in changed.items():
            setattr(post, name, value)
    if data.parent_external_id:
        parent = find_post(session, data.platform, data.parent_external_id)
        post.parent_id = None if parent is None else parent.id
    else:
        post.parent_id = None
    session.flush()
    if status == "created":
        session.execute(
            update(Post)
            .where(
                Post.platform == post.platform,
                Post.parent_external_id == post.external_id,
                Post.parent_id.is_(None),
            )
            .values(parent_id=post.id)
        )
    settings = get_voice_settings(session)
    post.duplicate_of_id = _duplicate_of(session, post, settings.dedupe_window_hours)
    session.flush()
    if post.duplicate_of_id is None:
        _adopt_later_copies(session, post, settings.dedupe_window_hours)
    return post, status


def _adopt_later_copies(session: Session, post: Post, window_hours: int) -> None:
    """Mark the same author's later copies in the window as duplicates of ``post``.

    Files are not always in time order: a copy imported first must give way to an earlier
    original imported after it.
    """
    if not post.text_hash or window_hours <= 0:
        return
    window = timedelta(hours=window_hours)
    later = session.scalars(
        select(Post).where(
            Post.platform == post.platform,
            Post.author_handle == post.author_handle,
            Post.text_hash == post.text_hash,
            Post.id != post.id,
            Post.posted_at >= post.posted_at,
            Post.posted_at <= post.posted_at + window,
        )
    ).all()
    for other in later:
        if other.posted_at == post.posted_at and other.id < post.id:
            continue
        if other.duplicate_of_id != post.id:
            other.duplicate_of_id = post.id
            other.risk_at = None
    session.flush()


def save_sentiments(
    session: Session, scores: dict[int, float | None], *, at: datetime | None = None
) -> int:
    """Store P(positive) of posts (None: nothing to judge); return how many were written."""
    when = at or utcnow()
    rows = [{"id": pid, "sentiment": p, "sentiment_at": when} for pid, p in scores.items()]
    if rows:
        session.execute(update(Post), rows)
    return len(rows)


@dataclass(frozen=True)
class ScoredPost:
    """A post's spread risk and cluster, as a scoring run computed them."""

    post_id: int
    risk: Risk | None
    cluster_size: int | None
    cluster_key: int | None
    note: str = ""


def save_risks(
    session: Session, scored: Iterable[ScoredPost], *, at: datetime | None = None
) -> int:
    """Store spread-risk scores, breakdowns and clusters; return how many were written."""
    when = at or utcnow()
    rows: list[dict[str, Any]] = []
    for item in scored:
        breakdown = None if item.risk is None else item.risk.as_dict()
        if breakdown is not None and item.note:
            breakdown["note"] = item.note
        if item.risk is None and item.note:
            breakdown = {"note": item.note}
        rows.append(
            {
                "id": item.post_id,
                "risk_score": None if item.risk is None else item.risk.score,
                "risk_breakdown": breakdown,
                "risk_at": when,
                "cluster_size": item.cluster_size,
                "cluster_key": item.cluster_key,
            }
        )
    if rows:
        session.execute(update(Post), rows)
    return len(rows)


def link_post_authors(session: Session, links: dict[int, int]) -> int:
    """Set the customer of posts ``{post id: customer id}``; return how many changed."""
    rows = [{"id": pid, "customer_id": cid} for pid, cid in links.items()]
    if rows:
        session.execute(update(Post), rows)
    return len(rows)


def raise_alert(session: Session, post: Post, risk: Risk, *, actor: Actor) -> Alert | None:
    """Raise a spread-risk alert for ``post`` and route it; ``None`` if one already exists.

    The owner is the author's customer's owner when the author is a known customer with an
    owner; else the crisis owner of the settings; else nobody (the managers' queue). An
    existing open alert takes the new score when it is higher.
    """
    existing = session.scalar(select(Alert).where(Alert.post_id == post.id))
    if existing is not None:
        if existing.status == AlertStatus.OPEN and risk.score > existing.score:
            existing.score, existing.breakdown = risk.score, risk.as_dict()
            session.flush()
        return None
    owner_id: int | None = None
    routed_to = "managers"
    if post.customer_id is not None:
        customer = get_customer(session, post.customer_id)
        if customer.owner_id is not None:
            owner_id, routed_to = customer.owner_id, "customer_owner"
    if owner_id is None:
        crisis_owner = get_voice_settings(session).crisis_owner_id
        if crisis_owner is not None:
            owner_id, routed_to = crisis_owner, "crisis_owner"
    alert = Alert(
        post_id=post.id,
        score=risk.score,
        breakdown=risk.as_dict(),
        status=AlertStatus.OPEN,
        owner_id=owner_id,
        routed_to=routed_to,
        customer_id=post.customer_id,
        raised_at=utcnow(),
    )
    session.add(alert)
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.alert",
        object_type="voice_alert",
        object_id=alert.id,
        summary=f"Spread risk {risk.score:.2f} on {post.platform} post {post.external_id}",
        changes={"post_id": post.id, "owner_id": owner_id, "routed_to": routed_to},
    )
    return alert


def get_alert(session: Session, alert_id: int) -> Alert:
    """Return an alert or raise :class:`NotFoundError`."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError(f"There is no alert {alert_id}.", code=VoiceErrorCode.ALERT_NOT_FOUND)
    return alert


def dismiss_alert(session: Session, alert: Alert, *, actor: Actor, reason: str = "") -> Alert:
    """Close an open alert as not needing a crisis.

    Raises
    ------
    ConflictError
        When the alert is not open any more.
    """
    if alert.status != AlertStatus.OPEN:
        raise ConflictError(
            f"Alert {alert.id} is already {alert.status}; only open alerts can be dismissed.",
            code=VoiceErrorCode.ALERT_CLOSED,
        )
    alert.status = AlertStatus.DISMISSED
    alert.closed_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="voice.alert_dismiss",
        object_type="voice_alert",
        object_id=alert.id,
        summary=f"Alert {alert.id} dismissed" + (f": {reason[:200]}" if reason else ""),
    )
    return alert


__all__ = [
    "DEFAULT_SETTINGS",
    "PostIn",
    "ScoredPost",
    "dismiss_alert",
    "find_post",
    "get_alert",
    "get_voice_settings",
    "link_post_authors",
    "raise_alert",
    "save_risks",
    "save_sentiments",
    "update_voice_settings",
    "upsert_post",
]
