"""Webhooks end to end against a real HTTP receiver on loopback: outbox, signing, retries."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from kehu.audit import AuditEntry
from kehu.core import Actor, utcnow
from kehu.customers import merge_customers
from kehu.health import replace_customer_health, start_health_run
from kehu.jobs.webhooks import deliver_due
from kehu.relations import open_task
from kehu.service import set_ticket_status
from kehu.voice import open_crisis
from kehu.webhooks import (
    DeliveryStatus,
    SignatureError,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    create_subscription,
    get_subscription,
    verify_signature,
)
from tests.factories import make_customer
from tests.factories.service import make_ticket

ADMIN = Actor(kind="system", label="test admin")


def _subscribe(session, receiver, event_types=("customer.created",), name="crm"):
    subscription = create_subscription(
        session, name=name, url=receiver.url, event_types=list(event_types), actor=ADMIN
    )
    session.commit()
    return subscription


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _make_due(session):
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()


def test_event_is_signed_and_verifies(session, session_factory, receiver, webhook_settings):
    subscription = _subscribe(session, receiver)
    customer = make_customer(session, external_id="C-77")
    session.commit()

    run = deliver_due(session_factory, webhook_settings)

    assert (run.n_sent, run.n_delivered) == (1, 1)
    [request] = receiver.requests
    envelope = json.loads(request.body)
    assert envelope["type"] == "customer.created"
    assert envelope["data"] == {"customer_id": customer.id, "external_id": "C-77"}
    assert request.headers["webhook-id"] == envelope["id"]
    assert request.headers["webhook-signature"].startswith("v1,")
    verify_signature(subscription.secret, request.headers, request.body)  # no error
    with pytest.raises(SignatureError, match="No signature matches"):
        verify_signature(subscription.secret, request.headers, request.body + b" ")
    with pytest.raises(SignatureError, match="No signature matches"):
        verify_signature(subscription.secret.replace("whsec_", "whsec_A"), request.headers, b"")
    with pytest.raises(SignatureError, match="replay"):
        verify_signature(subscription.secret, request.headers, request.body, now=time.time() + 301)
    delivery = session.scalars(select(WebhookDelivery)).one()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.n_attempts, delivery.response_code) == (1, 200)
    assert delivery.latency_ms is not None
    assert delivery.latency_ms >= 0


def test_unwanted_event_types_are_not_queued(session, session_factory, receiver, webhook_settings):
    _subscribe(session, receiver, event_types=["ticket.created"])
    make_customer(session)
    session.commit()

    assert _count(session, WebhookEvent) == 0
    assert deliver_due(session_factory, webhook_settings).n_sent == 0
    assert receiver.requests == []


def test_nothing_is_sent_for_a_rolled_back_change(
    session, session_factory, receiver, webhook_settings
):
    _subscribe(session, receiver)
    make_customer(session)
    session.rollback()

    assert _count(session, WebhookEvent) == 0
    assert _count(session, WebhookDelivery) == 0
    assert deliver_due(session_factory, webhook_settings).n_sent == 0
    assert receiver.requests == []


def test_retry_after_500_with_backoff_then_delivered(
    session, session_factory, receiver, webhook_settings
):
    _subscribe(session, receiver)
    make_customer(session)
    session.commit()
    receiver.statuses = [500]
    before = utcnow()

    first = deliver_due(session_factory, webhook_settings)
    again_at_once = deliver_due(session_factory, webhook_settings)

    assert (first.n_sent, first.n_retrying) == (1, 1)
    assert again_at_once.n_sent == 0  # not due yet: backing off
    delivery = session.scalars(select(WebhookDelivery)).one()
    session.refresh(delivery)
    assert delivery.status == DeliveryStatus.PENDING
    assert (delivery.n_attempts, delivery.response_code) == (1, 500)
    assert "receiver says no" in delivery.last_error
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 15 <= wait <= 31  # base 30 s with equal jitter: 15 to 30 s

    _make_due(session)
    second = deliver_due(session_factory, webhook_settings)

    assert second.n_delivered == 1
    session.refresh(delivery)
    assert delivery.status == DeliveryStatus.DELIVERED
    attempts = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt)).all()
    assert [(a.attempt, a.response_code, a.is_success) for a in attempts] == [
        (1, 500, False),
        (2, 200, True),
    ]
    first_request, second_request = receiver.requests
    assert first_request.headers["webhook-id"] == second_request.headers["webhook-id"]
    assert first_request.body == second_request.body


def test_gives_up_after_max_attempts(session, session_factory, receiver, webhook_settings):
    settings = webhook_settings.model_copy(
        update={"webhook_max_attempts": 2, "webhook_disable_after_failures": 100}
    )
    _subscribe(session, receiver)
    make_customer(session)
    session.commit()
    receiver.always = 503

    deliver_due(session_factory, settings)
    _make_due(session)
    last = deliver_due(session_factory, settings)

    assert last.n_failed == 1
    delivery = session.scalars(select(WebhookDelivery)).one()
    session.refresh(delivery)
    assert (delivery.status, delivery.n_attempts) == (DeliveryStatus.FAILED, 2)
    _make_due(session)
    assert deliver_due(session_factory, settings).n_sent == 0


def test_subscription_disabled_after_consecutive_failures(
    session, session_factory, receiver, webhook_settings
):
    subscription = _subscribe(session, receiver)
    for _ in range(3):
        make_customer(session)
    session.commit()
    receiver.always = 500

    run = deliver_due(session_factory, webhook_settings)

    assert run.n_sent == 3
    assert run.disabled_subscriptions == [subscription.id]
    session.expire_all()
    subscription = get_subscription(session, subscription.id)
    assert subscription.is_active is False
    assert "3 consecutive failed deliveries" in subscription.disabled_reason
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "webhooks.subscription.disabled")
    ).one()
    assert audit.object_id == str(subscription.id)
    # Disabled: nothing more is queued or sent.
    make_customer(session)
    session.commit()
    _make_due(session)
    assert deliver_due(session_factory, webhook_settings).n_sent == 0
    assert _count(session, WebhookEvent) == 3


def test_success_resets_the_failure_count(session, session_factory, receiver, webhook_settings):
    subscription = _subscribe(session, receiver)
    make_customer(session)
    make_customer(session)
    session.commit()
    receiver.statuses = [500, 200]

    deliver_due(session_factory, webhook_settings)

    session.expire_all()
    assert get_subscription(session, subscription.id).n_consecutive_failures == 0


def test_unreachable_receiver_is_a_failure(session, session_factory, receiver, webhook_settings):
    subscription = _subscribe(session, receiver)
    subscription.url = "http://127.0.0.1:9/nobody-listens"  # discard port: refused
    session.commit()
    make_customer(session)
    session.commit()

    run = deliver_due(session_factory, webhook_settings)

    assert run.n_retrying == 1
    delivery = session.scalars(select(WebhookDelivery)).one()
    session.refresh(delivery)
    assert delivery.response_code is None
    assert "ConnectError" in delivery.last_error


def test_ticket_events_are_emitted(session, session_factory, receiver, webhook_settings):
    _subscribe(session, receiver, event_types=["*"])
    ticket = make_ticket(session)
    set_ticket_status(session, ticket, "resolved", actor=ADMIN)
    session.commit()

    deliver_due(session_factory, webhook_settings)

    types = [json.loads(r.body)["type"] for r in receiver.requests]
    assert types == ["ticket.created", "ticket.resolved"]
    assert json.loads(receiver.requests[1].body)["data"]["ticket_id"] == ticket.id


def test_every_other_event_type_is_queued_by_its_operation(session):
    create_subscription(
        session, name="all", url="https://example.com/all", event_types=["*"], actor=ADMIN
    )
    winner, loser, other = make_customer(session), make_customer(session), make_customer(session)
    session.query(WebhookEvent).delete()  # the three customer.created

    merge_customers(session, winner_id=winner.id, loser_id=loser.id, actor=ADMIN)
    open_task(
        session,
        customer_id=winner.id,
        kind="churn_risk",
        title="Call them",
        owner_id=None,
        due_at=utcnow(),
        evidence={},
        dedupe_key="hook-test",
        actor=ADMIN,
    )
    open_crisis(session, title="Outage", actor=ADMIN)
    run = start_health_run(session, actor=ADMIN, window_days=90)
    row = {"churn_risk": 0.5, "previous_risk": 0.1, "p_alive": 0.5, "evidence": {}}
    replace_customer_health(
        session,
        run,
        [
            {**row, "customer_id": winner.id, "stage": "at_risk", "previous_stage": "mature"},
            {**row, "customer_id": other.id, "stage": "mature", "previous_stage": "mature"},
        ],
        actor=ADMIN,
    )

    events = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    assert [e.event_type for e in events] == [
        "customer.merged",
        "task.opened",
        "crisis.opened",
        "health.stage_changed",
    ]
    assert events[0].payload == {"customer_id": winner.id, "merged_id": loser.id}
    assert events[3].payload == {
        "customer_id": winner.id,
        "stage": "at_risk",
        "previous_stage": "mature",
    }
