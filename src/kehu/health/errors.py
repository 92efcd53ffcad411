"""Error codes of the relationship-health feature."""

from enum import StrEnum


class HealthErrorCode(StrEnum):
    """Stable codes of relationship-health errors."""

    NOT_SCORED = "health.not_scored"
    NO_RUN = "health.no_run"
    NO_ORDERS = "health.no_orders"
    TOO_LITTLE_HISTORY = "health.too_little_history"
    BAD_PARAMETER = "health.bad_parameter"
    BAD_SORT = "health.bad_sort"
    RUN_IN_PROGRESS = "health.run_in_progress"
    UNEXPECTED = "health.unexpected"
