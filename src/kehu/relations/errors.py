"""Error codes of the relationship playbooks."""

from enum import StrEnum


class RelationsErrorCode(StrEnum):
    """Stable codes for the relationship playbooks' 4xx answers."""

    TASK_NOT_FOUND = "relations.task_not_found"
    TASK_CLOSED = "relations.task_closed"
    BAD_TASK = "relations.bad_task"
    UNKNOWN_CUSTOMER = "relations.unknown_customer"
    UNKNOWN_USER = "relations.unknown_user"
    BAD_STATUS = "relations.bad_status"
    BAD_POLICY = "relations.bad_policy"
    POLICY_NOT_FOUND = "relations.policy_not_found"
    BAD_REMINDER = "relations.bad_reminder"
    REMINDER_NOT_FOUND = "relations.reminder_not_found"
    DUPLICATE_REMINDER = "relations.duplicate_reminder"
    UNKNOWN_PRODUCT = "relations.unknown_product"
    BAD_SURPRISE = "relations.bad_surprise"
    SURPRISE_NOT_FOUND = "relations.surprise_not_found"
    DUPLICATE_SURPRISE = "relations.duplicate_surprise"
    GIFT_NOT_FOUND = "relations.gift_not_found"
    BAD_SETTINGS = "relations.bad_settings"
    BAD_PLAYBOOK = "relations.bad_playbook"
    BAD_REFERRAL = "relations.bad_referral"
    DUPLICATE_REFERRAL = "relations.duplicate_referral"
    REFERRAL_NOT_FOUND = "relations.referral_not_found"
    BAD_RULE = "relations.bad_rule"
    RULE_NOT_FOUND = "relations.rule_not_found"
    DUPLICATE_RULE = "relations.duplicate_rule"
    BAD_INTERACTION_KIND = "relations.bad_interaction_kind"
