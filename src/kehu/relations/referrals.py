"""Referrals: who brought whom, and what the customers a referrer brought are worth."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.commerce import Order, OrderKind
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, utcnow
from kehu.customers import Customer, find_customer_by_external_id
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import Referral
from kehu.relations.tasks import _require_customer
from kehu.value import CustomerValue


def _active(session: Session, customer_id: int) -> Customer:
    customer = _require_customer(session, customer_id)
    if customer.merged_into_id is not None:
        raise InvalidInputError(
            f"Customer {customer_id} was merged into {customer.merged_into_id}; "
            "record the referral on that customer.",
            code=RelationsErrorCode.BAD_REFERRAL,
        )
    return customer


def record_referral(
    session: Session,
    *,
    referrer_id: int,
    referred_id: int,
    referred_on: date,
    actor: Actor,
    source: str = "console",
    note: str = "",
) -> Referral:
    """Record that ``referrer_id`` brought ``referred_id``.

    Raises
    ------
    InvalidInputError
        A customer referring themselves, a merged customer, or a loop (the referred customer
        brought the referrer, directly or through others).
    ConflictError
        The referred customer already has a referrer.
    """
    if referrer_id == referred_id:
        raise InvalidInputError(
            "A customer cannot refer themselves.", code=RelationsErrorCode.BAD_REFERRAL
        )
    _active(session, referrer_id)
    _active(session, referred_id)
    existing = session.scalar(select(Referral).where(Referral.referred_id == referred_id))
    if existing is not None:
        raise ConflictError(
            f"Customer {referred_id} was already brought by customer {existing.referrer_id}; "
            "delete that referral first to change it.",
            code=RelationsErrorCode.DUPLICATE_REFERRAL,
        )
    node: int | None = referrer_id
    seen: set[int] = set()
    while node is not None and node not in seen:
        if node == referred_id:
            raise InvalidInputError(
                f"Customer {referred_id} is already up the referral chain of {referrer_id}; "
                "a referral cannot go round in a circle.",
                code=RelationsErrorCode.BAD_REFERRAL,
            )
        seen.add(node)
        node = session.scalar(select(Referral.referrer_id).where(Referral.referred_id == node))
    referral = Referral(
        referrer_id=referrer_id,
        referred_id=referred_id,
        referred_on=referred_on,
        source=(source or "console")[:32],
        note=(note or "")[:500],
    )
    session.add(referral)
    session.flush()
    record(
        session,
        actor=actor,
        action="referral.create",
        object_type="customer",
        object_id=referred_id,
        summary=f"brought by customer {referrer_id} on {referred_on.isoformat()}",
    )
    return referral


def delete_referral(session: Session, referral_id: int, *, actor: Actor) -> None:
    """Delete a referral recorded by mistake."""
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFoundError(
            f"There is no referral {referral_id}.", code=RelationsErrorCode.REFERRAL_NOT_FOUND
        )
    session.delete(referral)
    session.flush()
    record(
        session,
        actor=actor,
        action="referral.delete",
        object_type="customer",
        object_id=referral.referred_id,
        summary=f"no longer brought by customer {referral.referrer_id}",
    )


def list_referrals(
    session: Session,
    *,
    referrer_id: int | None = None,
    referred_id: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> Sequence[Referral]:
    """Return referrals, newest first."""
    query = select(Referral)
    if where is not None:  # a caller's scope (kehu.access)
        query = query.where(where)
    if referrer_id is not None:
        query = query.where(Referral.referrer_id == referrer_id)
    if referred_id is not None:
        query = query.where(Referral.referred_id == referred_id)
    return session.scalars(query.order_by(Referral.referred_on.desc(), Referral.id.desc())).all()


@dataclass(frozen=True)
class ReferralValue:
    """What a referrer's referred customers have spent and are predicted to be worth.

    ``clv`` sums the stored CLV of the referred customers that are scored
    (``n_scored`` of ``n_referred``); it is ``None`` when none is.
    """

    referrer_id: int
    n_referred: int
    spend: Decimal
    n_scored: int
    clv: Decimal | None


def referral_values(
    session: Session,
    referrer_ids: Iterable[int] | None = None,
    *,
    where: ColumnElement[bool] | None = None,
) -> list[ReferralValue]:
    """Return the value of each referrer's referrals, most valuable first."""
    query = select(Referral.referrer_id, Referral.referred_id)
    ids = None if referrer_ids is None else sorted(set(referrer_ids))
    if ids is not None:
        query = query.where(Referral.referrer_id.in_(ids))
    if where is not None:  # a caller's scope (kehu.access)
        query = query.where(where)
    pairs = session.execute(query).all()
    referred = sorted({p.referred_id for p in pairs})
    spend: dict[int, Decimal] = {}
    clv: dict[int, Decimal] = {}
    for start in range(0, len(referred), 500):
        chunk = referred[start : start + 500]
        for customer_id, total in session.execute(
            select(Order.customer_id, func.coalesce(func.sum(Order.total), 0))
            .where(Order.customer_id.in_(chunk), Order.kind == OrderKind.SALE)
            .group_by(Order.customer_id)
        ):
            if customer_id is not None:
                spend[customer_id] = Decimal(str(total))
        for customer_id, value in session.execute(
            select(CustomerValue.customer_id, CustomerValue.clv).where(
                CustomerValue.customer_id.in_(chunk)
            )
        ):
            clv[customer_id] = Decimal(str(value))
    by_referrer: dict[int, list[int]] = {}
    for pair in pairs:
        by_referrer.setdefault(pair.referrer_id, []).append(pair.referred_id)
    values = []
    for referrer_id, people in by_referrer.items():
        scored = [clv[p] for p in people if p in clv]
        values.append(
            ReferralValue(
                referrer_id=referrer_id,
                n_referred=len(people),
                spend=sum((spend.get(p, Decimal("0")) for p in people), Decimal("0")).quantize(
                    Decimal("0.01")
                ),
                n_scored=len(scored),
                clv=sum(scored, Decimal("0")).quantize(Decimal("0.01")) if scored else None,
            )
        )
    return sorted(values, key=lambda v: (-(v.clv or 0), -v.spend, v.referrer_id))


@dataclass
class ReferralImport:
    """What a referral import did, row by row (line numbers count the header as line 1)."""

    n_recorded: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _customer_by_key(session: Session, key: str) -> int:
    key = key.strip()
    found = find_customer_by_external_id(session, key)
    if found is not None:
        return found.id
    if key.isdigit() and session.get(Customer, int(key)) is not None:
        return int(key)
    raise InvalidInputError(f"no customer with external id or id {key!r}")


def import_referrals(
    session: Session, rows: Iterable[dict[str, str]], *, actor: Actor
) -> ReferralImport:
    """Record referrals from rows with ``referrer``, ``referred`` and optional ``date``/``note``.

    Customers are named by external id (or kehu id). Each row is recorded in a savepoint: a
    bad row is reported with its line and the reason, and the others are kept.
    """
    report = ReferralImport()
    for line, row in enumerate(rows, start=2):
        try:
            missing = [c for c in ("referrer", "referred") if not (row.get(c) or "").strip()]
            if missing:
                raise InvalidInputError(f"missing {', '.join(missing)}")
            raw_date = (row.get("date") or "").strip()
            try:
                on = date.fromisoformat(raw_date) if raw_date else utcnow().date()
            except ValueError as exc:
                raise InvalidInputError(f"date {raw_date!r} is not YYYY-MM-DD") from exc
            with session.begin_nested():
                record_referral(
                    session,
                    referrer_id=_customer_by_key(session, row["referrer"]),
                    referred_id=_customer_by_key(session, row["referred"]),
                    referred_on=on,
                    source="import",
                    note=(row.get("note") or "").strip(),
                    actor=actor,
                )
            report.n_recorded += 1
        except (InvalidInputError, ConflictError, NotFoundError) as exc:
            report.errors.append((line, exc.message))
    return report
