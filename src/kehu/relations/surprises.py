"""Surprise services: the catalogue, and the surprises planned for and given to customers."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, to_money, utcnow
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import GiftStatus, Surprise, SurpriseGift, SurpriseMoment

#: A starting catalogue: unexpected, easy, rare and cheap.
DEFAULT_SURPRISES: tuple[dict[str, Any], ...] = (
    {
        "code": "handwritten-card",
        "name": "Handwritten thank-you card",
        "description": "A short card from the account owner, naming something they bought.",
        "cost": "3.00",
        "effort_minutes": 10,
        "moments": ["birthday", "anniversary"],
    },
    {
        "code": "free-upgrade-shipping",
        "name": "Next delivery upgraded to express, unasked",
        "description": "Upgrade the next order's shipping without being asked.",
        "cost": "6.50",
        "effort_minutes": 5,
        "moments": ["complaint_fixed", "anniversary"],
    },
    {
        "code": "seasonal-sample",
        "name": "Seasonal sample in the next parcel",
        "description": "A small seasonal product added to the next parcel.",
        "cost": "4.00",
        "effort_minutes": 5,
        "moments": ["season"],
        "months": [11, 12],
    },
    {
        "code": "owner-call",
        "name": "A call from the account owner, no sales pitch",
        "description": "Ask how things are going after a fix; offer nothing but help.",
        "cost": "0.00",
        "effort_minutes": 15,
        "moments": ["complaint_fixed"],
    },
)


def _clean_moments(moments: Sequence[str]) -> list[str]:
    clean = []
    for moment in moments:
        try:
            clean.append(SurpriseMoment(str(moment).strip().lower()).value)
        except ValueError as exc:
            raise InvalidInputError(
                f"Unknown moment {moment!r}; moments are "
                f"{', '.join(m.value for m in SurpriseMoment)}.",
                code=RelationsErrorCode.BAD_SURPRISE,
            ) from exc
    if not clean:
        raise InvalidInputError(
            "A surprise suits at least one moment.", code=RelationsErrorCode.BAD_SURPRISE
        )
    return sorted(set(clean))


def add_surprise(
    session: Session,
    *,
    code: str,
    name: str,
    cost: Decimal | str | float,
    moments: Sequence[str],
    actor: Actor,
    description: str = "",
    effort_minutes: int = 15,
    months: Sequence[int] = (),
    currency: str = "GBP",
) -> Surprise:
    """Add a surprise to the catalogue.

    Raises
    ------
    InvalidInputError
        A missing name or code, a negative cost, an unknown moment or month.
    ConflictError
        The code is taken.
    """
    code = (code or "").strip().lower()
    name = (name or "").strip()
    if not code or len(code) > 64 or not name:
        raise InvalidInputError(
            "A surprise needs a code (up to 64 characters) and a name.",
            code=RelationsErrorCode.BAD_SURPRISE,
        )
    try:
        amount = to_money(cost)
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise InvalidInputError(
            f"cost must be an amount such as 4.50, not {cost!r}.",
            code=RelationsErrorCode.BAD_SURPRISE,
        ) from exc
    if amount < 0:
        raise InvalidInputError("cost cannot be negative.", code=RelationsErrorCode.BAD_SURPRISE)
    if not 0 <= effort_minutes <= 24 * 60:
        raise InvalidInputError(
            "effort_minutes must be from 0 to 1440.", code=RelationsErrorCode.BAD_SURPRISE
        )
    bad_months = [m for m in months if not 1 <= m <= 12]
    if bad_months:
        raise InvalidInputError(
            f"months are 1-12, not {bad_months}.", code=RelationsErrorCode.BAD_SURPRISE
        )
    if session.scalar(select(Surprise.id).where(Surprise.code == code)):
        raise ConflictError(
            f"A surprise with code {code!r} exists already.",
            code=RelationsErrorCode.DUPLICATE_SURPRISE,
        )
    surprise = Surprise(
        code=code,
        name=name[:200],
        description=description,
        cost=amount,
        currency=currency.upper()[:3],
        effort_minutes=effort_minutes,
        moments=_clean_moments(moments),
        months=sorted(set(months)),
        is_active=True,
    )
    session.add(surprise)
    session.flush()
    record(
        session,
        actor=actor,
        action="surprise.create",
        object_type="surprise",
        object_id=surprise.id,
        summary=f"{code}: {name} ({amount} {surprise.currency})",
    )
    return surprise


def set_surprise_active(
    session: Session, surprise_id: int, *, is_active: bool, actor: Actor
) -> Surprise:
    """Withdraw a surprise from the catalogue, or bring it back."""
    surprise = get_surprise(session, surprise_id)
    surprise.is_active = is_active
    session.flush()
    record(
        session,
        actor=actor,
        action="surprise.enable" if is_active else "surprise.disable",
        object_type="surprise",
        object_id=surprise.id,
        summary=surprise.code,
    )
    return surprise


def seed_surprises(session: Session, *, actor: Actor) -> int:
    """Store :data:`DEFAULT_SURPRISES` when the catalogue is empty; return how many."""
    if session.scalar(select(func.count()).select_from(Surprise)):
        return 0
    for item in DEFAULT_SURPRISES:
        add_surprise(session, actor=actor, **item)
    return len(DEFAULT_SURPRISES)


def get_surprise(session: Session, surprise_id: int) -> Surprise:
    """Return the surprise or raise :class:`NotFoundError`."""
    surprise = session.get(Surprise, surprise_id)
    if surprise is None:
        raise NotFoundError(
            f"There is no surprise {surprise_id}.", code=RelationsErrorCode.SURPRISE_NOT_FOUND
        )
    return surprise


def list_surprises(session: Session, *, active_only: bool = False) -> Sequence[Surprise]:
    """Return the catalogue, cheapest first."""
    query = select(Surprise)
    if active_only:
        query = query.where(Surprise.is_active.is_(True))
    return session.scalars(query.order_by(Surprise.cost, Surprise.code)).all()


def plan_surprise(
    session: Session,
    *,
    customer_id: int,
    surprise_id: int,
    moment: str,
    actor: Actor,
    reason: dict[str, Any] | None = None,
    task_id: int | None = None,
    at: datetime | None = None,
) -> SurpriseGift:
    """Plan a surprise for a customer (the task tells the owner to give it)."""
    surprise = get_surprise(session, surprise_id)
    gift = SurpriseGift(
        customer_id=customer_id,
        surprise_id=surprise.id,
        moment=_clean_moments([moment])[0],
        status=GiftStatus.PLANNED,
        planned_at=at or utcnow(),
        cost=surprise.cost,
        currency=surprise.currency,
        task_id=task_id,
        reason=dict(reason or {}),
    )
    session.add(gift)
    session.flush()
    record(
        session,
        actor=actor,
        action="surprise_gift.plan",
        object_type="customer",
        object_id=customer_id,
        summary=f"{surprise.code} for {moment}",
    )
    return gift


def get_gift(session: Session, gift_id: int) -> SurpriseGift:
    """Return the planned or given surprise, or raise :class:`NotFoundError`."""
    gift = session.get(SurpriseGift, gift_id)
    if gift is None:
        raise NotFoundError(
            f"There is no planned surprise {gift_id}.", code=RelationsErrorCode.GIFT_NOT_FOUND
        )
    return gift


def mark_gift(
    session: Session,
    gift_id: int,
    *,
    status: GiftStatus | str,
    actor: Actor,
    at: datetime | None = None,
) -> SurpriseGift:
    """Mark a planned surprise given (logs a ``surprise`` touch) or cancelled."""
    from kehu.relations.cadence import log_touch

    try:
        status = GiftStatus(status)
    except ValueError as exc:
        raise InvalidInputError(
            f"A planned surprise becomes given or cancelled, not {status!r}.",
            code=RelationsErrorCode.BAD_STATUS,
        ) from exc
    gift = get_gift(session, gift_id)
    if gift.status != GiftStatus.PLANNED or status is GiftStatus.PLANNED:
        raise ConflictError(
            f"Surprise {gift_id} is {gift.status}; only a planned one can become given or "
            "cancelled.",
            code=RelationsErrorCode.BAD_STATUS,
        )
    gift.status = status
    if status is GiftStatus.GIVEN:
        gift.given_at = at or utcnow()
        surprise = get_surprise(session, gift.surprise_id)
        log_touch(
            session,
            customer_id=gift.customer_id,
            kind="surprise",
            occurred_at=gift.given_at,
            actor=actor,
            channel="other",
            subject=surprise.name,
            user_id=actor.user_id,
        )
    session.flush()
    record(
        session,
        actor=actor,
        action=f"surprise_gift.{status.value}",
        object_type="customer",
        object_id=gift.customer_id,
        summary=f"surprise {gift.id} {status.value}",
    )
    return gift


def list_gifts(
    session: Session,
    *,
    customer_id: int | None = None,
    status: GiftStatus | str | None = None,
    limit: int = 100,
    where: ColumnElement[bool] | None = None,
) -> Sequence[SurpriseGift]:
    """Return planned and given surprises, newest first."""
    query = select(SurpriseGift)
    if where is not None:  # a caller's scope (kehu.access)
        query = query.where(where)
    if customer_id is not None:
        query = query.where(SurpriseGift.customer_id == customer_id)
    if status is not None:
        query = query.where(SurpriseGift.status == GiftStatus(status))
    return session.scalars(
        query.order_by(SurpriseGift.planned_at.desc(), SurpriseGift.id.desc()).limit(limit)
    ).all()


def spent_on_surprises(session: Session, *, since: datetime, until: datetime) -> Decimal:
    """Return the cost of surprises planned or given between two moments (not cancelled)."""
    total = session.scalar(
        select(func.coalesce(func.sum(SurpriseGift.cost), 0)).where(
            SurpriseGift.status != GiftStatus.CANCELLED,
            SurpriseGift.planned_at >= since,
            SurpriseGift.planned_at < until,
        )
    )
    return to_money(total or 0)


def last_surprised(session: Session) -> dict[int, datetime]:
    """Return, per customer, when they were last planned a surprise (not cancelled)."""
    rows = session.execute(
        select(SurpriseGift.customer_id, func.max(SurpriseGift.planned_at))
        .where(SurpriseGift.status != GiftStatus.CANCELLED)
        .group_by(SurpriseGift.customer_id)
    ).all()
    return {int(c): at for c, at in rows}
