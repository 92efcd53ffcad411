"""Record-level access: who may see and change which records (docs/access.md).

``scope`` returns SQL predicates (``None`` for "every row") so that lists are filtered inside
their query and single lookups cost one indexed read; ``records`` turns them into lookups that
raise a 404 for a record out of scope. The API and the console both call these; features take
the predicates as plain ``where`` / ``scope`` arguments and never import this package.
"""

from kehu.access.records import (
    access_customer_by_id,
    access_gift_by_id,
    access_merge_by_id,
    access_order_by_id,
    access_referral_by_id,
    access_task_by_id,
    access_ticket_by_id,
    check_assignee,
    customer_filter_for,
    customer_reference,
    customer_references,
    find_customers_to_link,
    hide_customers,
)
from kehu.access.scope import (
    audit_scope,
    can_assign_to,
    customer_ids_for,
    customer_scope,
    invisible_customers,
    is_customer_visible,
    is_task_visible,
    is_ticket_visible,
    record_scope,
    referral_scope,
    task_scope,
    team_ids,
    ticket_scope,
)

__all__ = [
    "access_customer_by_id",
    "access_gift_by_id",
    "access_merge_by_id",
    "access_order_by_id",
    "access_referral_by_id",
    "access_task_by_id",
    "access_ticket_by_id",
    "audit_scope",
    "can_assign_to",
    "check_assignee",
    "customer_filter_for",
    "customer_ids_for",
    "customer_reference",
    "customer_references",
    "customer_scope",
    "find_customers_to_link",
    "hide_customers",
    "invisible_customers",
    "is_customer_visible",
    "is_task_visible",
    "is_ticket_visible",
    "record_scope",
    "referral_scope",
    "task_scope",
    "team_ids",
    "ticket_scope",
]
