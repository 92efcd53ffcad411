"""Opting out of automated decisions (PIPL art. 24, GDPR art. 22).

A customer who opted out gets no automated scores used or shown: recommendations are not
served to them (:func:`kehu.jobs.recommend.plan_recommendations` reads the flag in the same
query as consent); the value and health jobs do not score them and the relations playbooks
open no automated task for them (:mod:`kehu.jobs`); opting out deletes the scores they had
and puts their open tickets back on the default SLA policy. The flag is a row in
``privacy_opt_outs``; its absence means "allowed".
"""

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, NotFoundError
from kehu.customers import get_customer
from kehu.health import CustomerHealth
from kehu.privacy.errors import PrivacyErrorCode
from kehu.privacy.models import AutomatedDecisionOptOut
from kehu.service import retier_open_tickets
from kehu.value import CustomerValue

#: The reason given wherever an opted-out customer's automated result is withheld.
OPTED_OUT_REASON = "automated_decisions_opt_out"
OPTED_OUT_TEXT = "Opted out of automated decisions"


class AutomatedDecisionsPublic(BaseModel):
    """Whether a customer opted out of automated decisions, and since when."""

    customer_id: int
    opted_out: bool
    opted_out_at: datetime | None = None
    source: str = ""


def opted_out_clause(customer_id: object) -> object:
    """Return an EXISTS clause, true when ``customer_id`` opted out (for a caller's query)."""
    return exists().where(AutomatedDecisionOptOut.customer_id == customer_id)


def is_opted_out(session: Session, customer_id: int) -> bool:
    """Return whether customer ``customer_id`` opted out of automated decisions."""
    return session.get(AutomatedDecisionOptOut, customer_id) is not None


def opted_out_ids(session: Session, customer_ids: list[int] | None = None) -> set[int]:
    """Return the ids (among ``customer_ids``, or all) of customers who opted out."""
    query = select(AutomatedDecisionOptOut.customer_id)
    if customer_ids is not None:
        query = query.where(AutomatedDecisionOptOut.customer_id.in_(customer_ids))
    return set(session.scalars(query))


def refuse_opted_out_scores(session: Session, customer_id: int) -> None:
    """Raise :class:`kehu.core.NotFoundError` (``privacy.opted_out``) for an opted-out customer.

    For the endpoints that show one customer's automated scores: they answer plainly why
    there is nothing to show instead of "not scored yet".
    """
    if is_opted_out(session, customer_id):
        raise NotFoundError(
            f"Customer {customer_id} opted out of automated decisions: no automated scores "
            "are computed or shown for them.",
            code=PrivacyErrorCode.OPTED_OUT,
        )


def automated_decisions(session: Session, customer_id: int) -> AutomatedDecisionsPublic:
    """Return customer ``customer_id``'s opt-out state (404 for an unknown customer)."""
    customer = get_customer(session, customer_id)
    row = session.get(AutomatedDecisionOptOut, customer.id)
    return AutomatedDecisionsPublic(
        customer_id=customer.id,
        opted_out=row is not None,
        opted_out_at=None if row is None else row.opted_out_at,
        source="" if row is None else row.source,
    )


def set_automated_decisions_opt_out(
    session: Session, customer_id: int, *, opted_out: bool, actor: Actor, source: str = ""
) -> AutomatedDecisionsPublic:
    """Record that a customer opted out of (or back into) automated decisions; audited.

    Opting out deletes the customer's value and health scores and re-tiers their open
    tickets (no tier: the default SLA policy). Setting the state it already has changes
    nothing and is not audited again.
    """
    customer = get_customer(session, customer_id)
    row = session.get(AutomatedDecisionOptOut, customer.id)
    removed: dict[str, int] = {}
    if opted_out and row is None:
        session.add(AutomatedDecisionOptOut(customer_id=customer.id, source=source[:200]))
        for name, table in (
            ("customer_values", CustomerValue),
            ("customer_health", CustomerHealth),
        ):
            result = session.execute(delete(table).where(table.customer_id == customer.id))
            removed[name] = int(getattr(result, "rowcount", 0) or 0)
        session.expire_all()
        removed["tickets_retiered"] = retier_open_tickets(
            session, actor=actor, customer_ids=[customer.id]
        )
    elif not opted_out and row is not None:
        session.execute(
            delete(AutomatedDecisionOptOut).where(
                AutomatedDecisionOptOut.customer_id == customer.id
            )
        )
        session.expire_all()
    else:
        return automated_decisions(session, customer.id)
    session.flush()
    record(
        session,
        actor=actor,
        action="customer.automated_decisions_opt_out"
        if opted_out
        else "customer.automated_decisions_opt_in",
        object_type="customer",
        object_id=customer.id,
        summary=(
            f"customer {customer.id} opted out of automated decisions"
            if opted_out
            else f"customer {customer.id} opted back into automated decisions"
        ),
        changes={"opted_out": opted_out, "source": source[:200], **removed},
    )
    return automated_decisions(session, customer.id)
