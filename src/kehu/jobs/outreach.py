"""Recommendations sent out spend the customer's one contact budget (issue 7 §5).

A list served on the web shop or in the app is not a contact: the customer came to us and
pulled it. A list sent in an outreach channel (e-mail, SMS, WeChat — the channels that need
opt-in consent, :data:`OUTREACH_CHANNELS`) reaches out to them, so it asks the budget first,
as playbook ``recommendations`` with its priority (below cadence, service and surprises):

* :func:`spend_for_served` — before a served list in an outreach channel is recorded as shown.
  Allowed: one contact is spent (reference ``serve:<serve_id>``, so a retry spends nothing
  twice). Refused: the list is withheld (``channel_closed`` says ``contact_budget`` and, when
  the request waits, the moment a slot frees), nothing is recorded, and the ledger says why.
* :func:`count_reported_impressions` — impressions that a sending system reports through
  ``POST /events`` for lists it sent without asking: the contact was made and cannot be refused
  any more, so it is counted against the budget (once per sent list) and later playbooks wait.

The pull path (web, app, console) costs no query here.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kehu.core import Actor
from kehu.engagement import RecommendationEventIn, RecommendationEventKind
from kehu.playbooks.restraint import DEFAULT_CHANNELS, Withheld, WithheldReason
from kehu.relations import (
    ContactDecision,
    ContactRequest,
    Verdict,
    record_contacts_made,
    spend_contact,
)

if TYPE_CHECKING:
    from kehu.jobs.recommend import Served

#: Channels that push a list to the customer: showing a list there is a contact.
OUTREACH_CHANNELS: frozenset[str] = frozenset(
    rule.name for rule in DEFAULT_CHANNELS if rule.displays and rule.needs_opt_in
)
#: The playbook name recommendations spend the budget as.
PLAYBOOK = "recommendations"


def spend_for_served(
    session: Session, served: "Served", *, actor: Actor | None = None
) -> Verdict | None:
    """Ask the contact budget before an outreach list is recorded as shown; withhold if refused.

    Returns the budget's verdict, or ``None`` when the list costs no contact (a pull channel,
    or nothing to record).
    """
    if not served.to_record or served.channel not in OUTREACH_CHANNELS:
        return None
    verdict = spend_contact(
        session,
        customer_id=served.customer_id,
        playbook=PLAYBOOK,
        actor=actor or Actor.system("recommendations"),
        channel=served.channel,
        reference=f"serve:{served.serve_id}",
        at=served.served_at,
    )
    if verdict.decision != ContactDecision.SENT:
        served.items = []
        served.to_record = []
        served.channel_closed = Withheld(None, WithheldReason.CONTACT_BUDGET, verdict.retry_at)
        served.notes.append(f"contact budget: {verdict.decision.value}: {verdict.reason}")
    return verdict


def count_reported_impressions(
    session: Session, events: Sequence[RecommendationEventIn], *, actor: Actor
) -> int:
    """Count impressions reported in outreach channels against the budget; return contacts added.

    One contact per sent list: events of one ``serve_id`` (or, without one, of one customer,
    channel and moment) are one contact; a list already paid for through serving is skipped.
    """
    contacts = []
    for event in events:
        if event.kind != RecommendationEventKind.IMPRESSION:
            continue
        channel = event.channel.strip().lower()
        if channel not in OUTREACH_CHANNELS:
            continue
        reference = (
            f"serve:{event.serve_id}"
            if event.serve_id
            else f"shown:{channel}:{event.occurred_at.isoformat()}"
        )
        request = ContactRequest(
            customer_id=event.customer_id, playbook=PLAYBOOK, reference=reference
        )
        contacts.append((request, channel, event.occurred_at))
    if not contacts:
        return 0
    return record_contacts_made(
        session,
        contacts,
        actor=actor,
        reason="recommendations sent by another system and reported as impressions; counted",
    )


__all__ = ["OUTREACH_CHANNELS", "PLAYBOOK", "count_reported_impressions", "spend_for_served"]
