"""Error codes of the service desk."""

from enum import StrEnum


class ServiceErrorCode(StrEnum):
    """Stable codes for the service desk's 4xx answers."""

    TICKET_NOT_FOUND = "service.ticket_not_found"
    CATEGORY_NOT_FOUND = "service.category_not_found"
    UNKNOWN_CATEGORY = "service.unknown_category"
    NOT_A_LEAF = "service.not_a_leaf"
    CATEGORY_CYCLE = "service.category_cycle"
    DUPLICATE_CATEGORY = "service.duplicate_category"
    SLA_POLICY_NOT_FOUND = "service.sla_policy_not_found"
    DUPLICATE_SLA_POLICY = "service.duplicate_sla_policy"
    BAD_CALENDAR = "service.bad_calendar"
    BAD_TARGETS = "service.bad_targets"
    EMPTY_MESSAGE = "service.empty_message"
    MESSAGE_TOO_LONG = "service.message_too_long"
    BAD_TRANSITION = "service.bad_transition"
    DUPLICATE_TICKET = "service.duplicate_ticket"
    UNKNOWN_DEPARTMENT = "service.unknown_department"
    UNKNOWN_USER = "service.unknown_user"
    UNKNOWN_ORDER = "service.unknown_order"
    BAD_RATING = "service.bad_rating"
    NO_STEPS = "service.no_steps"
    RULE_REWORDED = "service.rule_reworded"
    BAD_CSV = "service.bad_csv"
    STALE_TICKET = "service.stale_ticket"
