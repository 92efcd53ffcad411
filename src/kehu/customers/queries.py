"""Reads for customers: search, the profile parts of the 360 view, consent in force."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, union
from sqlalchemy.orm import Session, selectinload

from kehu.customers.identities import normalise_identity
from kehu.customers.models import (
    Consent,
    ConsentStatus,
    Contact,
    Customer,
    CustomerKind,
    CustomerMerge,
    Identity,
    IdentityKind,
)
from kehu.store import count_rows


@dataclass(frozen=True)
class CustomerFilter:
    """Filters for :func:`list_customers`; ``q`` searches name, e-mail, phone, ids and handles."""

    q: str | None = None
    kind: CustomerKind | None = None
    country: str | None = None
    owner_id: int | None = None
    include_merged: bool = False
    #: A predicate on ``customers`` limiting the rows to a caller's scope (``kehu.access``).
    scope: ColumnElement[bool] | None = field(default=None, compare=False)


def _filtered(query: Select[Any], filters: CustomerFilter) -> Select[Any]:
    if filters.scope is not None:
        query = query.where(filters.scope)
    if not filters.include_merged:
        query = query.where(Customer.merged_into_id.is_(None))
    if filters.kind:
        query = query.where(Customer.kind == filters.kind)
    if filters.country:
        query = query.where(Customer.country == filters.country)
    if filters.owner_id is not None:
        query = query.where(Customer.owner_id == filters.owner_id)
    if filters.q and filters.q.strip():
        text = filters.q.strip()
        pattern = f"%{text.lower()}%"
        conditions = [
            Customer.name.ilike(pattern),
            Customer.email.ilike(pattern),
            Customer.phone.like(f"%{text}%"),
            Customer.external_id == text,
        ]
        if text.isdigit() and int(text) < 2**63:  # a longer number is no id (bigint)
            conditions.append(Customer.id == int(text))
        # One set of matching ids, each branch able to use its own index (trigram GIN on
        # PostgreSQL, migration 0008): an OR with an ``IN (subquery)`` beside it cannot, and
        # scans every customer. ``ILIKE`` is ``lower(x) LIKE lower(y)`` on SQLite.
        matches = union(
            select(Customer.id).where(or_(*conditions)),
            select(Identity.customer_id).where(Identity.value.ilike(pattern)),
        )
        query = query.where(Customer.id.in_(matches))
    return query


def filter_customers(filters: CustomerFilter) -> Select[Any]:
    """Return a ``select(Customer)`` restricted by ``filters``, unordered, to build on."""
    return _filtered(select(Customer), filters)


def list_customers(
    session: Session,
    filters: CustomerFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    count_limit: int | None = None,
) -> tuple[Sequence[Customer], int]:
    """Return one page of customers (by name, then id) and the number matching the filters.

    ``count_limit`` bounds the count (:func:`kehu.store.count_rows`): a count above it means
    "more than ``count_limit``". ``None`` counts exactly.
    """
    base = _filtered(select(Customer), filters)
    total = count_rows(session, _filtered(select(Customer.id), filters), at_most=count_limit)
    rows = session.scalars(
        base.options(selectinload(Customer.identities))
        .order_by(Customer.name, Customer.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def find_customer_by_identity(
    session: Session, kind: IdentityKind | str, value: str
) -> Customer | None:
    """Return the (surviving) customer an identity points at, or ``None``."""
    kind, value = normalise_identity(kind, value)
    customer = session.scalar(
        select(Customer).join(Identity).where(Identity.kind == kind, Identity.value == value)
    )
    while customer is not None and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def find_customer_by_external_id(session: Session, external_id: str) -> Customer | None:
    """Return the customer with this external id, or ``None``."""
    return session.scalar(select(Customer).where(Customer.external_id == external_id))


def list_identities(session: Session, customer_id: int) -> Sequence[Identity]:
    """Return a customer's identities, oldest first."""
    return session.scalars(
        select(Identity).where(Identity.customer_id == customer_id).order_by(Identity.id)
    ).all()


def list_contacts(session: Session, account_id: int) -> Sequence[Contact]:
    """Return the people who act for an organisation account, with their roles."""
    return session.scalars(
        select(Contact).where(Contact.account_id == account_id).order_by(Contact.id)
    ).all()


def list_consent_history(session: Session, customer_id: int) -> Sequence[Consent]:
    """Return every consent event of a customer, newest first."""
    return session.scalars(
        select(Consent)
        .where(Consent.customer_id == customer_id)
        .order_by(Consent.at.desc(), Consent.id.desc())
    ).all()


def current_consents(session: Session, customer_id: int) -> dict[tuple[str, str], ConsentStatus]:
    """Return the consent in force per (channel, purpose): the newest event of each."""
    state: dict[tuple[str, str], ConsentStatus] = {}
    for consent in reversed(list_consent_history(session, customer_id)):
        state[(consent.channel, consent.purpose)] = consent.status
    return state


def has_consent(session: Session, customer_id: int, channel: str, purpose: str) -> bool:
    """Tell whether the customer has granted (and not withdrawn) this channel for this purpose."""
    return (
        current_consents(session, customer_id).get((channel.lower(), purpose.lower()))
        is ConsentStatus.GRANTED
    )


def list_merges(session: Session, customer_id: int) -> Sequence[CustomerMerge]:
    """Return the merges in which this customer won or lost, newest first."""
    return session.scalars(
        select(CustomerMerge)
        .where(or_(CustomerMerge.winner_id == customer_id, CustomerMerge.loser_id == customer_id))
        .order_by(CustomerMerge.id.desc())
    ).all()
