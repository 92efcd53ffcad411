"""Keeping in touch: cadence policies per tier, free-service reminders, the log of what we did.

The log is :class:`kehu.engagement.Interaction` with a ``kind`` -- one table for every
contact, service, gift, fix and surprise -- so "what have we done for this customer lately?"
is one query.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.commerce import Product
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError
from kehu.engagement import Direction, Interaction, log_interaction
from kehu.relations.errors import RelationsErrorCode
from kehu.relations.models import CadencePolicy, ServiceReminder
from kehu.relations.tasks import _require_customer


class InteractionKind(StrEnum):
    """What we did for a customer."""

    CONTACT = "contact"
    SERVICE = "service"
    GIFT = "gift"
    FIX = "fix"
    SURPRISE = "surprise"


#: The cadence a new installation starts with: days between meaningful contacts per tier.
#: Low-value customers start without a cadence (switched off): owners cannot call everyone.
DEFAULT_CADENCE: dict[str, int] = {"vip": 30, "high": 60, "medium": 120, "low": 365}
_OFF_BY_DEFAULT = frozenset({"low"})


def list_cadence_policies(session: Session) -> Sequence[CadencePolicy]:
    """Return the cadence policies, most frequent first."""
    return session.scalars(select(CadencePolicy).order_by(CadencePolicy.every_days)).all()


def set_cadence_policy(
    session: Session,
    *,
    tier: str,
    every_days: int,
    actor: Actor,
    due_in_days: int = 7,
    is_active: bool = True,
) -> CadencePolicy:
    """Create or change the cadence of one tier.

    Raises
    ------
    InvalidInputError
        A cadence outside 1-730 days, or a due time that does not fit inside it (the task
        would still be open when the next one is due -- the two would conflict).
    """
    tier = (tier or "").strip().lower()
    if not tier or len(tier) > 16:
        raise InvalidInputError(
            "A cadence policy needs a tier (vip, high, medium, low...).",
            code=RelationsErrorCode.BAD_POLICY,
        )
    if not 1 <= every_days <= 730:
        raise InvalidInputError(
            f"every_days must be from 1 to 730, not {every_days}.",
            code=RelationsErrorCode.BAD_POLICY,
        )
    if not 0 <= due_in_days < every_days:
        raise InvalidInputError(
            f"due_in_days ({due_in_days}) must be at least 0 and shorter than the cadence "
            f"({every_days} days), or the next reminder would come before this one is due.",
            code=RelationsErrorCode.BAD_POLICY,
        )
    policy = session.scalar(select(CadencePolicy).where(CadencePolicy.tier == tier))
    before = None if policy is None else [policy.every_days, policy.due_in_days, policy.is_active]
    if policy is None:
        policy = CadencePolicy(tier=tier)
        session.add(policy)
    policy.every_days = every_days
    policy.due_in_days = due_in_days
    policy.is_active = is_active
    session.flush()
    record(
        session,
        actor=actor,
        action="cadence_policy.set",
        object_type="cadence_policy",
        object_id=policy.id,
        summary=f"{tier}: every {every_days} days",
        changes={"before": before, "after": [every_days, due_in_days, is_active]},
    )
    return policy


def seed_cadence_policies(session: Session, *, actor: Actor) -> int:
    """Store :data:`DEFAULT_CADENCE` when no policy exists; return how many were added."""
    if list_cadence_policies(session):
        return 0
    for tier, days in DEFAULT_CADENCE.items():
        set_cadence_policy(
            session, tier=tier, every_days=days, actor=actor, is_active=tier not in _OFF_BY_DEFAULT
        )
    return len(DEFAULT_CADENCE)


def list_service_reminders(session: Session) -> Sequence[ServiceReminder]:
    """Return the free-service reminder rules."""
    return session.scalars(select(ServiceReminder).order_by(ServiceReminder.id)).all()


def add_service_reminder(
    session: Session,
    *,
    label: str,
    after_days: int,
    actor: Actor,
    sku: str | None = None,
    category: str | None = None,
) -> ServiceReminder:
    """Remind owners of a free service ``after_days`` after a product (or category) is bought.

    Raises
    ------
    InvalidInputError
        Neither or both of ``sku`` and ``category``, an unknown SKU, or a bad delay.
    ConflictError
        The product (or category) has a reminder already.
    """
    sku = (sku or "").strip() or None
    category = (category or "").strip() or None
    if (sku is None) == (category is None):
        raise InvalidInputError(
            "A service reminder applies to one product (sku) or one category, not both or none.",
            code=RelationsErrorCode.BAD_REMINDER,
        )
    if not 1 <= after_days <= 3650:
        raise InvalidInputError(
            f"after_days must be from 1 to 3650, not {after_days}.",
            code=RelationsErrorCode.BAD_REMINDER,
        )
    label = (label or "").strip()
    if not label:
        raise InvalidInputError(
            "A service reminder needs a label (e.g. 'Free 6-month check-up').",
            code=RelationsErrorCode.BAD_REMINDER,
        )
    product_id = None
    if sku is not None:
        product_id = session.scalar(select(Product.id).where(Product.sku == sku))
        if product_id is None:
            raise InvalidInputError(
                f"There is no product with SKU {sku!r}.", code=RelationsErrorCode.UNKNOWN_PRODUCT
            )
    same = (
        ServiceReminder.product_id == product_id
        if product_id is not None
        else func.lower(ServiceReminder.category) == (category or "").lower()
    )
    existing = session.scalar(select(ServiceReminder).where(same).limit(1))
    if existing is not None:
        raise ConflictError(
            f"There is already a reminder for {sku or category!r}: #{existing.id} "
            f"'{existing.label}' after {existing.after_days} days. Change or delete it; two "
            "reminders for one product or category would conflict.",
            code=RelationsErrorCode.DUPLICATE_REMINDER,
        )
    reminder = ServiceReminder(
        product_id=product_id, category=category, label=label[:200], after_days=after_days
    )
    session.add(reminder)
    session.flush()
    record(
        session,
        actor=actor,
        action="service_reminder.create",
        object_type="service_reminder",
        object_id=reminder.id,
        summary=f"{label} after {after_days} days ({sku or category})",
    )
    return reminder


def delete_service_reminder(session: Session, reminder_id: int, *, actor: Actor) -> None:
    """Remove a reminder rule (tasks it raised stay)."""
    reminder = session.get(ServiceReminder, reminder_id)
    if reminder is None:
        raise NotFoundError(
            f"There is no service reminder {reminder_id}.",
            code=RelationsErrorCode.REMINDER_NOT_FOUND,
        )
    session.delete(reminder)
    session.flush()
    record(
        session,
        actor=actor,
        action="service_reminder.delete",
        object_type="service_reminder",
        object_id=reminder_id,
        summary=reminder.label,
    )


def log_touch(
    session: Session,
    *,
    customer_id: int,
    kind: InteractionKind | str,
    occurred_at: datetime,
    actor: Actor,
    channel: str = "phone",
    subject: str = "",
    text: str = "",
    user_id: int | None = None,
) -> Interaction:
    """Record something we did for a customer (a contact, a service, a gift, a fix...).

    Raises
    ------
    InvalidInputError
        An unknown kind or a time without a time zone.
    NotFoundError
        The customer does not exist.
    """
    try:
        kind = InteractionKind(kind)
    except ValueError as exc:
        raise InvalidInputError(
            f"A touch is one of {', '.join(k.value for k in InteractionKind)}, not {kind!r}.",
            code=RelationsErrorCode.BAD_INTERACTION_KIND,
        ) from exc
    if occurred_at.tzinfo is None:
        raise InvalidInputError(
            "occurred_at must carry a time zone.", code=RelationsErrorCode.BAD_INTERACTION_KIND
        )
    _require_customer(session, customer_id)
    interaction = log_interaction(
        session,
        customer_id=customer_id,
        channel=channel or "other",
        direction=Direction.OUTBOUND,
        occurred_at=occurred_at,
        actor=actor,
        subject=subject[:300] or kind.value,
        text=text,
        user_id=user_id,
    )
    interaction.kind = kind.value
    session.flush()
    return interaction


def list_touches(session: Session, customer_id: int, *, limit: int = 20) -> Sequence[Interaction]:
    """Return what we did for a customer lately, newest first."""
    return session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
