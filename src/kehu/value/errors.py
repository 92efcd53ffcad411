"""Error codes of the customer-value feature."""

from enum import StrEnum


class ValueErrorCode(StrEnum):
    """Stable codes of customer-value errors."""

    NOT_SCORED = "value.not_scored"
    NO_ORDERS = "value.no_orders"
    TOO_FEW_CUSTOMERS = "value.too_few_customers"
    FIT_FAILED = "value.fit_failed"
    BAD_PARAMETER = "value.bad_parameter"
    BAD_SORT = "value.bad_sort"
    RUN_IN_PROGRESS = "value.run_in_progress"
    UNEXPECTED = "value.unexpected"
