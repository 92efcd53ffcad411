"""Writes of posts, scores, alerts and voice settings (the only way they change)."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.customers import Customer, get_customer
from kehu.store.bulk import insert_rows
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


def upsert_post(session: Session, data: PostIn, *, source: str = "") -> tuple[Post, str]:
    """Create or update one post; :func:`upsert_posts` for one item (see there).

    Returns
    -------
    tuple
        The post and ``created``, ``updated`` or ``unchanged``.
    """
    (status,) = upsert_posts(session, [data], source=source)
    post = find_post(session, data.platform, data.external_id)
    if post is None:  # pragma: no cover - upsert_posts just wrote it
        raise NotFoundError(
            f"Post {data.platform}:{data.external_id} was not stored.",
            code=VoiceErrorCode.POST_NOT_FOUND,
        )
    return post, status


_POSTS: Table = Post.__table__  # type: ignore[assignment]  # a Table at run time
#: Keys per ``IN`` list: below SQLite's oldest bound-parameter limit (999).
_CHUNK = 900


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_posts(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Post]:
    """Return the stored posts of ``(platform, external id)`` keys, one query per 900 keys."""
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, []).append(external_id)
    found: dict[tuple[str, str], Post] = {}
    for platform, ids in by_platform.items():
        for chunk in _chunks(sorted(set(ids))):
            for post in session.scalars(
                select(Post).where(Post.platform == platform, Post.external_id.in_(chunk))
            ):
                found[(post.platform, post.external_id)] = post
    return found


def _post_ids(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Return the ids of the stored posts of ``(platform, external id)`` keys."""
    by_platform: dict[str, set[str]] = {}
    for platform, external_id in keys:
        by_platform.setdefault(platform, set()).add(external_id)
    found: dict[tuple[str, str], int] = {}
    for platform, ids in by_platform.items():
        for chunk in _chunks(sorted(ids)):
            for post_id, external_id in session.execute(
                select(Post.id, Post.external_id).where(
                    Post.platform == platform, Post.external_id.in_(chunk)
                )
            ):
                found[(platform, external_id)] = post_id
    return found


def upsert_posts(session: Session, items: Sequence[PostIn], *, source: str = "") -> list[str]:
    """Create or update posts on (platform, external id), set-wise; return each one's status.

    A few statements per 900 posts, not several per post, so a platform export of tens of
    thousands of posts loads in seconds. The rules are those of one post at a time:

    - a changed text clears the post's sentiment, risk and mentions so the next scoring run
      redoes them; changed counts or time only clear its risk;
    - a comment is linked to its parent when the parent is known, either way round (a parent
      imported after its comments adopts them);
    - the same author's spam (the same normalised text within the dedupe window) is marked: in
      every (platform, author, text) group the earliest post is the original and each later one
      within the window of the last original is its duplicate, whatever order files came in.

    The import that calls this records one audit row for the whole file.

    Parameters
    ----------
    items
        Validated posts, at most one per (platform, external id).

    Returns
    -------
    list of str
        ``created``, ``updated`` or ``unchanged``, in the order of ``items``.

    Raises
    ------
    InvalidInputError
        When two items share a (platform, external id).
    """
    keys = [(item.platform, item.external_id) for item in items]
    if len(set(keys)) != len(keys):
        raise InvalidInputError(
            "Each post may appear once per call; the same platform and id came twice.",
            code=VoiceErrorCode.BAD_POST,
        )
    existing = _existing_posts(session, keys)
    statuses: list[str] = []
    new_rows: list[dict[str, Any]] = []
    touched: list[PostIn] = []
    text_changed: list[int] = []
    old_groups: set[tuple[str, str, str]] = set()
    for item in items:
        values = {name: getattr(item, name) for name in _COMPARED}
        values["kind"] = item.kind or (
            PostKind.COMMENT if item.parent_external_id else PostKind.POST
        )
        post = existing.get((item.platform, item.external_id))
        if post is None:
            new_rows.append(
                {"platform": item.platform, "external_id": item.external_id, "source": source}
                | values
            )
            statuses.append("created")
            touched.append(item)
            continue
        changed = {name: value for name, value in values.items() if getattr(post, name) != value}
        if not changed:
            statuses.append("unchanged")
            continue
        if "text" in changed or "text_hash" in changed:
            old_groups.add((post.platform, post.author_handle, post.text_hash))
            post.sentiment = post.sentiment_at = None
            post.risk_score = post.risk_at = post.risk_breakdown = None
            text_changed.append(post.id)
        elif changed.keys() & {"author_followers", "reposts", "comments", "posted_at"}:
            post.risk_at = None  # rescored on the next run
        for name, value in changed.items():
            setattr(post, name, value)
        statuses.append("updated")
        touched.append(item)
    for chunk in _chunks(text_changed):
        session.execute(delete(Mention).where(Mention.post_id.in_(chunk)))
    session.flush()
    ids = {key: post.id for key, post in existing.items()}
    if new_rows:
        now = utcnow()
        columns = [*new_rows[0], "created_at", "updated_at"]
        # The driver's executemany (COPY on PostgreSQL): the ORM's INSERT … RETURNING of many
        # rows cost ~5 ms a post on SQLite; the ids are read back by key instead.
        insert_rows(
            session,
            _POSTS,
            columns,
            ([*row.values(), now, now] for row in new_rows),
        )
        ids.update(_post_ids(session, [(r["platform"], r["external_id"]) for r in new_rows]))
    _link_parents(session, touched, ids)
    touched_keys = {(item.platform, item.external_id) for item in touched}
    groups = old_groups | {(i.platform, i.author_handle, i.text_hash) for i in touched}
    remarked = _mark_duplicates(session, groups, get_voice_settings(session).dedupe_window_hours)
    # The set-wise updates above bypassed the loaded objects they changed.
    for key, post in existing.items():
        if post.id in remarked or key in touched_keys:
            session.expire(post)
    return statuses


def _link_parents(
    session: Session, touched: Sequence[PostIn], ids: dict[tuple[str, str], int]
) -> None:
    """Point ``touched`` posts at their parents, and stored comments at new parents."""
    wanted = {
        (item.platform, item.parent_external_id)
        for item in touched
        if item.parent_external_id and (item.platform, item.parent_external_id) not in ids
    }
    parents = {**_post_ids(session, wanted), **ids}
    rows = [
        {
            "id": ids[(item.platform, item.external_id)],
            "parent_id": (
                parents.get((item.platform, item.parent_external_id))
                if item.parent_external_id
                else None
            ),
        }
        for item in touched
    ]
    for chunk in _chunks(rows):
        session.execute(update(Post), list(chunk))
    # Comments stored before their parent arrived adopt it now.
    by_platform: dict[str, list[str]] = {}
    for item in touched:
        by_platform.setdefault(item.platform, []).append(item.external_id)
    parent = aliased(Post)
    for platform, external_ids in by_platform.items():
        for chunk in _chunks(external_ids):
            session.execute(
                update(Post)
                .where(
                    Post.platform == platform,
                    Post.parent_external_id.in_(chunk),
                    Post.parent_id.is_(None),
                )
                .values(
                    parent_id=select(parent.id)
                    .where(
                        parent.platform == Post.platform,
                        parent.external_id == Post.parent_external_id,
                    )
                    .scalar_subquery()
                )
                .execution_options(synchronize_session=False)
            )


def _mark_duplicates(
    session: Session, groups: set[tuple[str, str, str]], window_hours: int
) -> set[int]:
    """Recompute the spam marks of every post of these (platform, author, text hash) groups.

    Returns the ids of the posts whose mark changed.
    """
    keys = sorted(g for g in groups if g[2])
    if not keys:
        return set()
    members: dict[tuple[str, str, str], list[tuple[datetime, int, int | None]]] = {}
    for chunk in _chunks(keys, 300):  # three bound parameters per group
        for post_id, platform, handle, text_hash, posted_at, duplicate_of_id in session.execute(
            select(
                Post.id,
                Post.platform,
                Post.author_handle,
                Post.text_hash,
                Post.posted_at,
                Post.duplicate_of_id,
            ).where(tuple_(Post.platform, Post.author_handle, Post.text_hash).in_(list(chunk)))
        ):
            members.setdefault((platform, handle, text_hash), []).append(
                (posted_at, post_id, duplicate_of_id)
            )
    window = timedelta(hours=window_hours)
    changes: list[dict[str, Any]] = []
    for posts in members.values():
        posts.sort()
        original: tuple[datetime, int] | None = None
        for posted_at, post_id, current in posts:
            wanted: int | None = None
            if window_hours > 0 and original is not None and posted_at - original[0] <= window:
                wanted = original[1]
            else:
                original = (posted_at, post_id)
            if wanted != current:
                changes.append({"id": post_id, "duplicate_of_id": wanted, "risk_at": None})
    for chunk in _chunks(changes):
        session.execute(update(Post), list(chunk))
    return {change["id"] for change in changes}


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
    return raise_alerts(session, [(post, risk)], actor=actor)[0]


def raise_alerts(
    session: Session, items: Sequence[tuple[Post, Risk]], *, actor: Actor
) -> list[Alert | None]:
    """Do :func:`raise_alert` for many posts with three reads in all, not three per post.

    Returns
    -------
    list
        The new alert, or ``None`` where the post already had one, in the order of ``items``.
    """
    post_ids = [post.id for post, _ in items]
    existing: dict[int, Alert] = {}
    for chunk in _chunks(post_ids):
        existing.update(
            (alert.post_id, alert)
            for alert in session.scalars(select(Alert).where(Alert.post_id.in_(chunk)))
        )
    customer_ids = sorted({p.customer_id for p, _ in items if p.customer_id is not None})
    owners: dict[int, int | None] = {}
    for chunk in _chunks(customer_ids):
        rows = session.execute(select(Customer.id, Customer.owner_id).where(Customer.id.in_(chunk)))
        owners.update((customer_id, owner_id) for customer_id, owner_id in rows)
    missing = [cid for cid in customer_ids if cid not in owners]
    if missing:
        get_customer(session, missing[0])  # raises NotFoundError, as one post at a time did
    crisis_owner = get_voice_settings(session).crisis_owner_id if items else None
    raised: list[Alert | None] = []
    new: list[tuple[Alert, Post]] = []
    for post, risk in items:
        alert = existing.get(post.id)
        if alert is not None:
            if alert.status == AlertStatus.OPEN and risk.score > alert.score:
                alert.score, alert.breakdown = risk.score, risk.as_dict()
            raised.append(None)
            continue
        owner_id: int | None = None
        routed_to = "managers"
        if post.customer_id is not None and owners.get(post.customer_id) is not None:
            owner_id, routed_to = owners[post.customer_id], "customer_owner"
        if owner_id is None and crisis_owner is not None:
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
        existing[post.id] = alert  # the same post twice in one call raises once
        new.append((alert, post))
        raised.append(alert)
    session.flush()
    for alert, post in new:
        record(
            session,
            actor=actor,
            action="voice.alert",
            object_type="voice_alert",
            object_id=alert.id,
            summary=f"Spread risk {alert.score:.2f} on {post.platform} post {post.external_id}",
            changes={"post_id": post.id, "owner_id": alert.owner_id, "routed_to": alert.routed_to},
        )
    return raised


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
    "raise_alerts",
    "save_risks",
    "save_sentiments",
    "update_voice_settings",
    "upsert_post",
    "upsert_posts",
]
