"""Delivering webhooks: claim due deliveries, POST them signed, log each attempt.

Runs as a daemon thread inside ``kehu serve`` (every ``KEHU_WEBHOOK_DELIVER_EVERY_SECONDS``)
and on demand as ``kehu webhooks deliver`` (cron). Claims are committed before any request is
sent and each answer is recorded in a transaction of its own, so no transaction is held open
across the network and a worker killed mid-send only delays the delivery by the claim's lease.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kehu import __version__
from kehu.core import Settings
from kehu.jobs.schedule import PeriodicJob
from kehu.store import session_scope
from kehu.webhooks import (
    DeliveryStatus,
    DueDelivery,
    SignatureError,
    claim_due_deliveries,
    destination_problem,
    record_attempt,
    signature_headers,
)

log = logging.getLogger("kehu.webhooks")

USER_AGENT = f"kehu-webhooks/{__version__}"
#: Seconds a claimed delivery is left to its worker before another may send it again.
CLAIM_LEASE_S = 120
CANNOT_SIGN = (
    "cannot sign: the subscription's secret cannot be decrypted with the current "
    "KEHU_SECRET_KEY; rotate its secret"
)


@dataclass
class DeliveryRun:
    """What one delivery turn did."""

    n_sent: int = 0
    n_delivered: int = 0
    n_retrying: int = 0
    n_failed: int = 0
    disabled_subscriptions: list[int] = field(default_factory=list)


def _post(
    client: httpx.Client, due: DueDelivery, *, allow_private: bool
) -> tuple[int | None, int, str]:
    # Checked again now: what the name resolves to may have changed since it was subscribed.
    problem = destination_problem(due.url, allow_private=allow_private)
    if problem is not None:
        return None, 0, f"refused: {problem}; webhooks go outside this host's network only"
    try:
        signature = signature_headers(due.secret, due.event_id, due.body)
    except SignatureError:
        return None, 0, CANNOT_SIGN
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-event-type": due.event_type,
        **signature,
    }
    started = time.perf_counter()
    try:
        response = client.post(due.url, content=due.body, headers=headers)
    except httpx.HTTPError as exc:
        latency_ms = round((time.perf_counter() - started) * 1000)
        return None, latency_ms, f"{type(exc).__name__}: {exc}"
    latency_ms = round((time.perf_counter() - started) * 1000)
    error = "" if 200 <= response.status_code < 300 else response.text[:500]
    return response.status_code, latency_ms, error


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    limit: int = 100,
    client: httpx.Client | None = None,
) -> DeliveryRun:
    """Send every delivery due now (up to ``limit``) once; return what happened."""
    run = DeliveryRun()
    with session_scope(session_factory) as session:
        due = claim_due_deliveries(session, limit=limit, lease_s=CLAIM_LEASE_S)
    if not due:
        return run
    own_client = client is None
    # Redirects are not followed: a receiver that moved must be re-subscribed by an admin.
    http = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
    try:
        for item in due:
            code, latency_ms, error = _post(
                http, item, allow_private=settings.webhooks_allow_private
            )
            with session_scope(session_factory) as session:
                outcome = record_attempt(
                    session,
                    item.delivery_id,
                    response_code=code,
                    latency_ms=latency_ms,
                    error=error,
                    max_attempts=settings.webhook_max_attempts,
                    backoff_base_s=settings.webhook_backoff_base_s,
                    backoff_max_s=settings.webhook_backoff_max_s,
                    disable_after=settings.webhook_disable_after_failures,
                )
            run.n_sent += 1
            if outcome.status == DeliveryStatus.DELIVERED:
                run.n_delivered += 1
            elif outcome.status == DeliveryStatus.FAILED:
                run.n_failed += 1
                log.warning("webhook delivery %s gave up: %s", item.delivery_id, error or code)
            else:
                run.n_retrying += 1
            if outcome.subscription_disabled:
                run.disabled_subscriptions.append(item.subscription_id)
                log.warning(
                    "webhook subscription %s disabled after %s consecutive failures",
                    item.subscription_id,
                    settings.webhook_disable_after_failures,
                )
    finally:
        if own_client:
            http.close()
    return run


def delivery_turn(session_factory: sessionmaker[Session], settings: Settings) -> str:
    """One turn of the delivery job: deliver what is due now (for :class:`PeriodicJob`)."""
    run = deliver_due(session_factory, settings)
    return "failed" if run.n_failed else "succeeded"


def start_webhook_worker(settings: Settings, session_factory: Any) -> PeriodicJob | None:
    """Start the delivery job unless ``KEHU_WEBHOOK_DELIVER_EVERY_SECONDS`` is 0.

    A :class:`~kehu.jobs.schedule.PeriodicJob` like the other jobs of ``kehu serve``: failures
    are logged, never raised, so the server keeps serving whatever the receivers do.
    """
    if settings.webhook_deliver_every_seconds <= 0:
        return None
    job = PeriodicJob(
        "webhooks",
        settings.webhook_deliver_every_seconds,
        lambda: delivery_turn(session_factory, settings),
    )
    job.start()
    log.info("webhook delivery every %s s", settings.webhook_deliver_every_seconds)
    return job


__all__ = ["DeliveryRun", "deliver_due", "delivery_turn", "start_webhook_worker"]
