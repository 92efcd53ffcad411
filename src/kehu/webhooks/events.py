"""The event types kehu sends, and checking a subscription's list of them."""

from kehu.core import InvalidInputError
from kehu.webhooks.errors import WebhookErrorCode

#: Every event type, with what it means (shown in the console and docs/webhooks.md).
EVENT_TYPES: dict[str, str] = {
    "customer.created": "A customer was created one at a time (not by a bulk file import).",
    "customer.merged": "A duplicate customer was merged into another.",
    "ticket.created": "A service ticket was opened.",
    "ticket.routed": "A ticket was put in a category (by the classifier or an agent).",
    "ticket.resolved": "A ticket was resolved.",
    "crisis.opened": "A voice-of-the-customer crisis was opened.",
    "task.opened": "A relationship task was opened for an owner.",
    "health.stage_changed": "A customer's relationship-health stage changed.",
}
ALL_EVENTS = "*"


def check_event_types(event_types: list[str]) -> list[str]:
    """Return the list de-duplicated and sorted, or raise for an unknown type or an empty list."""
    cleaned = sorted({t.strip() for t in event_types if t.strip()})
    if not cleaned:
        raise InvalidInputError(
            "event_types: name at least one event type, or '*' for all.",
            code=WebhookErrorCode.BAD_EVENT_TYPE,
        )
    unknown = [t for t in cleaned if t != ALL_EVENTS and t not in EVENT_TYPES]
    if unknown:
        raise InvalidInputError(
            f"event_types: unknown {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(EVENT_TYPES)} (or '*').",
            code=WebhookErrorCode.BAD_EVENT_TYPE,
        )
    return [ALL_EVENTS] if ALL_EVENTS in cleaned else cleaned
