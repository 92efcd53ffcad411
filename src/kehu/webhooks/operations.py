"""Writes of the webhooks feature: subscriptions, the outbox, and the delivery log.

:func:`emit` is what other features call, in their own transaction; the worker in
:mod:`kehu.jobs.webhooks` calls :func:`claim_due_deliveries` and :func:`record_attempt` around
each HTTP request (which it makes outside any transaction).
"""

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import (
    Actor,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    get_settings,
    utcnow,
)
from kehu.webhooks.destinations import check_destination
from kehu.webhooks.errors import WebhookErrorCode
from kehu.webhooks.events import ALL_EVENTS, EVENT_TYPES, check_event_types
from kehu.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from kehu.webhooks.queries import get_subscription
from kehu.webhooks.signing import new_secret

#: An attempt answered with one of these statuses succeeded.
_SUCCESS = range(200, 300)
_MAX_ERROR_CHARS = 2000


def emit(session: Session, event_type: str, payload: dict[str, Any]) -> WebhookEvent | None:
    """Queue ``event_type`` with ``payload`` for every active subscription that wants it.

    Written in the caller's transaction (the outbox): if the change rolls back, nothing is
    sent; once it commits, the worker delivers. Returns the outbox row, or None when no
    subscription wants the event (then nothing is written at all).
    """
    events = emit_many(session, event_type, [payload])
    return events[0] if events else None


def emit_many(
    session: Session, event_type: str, payloads: Sequence[dict[str, Any]]
) -> list[WebhookEvent]:
    """Queue one ``event_type`` event per payload (one subscription lookup for them all)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}; add it to EVENT_TYPES")
    if not payloads:
        return []
    rows = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types).where(
            WebhookSubscription.is_active.is_(True)
        )
    ).all()
    wanted = [sid for sid, types in rows if ALL_EVENTS in types or event_type in types]
    if not wanted:
        return []
    now = utcnow()
    events = [
        WebhookEvent(
            event_id=f"evt_{uuid.uuid4().hex}",
            event_type=event_type,
            payload=to_jsonable_python(payload),
            created_at=now,
        )
        for payload in payloads
    ]
    session.add_all(events)
    session.flush()
    session.add_all(
        WebhookDelivery(
            event_id=event.id,
            subscription_id=sid,
            status=DeliveryStatus.PENDING,
            n_attempts=0,
            next_attempt_at=now,
            last_error="",
        )
        for event in events
        for sid in wanted
    )
    session.flush()
    return events


def _check_url(url: str, *, allow_private: bool | None) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInputError(
            f"url: {url!r} is not an http(s) URL with a host.", code=WebhookErrorCode.BAD_URL
        )
    if len(url) > 2000:
        raise InvalidInputError("url: longer than 2000 characters.", code=WebhookErrorCode.BAD_URL)
    if allow_private is None:
        allow_private = get_settings().webhooks_allow_private
    check_destination(url, allow_private=allow_private)
    return url


def create_subscription(
    session: Session,
    *,
    name: str,
    url: str,
    event_types: list[str],
    actor: Actor,
    allow_private: bool | None = None,
) -> WebhookSubscription:
    """Subscribe ``url`` to ``event_types`` (``["*"]`` for all) with a fresh signing secret.

    A URL inside this host's network is refused (422 ``webhooks.unsafe_url``) unless
    ``allow_private`` (by default ``KEHU_WEBHOOKS_ALLOW_PRIVATE``; :mod:`.destinations`).
    """
    subscription = WebhookSubscription(
        name=name.strip(),
        url=_check_url(url, allow_private=allow_private),
        secret=new_secret(),
        event_types=check_event_types(event_types),
        is_active=True,
        n_consecutive_failures=0,
        disabled_reason="",
    )
    if not subscription.name:
        raise InvalidInputError("name: give the subscription a name.", code="invalid")
    if session.scalar(
        select(WebhookSubscription.id).where(WebhookSubscription.name == subscription.name)
    ):
        raise ConflictError(
            f"A webhook subscription named {subscription.name!r} exists already.",
            code=WebhookErrorCode.DUPLICATE_NAME,
        )
    session.add(subscription)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ConflictError(
            f"A webhook subscription named {name!r} exists already.",
            code=WebhookErrorCode.DUPLICATE_NAME,
        ) from exc
    record(
        session,
        actor=actor,
        action="webhooks.subscription.create",
        object_type="webhook_subscription",
        object_id=subscription.id,
        summary=f"webhook {subscription.name} → {subscription.url}",
        changes={"event_types": subscription.event_types},
    )
    return subscription


def update_subscription(
    session: Session,
    subscription_id: int,
    *,
    actor: Actor,
    url: str | None = None,
    event_types: list[str] | None = None,
    is_active: bool | None = None,
    allow_private: bool | None = None,
) -> WebhookSubscription:
    """Change a subscription's URL, event types or state; enabling resets its failure count.

    A new URL is checked as in :func:`create_subscription`.
    """
    subscription = get_subscription(session, subscription_id)
    changes: dict[str, Any] = {}
    if url is not None:
        subscription.url = changes["url"] = _check_url(url, allow_private=allow_private)
    if event_types is not None:
        subscription.event_types = changes["event_types"] = check_event_types(event_types)
    if is_active is not None and is_active != subscription.is_active:
        subscription.is_active = changes["is_active"] = is_active
        if is_active:
            subscription.n_consecutive_failures = 0
            subscription.disabled_at = None
            subscription.disabled_reason = ""
        else:
            subscription.disabled_at = utcnow()
            subscription.disabled_reason = f"disabled by {actor.label}"
    session.flush()
    record(
        session,
        actor=actor,
        action="webhooks.subscription.update",
        object_type="webhook_subscription",
        object_id=subscription.id,
        summary=f"webhook {subscription.name} changed",
        changes=changes,
    )
    return subscription


def delete_subscription(session: Session, subscription_id: int, *, actor: Actor) -> None:
    """Delete a subscription with its pending deliveries and log."""
    subscription = get_subscription(session, subscription_id)
    name = subscription.name
    session.delete(subscription)
    session.flush()
    record(
        session,
        actor=actor,
        action="webhooks.subscription.delete",
        object_type="webhook_subscription",
        object_id=subscription_id,
        summary=f"webhook {name} deleted",
    )


def rotate_secret(session: Session, subscription_id: int, *, actor: Actor) -> WebhookSubscription:
    """Give a subscription a new signing secret (the old one stops verifying at once)."""
    subscription = get_subscription(session, subscription_id)
    subscription.secret = new_secret()
    session.flush()
    record(
        session,
        actor=actor,
        action="webhooks.subscription.rotate_secret",
        object_type="webhook_subscription",
        object_id=subscription.id,
        summary=f"webhook {subscription.name}: new secret",
    )
    return subscription


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """What the worker needs to send one delivery (no ORM rows cross the HTTP call)."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes
    attempt: int


def event_body(event: WebhookEvent) -> bytes:
    """Return the JSON body sent for ``event`` (the same bytes on every attempt)."""
    envelope = {
        "id": event.event_id,
        "type": event.event_type,
        "created_at": event.created_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def claim_due_deliveries(
    session: Session, *, limit: int = 50, lease_s: float = 120, now: datetime | None = None
) -> list[DueDelivery]:
    """Take up to ``limit`` due deliveries of active subscriptions, oldest first.

    Each claimed delivery's next attempt moves ``lease_s`` ahead, so another worker does not
    send it too, and a worker killed mid-send leaves it to be retried after the lease. On
    PostgreSQL rows another worker is claiming are skipped (``FOR UPDATE SKIP LOCKED``).
    The caller commits right away, before sending.
    """
    now = now or utcnow()
    query = (
        select(WebhookDelivery, WebhookEvent, WebhookSubscription)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.is_active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    due = []
    for delivery, event, subscription in session.execute(query).all():
        delivery.next_attempt_at = now + timedelta(seconds=lease_s)
        due.append(
            DueDelivery(
                delivery_id=delivery.id,
                subscription_id=subscription.id,
                url=subscription.url,
                secret=subscription.secret,
                event_id=event.event_id,
                event_type=event.event_type,
                body=event_body(event),
                attempt=delivery.n_attempts + 1,
            )
        )
    session.flush()
    return due


def backoff_seconds(
    n_attempts: int, *, base_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Return the wait after the ``n_attempts``-th failure: exponential, capped, jittered.

    The cap of ``base_s * 2 ** (n - 1)`` is halved and the other half drawn at random
    ("equal jitter"), so receivers that failed together are not retried in lockstep.
    """
    ceiling = min(max_s, base_s * 2.0 ** max(0, n_attempts - 1))
    draw = (rng or _JITTER).uniform(0, ceiling / 2)
    return ceiling / 2 + draw


# Jitter spreads retries in time; it guards nothing, so a non-cryptographic generator is right.
_JITTER = random.Random()  # noqa: S311


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What became of a delivery after one attempt."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    subscription_disabled: bool


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    response_code: int | None,
    latency_ms: int,
    error: str = "",
    max_attempts: int,
    backoff_base_s: float,
    backoff_max_s: float,
    disable_after: int,
    now: datetime | None = None,
) -> AttemptOutcome:
    """Log one attempt; schedule the retry, give up, or disable the subscription.

    A 2xx answer delivers and resets the subscription's failure count. Anything else (another
    status, a timeout, a refused connection) counts a failure: the delivery is retried after
    :func:`backoff_seconds` until ``max_attempts`` attempts, and a subscription failing
    ``disable_after`` times in a row is disabled, audited and logged.
    """
    now = now or utcnow()
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:  # the subscription was deleted while we were sending
        return AttemptOutcome(DeliveryStatus.FAILED, None, subscription_disabled=False)
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    delivery.n_attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code = response_code
    delivery.latency_ms = latency_ms
    delivery.last_error = error[:_MAX_ERROR_CHARS]
    success = response_code is not None and response_code in _SUCCESS
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempt=delivery.n_attempts,
            at=now,
            response_code=response_code,
            latency_ms=latency_ms,
            error=error[:_MAX_ERROR_CHARS],
            is_success=success,
        )
    )
    disabled = False
    if success:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        if subscription is not None:
            subscription.n_consecutive_failures = 0
        session.flush()
        return AttemptOutcome(DeliveryStatus.DELIVERED, None, subscription_disabled=False)
    if delivery.n_attempts >= max_attempts:
        delivery.status = DeliveryStatus.FAILED
    else:
        delay = backoff_seconds(delivery.n_attempts, base_s=backoff_base_s, max_s=backoff_max_s)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    if subscription is not None:
        subscription.n_consecutive_failures += 1
        if subscription.is_active and subscription.n_consecutive_failures >= disable_after:
            disabled = True
            _disable(session, subscription, now=now)
    session.flush()
    return AttemptOutcome(
        DeliveryStatus(delivery.status),
        delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING else None,
        subscription_disabled=disabled,
    )


def _disable(session: Session, subscription: WebhookSubscription, *, now: datetime) -> None:
    reason = f"disabled after {subscription.n_consecutive_failures} consecutive failed deliveries"
    subscription.is_active = False
    subscription.disabled_at = now
    subscription.disabled_reason = reason
    record(
        session,
        actor=Actor.system("webhook delivery"),
        action="webhooks.subscription.disabled",
        object_type="webhook_subscription",
        object_id=subscription.id,
        summary=f"webhook {subscription.name} {reason}; fix the receiver and enable it again",
    )


def retry_delivery(session: Session, delivery_id: int, *, actor: Actor) -> WebhookDelivery:
    """Queue a delivery that failed (or is waiting) for an attempt now; 409 if delivered."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFoundError(
            f"There is no webhook delivery {delivery_id}.", code=WebhookErrorCode.DELIVERY_NOT_FOUND
        )
    if delivery.status == DeliveryStatus.DELIVERED:
        raise ConflictError(
            f"Delivery {delivery_id} was delivered already; nothing to retry.",
            code=WebhookErrorCode.ALREADY_DELIVERED,
        )
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="webhooks.delivery.retry",
        object_type="webhook_delivery",
        object_id=delivery_id,
        summary=f"delivery {delivery_id} queued again",
    )
    return delivery


__all__ = [
    "AttemptOutcome",
    "DueDelivery",
    "backoff_seconds",
    "claim_due_deliveries",
    "create_subscription",
    "delete_subscription",
    "emit",
    "emit_many",
    "event_body",
    "record_attempt",
    "retry_delivery",
    "rotate_secret",
    "update_subscription",
]
