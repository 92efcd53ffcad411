"""Record-level access: the one place the API looks up a record on a caller's behalf.

The rules live in :mod:`kehu.access` (docs/access.md); a record out of scope is a 404 (as
absent as one that does not exist) and lists are narrowed in their query.
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
    hide_customers,
)

__all__ = [
    "access_customer_by_id",
    "access_gift_by_id",
    "access_merge_by_id",
    "access_order_by_id",
    "access_referral_by_id",
    "access_task_by_id",
    "access_ticket_by_id",
    "check_assignee",
    "customer_filter_for",
    "customer_reference",
    "customer_references",
    "hide_customers",
]
