"""Error codes of the webhooks feature."""

from enum import StrEnum


class WebhookErrorCode(StrEnum):
    """Stable codes of webhook errors."""

    SUBSCRIPTION_NOT_FOUND = "webhooks.subscription_not_found"
    BAD_URL = "webhooks.bad_url"
    UNSAFE_URL = "webhooks.unsafe_url"
    BAD_EVENT_TYPE = "webhooks.bad_event_type"
    DUPLICATE_NAME = "webhooks.duplicate_name"
    DELIVERY_NOT_FOUND = "webhooks.delivery_not_found"
    ALREADY_DELIVERED = "webhooks.already_delivered"
