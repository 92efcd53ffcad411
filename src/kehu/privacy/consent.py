"""Consent per channel and purpose, asked before any playbook contacts a customer.

One function, :func:`consent_refusals`, answers for a batch of customers whether a contact
in ``channel`` for ``purpose`` is allowed, and if not, why. The contact budget calls it for
every request (:func:`kehu.relations.spend_contacts`), so cadence contacts, free-service
reminders, surprises, recommendations sent out and campaigns
(``POST /api/v1/relations/contacts``) are all refused the same way, with the reason in the
contact ledger. The rules (the newest consent event per customer, channel and purpose is in
force; ``docs/privacy.md``):

* an **opt-in channel** (e-mail, SMS, WeChat: they push to the person) needs consent
  *granted* for that channel and purpose;
* another named channel (phone, post, web, app...) is refused when consent for it and the
  purpose was *withdrawn*;
* a **task** for staff, or no channel (the member of staff chooses how to reach out), is
  refused when the customer withdrew the purpose on every channel they answered for.
"""

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.customers import Consent, ConsentStatus

#: Channels that push to the person and need their opt-in (PIPL art. 13-14, GDPR art. 6/7).
OPT_IN_CHANNELS = frozenset({"email", "sms", "wechat"})
#: Channels where a member of staff picks how to reach the customer.
STAFF_CHANNELS = frozenset({"", "task"})
#: What each playbook contacts a customer for.
PLAYBOOK_PURPOSES: dict[str, str] = {
    "service": "service",
    "cadence": "relationship",
    "surprise": "marketing",
    "recommendations": "marketing",
    "campaign": "marketing",
}
DEFAULT_PURPOSE = "marketing"


def purpose_of(playbook: str) -> str:
    """Return the purpose a playbook contacts customers for (``marketing`` when unknown)."""
    return PLAYBOOK_PURPOSES.get(playbook.strip().lower(), DEFAULT_PURPOSE)


def _in_force(
    session: Session, customer_ids: list[int], purpose: str
) -> dict[int, dict[str, ConsentStatus]]:
    """Return, per customer, the consent in force per channel for ``purpose`` (one query)."""
    newest = (
        select(
            Consent.customer_id,
            Consent.channel,
            func.max(Consent.id).label("id"),
        )
        .where(Consent.customer_id.in_(customer_ids), Consent.purpose == purpose)
        .group_by(Consent.customer_id, Consent.channel)
        .subquery()
    )
    rows = session.execute(
        select(Consent.customer_id, Consent.channel, Consent.status).join(
            newest, newest.c.id == Consent.id
        )
    )
    state: dict[int, dict[str, ConsentStatus]] = {}
    for customer_id, channel, status in rows:
        state.setdefault(int(customer_id), {})[channel] = ConsentStatus(status)
    return state


def consent_refusals(
    session: Session, customer_ids: Iterable[int], *, channel: str, purpose: str
) -> dict[int, str]:
    """Return the customers (of ``customer_ids``) who may not be contacted, each with why.

    The rules are in the module docstring. Consent rows are append-only, so the newest row
    (highest id) per customer and channel is in force.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    channel = channel.strip().lower()
    purpose = purpose.strip().lower()
    state: dict[int, dict[str, ConsentStatus]] = {}
    for start in range(0, len(ids), 500):
        state.update(_in_force(session, ids[start : start + 500], purpose))
    refusals: dict[int, str] = {}
    for customer_id in ids:
        answers = state.get(customer_id, {})
        if channel in OPT_IN_CHANNELS:
            if answers.get(channel) != ConsentStatus.GRANTED:
                said = answers.get(channel)
                refusals[customer_id] = (
                    f"no consent: {channel} needs the customer's opt-in for {purpose} "
                    f"({'withdrawn' if said else 'never given'})"
                )
        elif channel in STAFF_CHANNELS:
            if answers and all(s == ConsentStatus.WITHDRAWN for s in answers.values()):
                refusals[customer_id] = (
                    f"no consent: the customer withdrew {purpose} on every channel "
                    f"({', '.join(sorted(answers))})"
                )
        elif answers.get(channel) == ConsentStatus.WITHDRAWN:
            refusals[customer_id] = f"no consent: {purpose} by {channel} was withdrawn"
    return refusals


__all__ = [
    "OPT_IN_CHANNELS",
    "PLAYBOOK_PURPOSES",
    "STAFF_CHANNELS",
    "consent_refusals",
    "purpose_of",
]
