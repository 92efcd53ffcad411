"""Crisis cases: opened from an alert or by hand, an owner, a response clock, a checklist.

Openness and speed: the clock runs from the opening to the first *public* response (target in
the voice settings, two hours by default), and every step lands on the case's timeline.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.users import get_user_by_id
from kehu.voice.errors import VoiceErrorCode
from kehu.voice.models import Alert, AlertStatus, Crisis, CrisisEvent, CrisisStatus, Post
from kehu.voice.operations import get_voice_settings
from kehu.webhooks import emit

#: The checklist of every crisis, in the order it is worked through.
CHECKLIST: tuple[str, ...] = ("facts", "cause", "remedy", "statement", "follow_ups")
CHECKLIST_LABELS: dict[str, str] = {
    "facts": "Facts gathered",
    "cause": "Cause found",
    "remedy": "Remedy decided",
    "statement": "Public statement published",
    "follow_ups": "Follow-ups done",
}


@dataclass(frozen=True)
class CrisisClock:
    """Where a crisis stands against its response target."""

    due_at: datetime
    seconds_left: int
    is_overdue: bool
    responded_after_minutes: float | None


def get_crisis(session: Session, crisis_id: int) -> Crisis:
    """Return a crisis or raise :class:`NotFoundError`."""
    crisis = session.get(Crisis, crisis_id)
    if crisis is None:
        raise NotFoundError(
            f"There is no crisis {crisis_id}.", code=VoiceErrorCode.CRISIS_NOT_FOUND
        )
    return crisis


def list_crises(
    session: Session,
    *,
    status: CrisisStatus | str | None = CrisisStatus.OPEN,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Crisis], int]:
    """Return crises (open ones by default), the most urgent (earliest due) first, and a count."""
    query = select(Crisis)
    if status is not None:
        query = query.where(Crisis.status == status)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Crisis.first_response_at.is_not(None), Crisis.response_due_at, Crisis.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, count


def list_crisis_events(session: Session, crisis_id: int) -> Sequence[CrisisEvent]:
    """Return a crisis's timeline, oldest first."""
    return session.scalars(
        select(CrisisEvent)
        .where(CrisisEvent.crisis_id == crisis_id)
        .order_by(CrisisEvent.at, CrisisEvent.id)
    ).all()


def crisis_clock(crisis: Crisis, now: datetime | None = None) -> CrisisClock:
    """Return the time left to the first public response (negative once overdue)."""
    now = now or utcnow()
    responded = crisis.first_response_at
    reference = responded or now
    left = int((crisis.response_due_at - reference).total_seconds())
    return CrisisClock(
        due_at=crisis.response_due_at,
        seconds_left=left,
        is_overdue=left < 0,
        responded_after_minutes=None
        if responded is None
        else round((responded - crisis.opened_at).total_seconds() / 60, 1),
    )


def _event(session: Session, crisis: Crisis, kind: str, text: str, actor: Actor) -> CrisisEvent:
    event = CrisisEvent(
        crisis_id=crisis.id, at=utcnow(), kind=kind, text=text, actor_label=actor.label
    )
    session.add(event)
    session.flush()
    return event


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    try:
        get_user_by_id(session, owner_id)
    except NotFoundError as exc:
        raise InvalidInputError(
            f"owner_id: there is no user {owner_id}.", code=VoiceErrorCode.UNKNOWN_USER
        ) from exc


def _open_only(crisis: Crisis) -> None:
    if crisis.status != CrisisStatus.OPEN:
        raise ConflictError(
            f"Crisis {crisis.id} is closed; reopen it by opening a new case.",
            code=VoiceErrorCode.CRISIS_CLOSED,
        )


def open_crisis(
    session: Session,
    *,
    actor: Actor,
    title: str = "",
    owner_id: int | None = None,
    alert: Alert | None = None,
    post_id: int | None = None,
    response_target_minutes: int | None = None,
) -> Crisis:
    """Open a crisis case, from an alert (which it closes as ``crisis``) or by hand.

    The owner defaults to the alert's owner, then the configured crisis owner, then the
    person opening it. The clock's target defaults to the voice settings'.

    Raises
    ------
    InvalidInputError
        For an empty title on a case opened by hand, an unknown owner or a target out of range.
    ConflictError
        When the alert is already closed.
    """
    settings = get_voice_settings(session)
    if alert is not None:
        if alert.status != AlertStatus.OPEN:
            raise ConflictError(
                f"Alert {alert.id} is already {alert.status}.", code=VoiceErrorCode.ALERT_CLOSED
            )
        post_id = alert.post_id
        owner_id = owner_id or alert.owner_id
    post = session.get(Post, post_id) if post_id is not None else None
    if post_id is not None and post is None:
        raise InvalidInputError(
            f"post_id: there is no post {post_id}.", code="voice.post_not_found"
        )
    title = title.strip()
    if not title and post is not None:
        title = f"{post.platform} @{post.author_handle}: {post.text[:80]}".strip()
    if not title or len(title) > 300:
        raise InvalidInputError(
            "A crisis needs a title of 1 to 300 characters.", code=VoiceErrorCode.BAD_SETTINGS
        )
    owner_id = owner_id or settings.crisis_owner_id or actor.user_id
    _check_owner(session, owner_id)
    target = response_target_minutes or settings.response_target_minutes
    if not 1 <= target <= 7 * 24 * 60:
        raise InvalidInputError(
            "response_target_minutes must be between 1 and 10080.",
            code=VoiceErrorCode.BAD_SETTINGS,
        )
    now = utcnow()
    crisis = Crisis(
        title=title[:300],
        status=CrisisStatus.OPEN,
        owner_id=owner_id,
        alert_id=None if alert is None else alert.id,
        post_id=post_id,
        opened_at=now,
        response_due_at=now + timedelta(minutes=target),
        checklist={item: {"done": False, "at": None, "by": "", "note": ""} for item in CHECKLIST},
    )
    session.add(crisis)
    session.flush()
    if alert is not None:
        alert.status = AlertStatus.CRISIS
        alert.closed_at = now
    _event(
        session,
        crisis,
        "opened",
        f"Opened from alert {alert.id}" if alert is not None else "Opened by hand",
        actor,
    )
    record(
        session,
        actor=actor,
        action="voice.crisis_open",
        object_type="voice_crisis",
        object_id=crisis.id,
        summary=crisis.title[:200],
        changes={"owner_id": owner_id, "alert_id": crisis.alert_id, "target_minutes": target},
    )
    emit(session, "crisis.opened", {"crisis_id": crisis.id, "alert_id": crisis.alert_id})
    return crisis


def set_checklist_item(
    session: Session, crisis: Crisis, item: str, *, done: bool, actor: Actor, note: str = ""
) -> Crisis:
    """Tick (or untick) one checklist item, with an optional note.

    Raises
    ------
    InvalidInputError
        For an item not in :data:`CHECKLIST`.
    ConflictError
        When the crisis is closed.
    """
    if item not in CHECKLIST:
        raise InvalidInputError(
            f"Unknown checklist item {item!r}; use one of {', '.join(CHECKLIST)}.",
            code=VoiceErrorCode.BAD_CHECKLIST_ITEM,
        )
    _open_only(crisis)
    checklist: dict[str, Any] = {k: dict(v) for k, v in (crisis.checklist or {}).items()}
    checklist[item] = {
        "done": done,
        "at": utcnow().isoformat() if done else None,
        "by": actor.label if done else "",
        "note": note[:2000],
    }
    crisis.checklist = checklist
    session.flush()
    label = CHECKLIST_LABELS[item]
    _event(
        session,
        crisis,
        "checklist",
        f"{label}: {'done' if done else 'not done'}" + (f" — {note[:500]}" if note else ""),
        actor,
    )
    return crisis


def add_crisis_note(session: Session, crisis: Crisis, text: str, *, actor: Actor) -> CrisisEvent:
    """Add a note to a crisis's timeline."""
    text = text.strip()
    if not text:
        raise InvalidInputError("A note needs some text.", code=VoiceErrorCode.BAD_SETTINGS)
    return _event(session, crisis, "note", text[:5000], actor)


def record_public_response(
    session: Session, crisis: Crisis, *, text: str, actor: Actor, url: str = ""
) -> Crisis:
    """Record a public response; the first one stops the clock and ticks the statement item."""
    _open_only(crisis)
    text = text.strip()
    if not text:
        raise InvalidInputError(
            "Say what was published (the statement or its summary).",
            code=VoiceErrorCode.BAD_SETTINGS,
        )
    now = utcnow()
    first = crisis.first_response_at is None
    if first:
        crisis.first_response_at = now
        checklist = {k: dict(v) for k, v in (crisis.checklist or {}).items()}
        checklist["statement"] = {
            "done": True,
            "at": now.isoformat(),
            "by": actor.label,
            "note": url[:2000],
        }
        crisis.checklist = checklist
    session.flush()
    _event(
        session,
        crisis,
        "response",
        ("First public response: " if first else "Public response: ")
        + text[:4000]
        + (f" ({url[:500]})" if url else ""),
        actor,
    )
    record(
        session,
        actor=actor,
        action="voice.crisis_response",
        object_type="voice_crisis",
        object_id=crisis.id,
        summary=text[:200],
    )
    return crisis


def assign_crisis(session: Session, crisis: Crisis, owner_id: int, *, actor: Actor) -> Crisis:
    """Give a crisis to another owner."""
    _open_only(crisis)
    _check_owner(session, owner_id)
    before = crisis.owner_id
    crisis.owner_id = owner_id
    session.flush()
    _event(session, crisis, "owner", f"Owner changed from {before} to {owner_id}", actor)
    return crisis


def close_crisis(session: Session, crisis: Crisis, *, actor: Actor, note: str = "") -> Crisis:
    """Close a crisis (the timeline keeps why)."""
    _open_only(crisis)
    crisis.status = CrisisStatus.CLOSED
    crisis.closed_at = utcnow()
    session.flush()
    _event(session, crisis, "closed", note.strip()[:5000] or "Closed", actor)
    record(
        session,
        actor=actor,
        action="voice.crisis_close",
        object_type="voice_crisis",
        object_id=crisis.id,
        summary=crisis.title[:200],
    )
    return crisis


__all__ = [
    "CHECKLIST",
    "CHECKLIST_LABELS",
    "CrisisClock",
    "add_crisis_note",
    "assign_crisis",
    "close_crisis",
    "crisis_clock",
    "get_crisis",
    "list_crises",
    "list_crisis_events",
    "open_crisis",
    "record_public_response",
    "set_checklist_item",
]
