"""Webhooks out: subscriptions per event type, a transactional outbox, signed deliveries.

Other features call :func:`emit` inside their operations; :mod:`kehu.jobs.webhooks` delivers.
"""

from kehu.webhooks.destinations import check_destination, destination_problem
from kehu.webhooks.events import ALL_EVENTS, EVENT_TYPES, check_event_types
from kehu.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from kehu.webhooks.operations import (
    AttemptOutcome,
    DueDelivery,
    backoff_seconds,
    claim_due_deliveries,
    create_subscription,
    delete_subscription,
    emit,
    emit_many,
    event_body,
    record_attempt,
    retry_delivery,
    rotate_secret,
    update_subscription,
)
from kehu.webhooks.queries import (
    get_subscription,
    list_attempts,
    list_deliveries,
    list_subscriptions,
)
from kehu.webhooks.signing import (
    DEFAULT_TOLERANCE_S,
    SignatureError,
    new_secret,
    sign,
    signature_headers,
    verify_signature,
)

__all__ = [
    "ALL_EVENTS",
    "DEFAULT_TOLERANCE_S",
    "EVENT_TYPES",
    "AttemptOutcome",
    "DeliveryStatus",
    "DueDelivery",
    "SignatureError",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "backoff_seconds",
    "check_destination",
    "check_event_types",
    "claim_due_deliveries",
    "create_subscription",
    "delete_subscription",
    "destination_problem",
    "emit",
    "emit_many",
    "event_body",
    "get_subscription",
    "list_attempts",
    "list_deliveries",
    "list_subscriptions",
    "new_secret",
    "record_attempt",
    "retry_delivery",
    "rotate_secret",
    "sign",
    "signature_headers",
    "update_subscription",
    "verify_signature",
]
