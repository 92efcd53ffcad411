"""Retention: erase customers inactive for a number of years (storage limitation)."""

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from kehu.commerce import Order
from kehu.core import Actor, InvalidInputError, utcnow
from kehu.customers import Customer
from kehu.engagement import Interaction
from kehu.privacy.erasure import ERASED_NAME, erase_customer
from kehu.service import Ticket

#: Fewest and most years a retention period may be.
MIN_YEARS, MAX_YEARS = 1, 100


class RetentionReport(BaseModel):
    """What a retention run found (and, unless a dry run, erased)."""

    years: int
    cutoff: dt.datetime
    dry_run: bool
    customer_ids: list[int]
    n_erased: int


def inactive_customer_ids(session: Session, *, cutoff: dt.datetime) -> list[int]:
    """Return customers created before ``cutoff`` with no order, contact or ticket since.

    Erased and merged-away records are left out.
    """
    query = (
        select(Customer.id)
        .where(Customer.created_at < cutoff)
        .where(Customer.merged_into_id.is_(None))
        .where(Customer.name != ERASED_NAME)
        .where(~exists().where(Order.customer_id == Customer.id, Order.ordered_at >= cutoff))
        .where(
            ~exists().where(
                Interaction.customer_id == Customer.id, Interaction.occurred_at >= cutoff
            )
        )
        .where(~exists().where(Ticket.customer_id == Customer.id, Ticket.opened_at >= cutoff))
        .order_by(Customer.id)
    )
    return list(session.scalars(query))


def run_retention(
    session: Session,
    *,
    years: int,
    actor: Actor,
    dry_run: bool = True,
    now: dt.datetime | None = None,
) -> RetentionReport:
    """Erase (or, in a dry run, list) the customers inactive for ``years`` years."""
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise InvalidInputError(
            f"The retention period must be {MIN_YEARS} to {MAX_YEARS} years, not {years}.",
            code="privacy.bad_years",
        )
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=round(365.25 * years))
    ids = inactive_customer_ids(session, cutoff=cutoff)
    if not dry_run:
        for customer_id in ids:
            erase_customer(session, customer_id, actor=actor)
    return RetentionReport(
        years=years,
        cutoff=cutoff,
        dry_run=dry_run,
        customer_ids=ids,
        n_erased=0 if dry_run else len(ids),
    )
