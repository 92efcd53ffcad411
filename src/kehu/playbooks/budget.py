"""One contact budget per customer across every playbook (pure; see :mod:`kehu.relations.budget`).

The serving path of recommendations asks here before an outreach contact (e-mail, SMS,
WeChat -- not a page the customer is already looking at) with
``decide(policy, sent_at, [ContactRequest(customer_id, "recommendations")], at=now)``, or
calls :func:`kehu.relations.spend_contact`, which also records the decision in the ledger.
"""

from kehu.relations.budget import (
    DEFAULT_PRIORITIES,
    DEFAULT_WAIT_MIN_PRIORITY,
    BudgetPolicy,
    ContactRequest,
    Verdict,
    decide,
)

__all__ = [
    "DEFAULT_PRIORITIES",
    "DEFAULT_WAIT_MIN_PRIORITY",
    "BudgetPolicy",
    "ContactRequest",
    "Verdict",
    "decide",
]
