"""Demo relationship playbooks on the real demo customers: cadence, surprises, rules, referrals.

The customers, orders and value tiers are the real Online Retail II slice. What the slice
cannot hold is invented here, deterministically, and only to show the pages at work: the
account owner's recent calls to the five most valuable customers, a free-service reminder on
the best-selling product, and ten referrals between customers of the same country (the
referred one's first order after the referrer's). Then the real run raises the tasks as of
the data's last day. Idempotent: nothing happens when cadence policies already exist.
"""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.commerce import Order, OrderKind, OrderLine, Product
from kehu.core import Actor
from kehu.customers import Customer
from kehu.jobs.relations import RelationsReport, run_relations
from kehu.playbooks.rules import seed_default_rules
from kehu.relations import (
    GiftStatus,
    add_service_reminder,
    list_cadence_policies,
    list_gifts,
    log_touch,
    mark_gift,
    record_referral,
    seed_cadence_policies,
    seed_surprises,
)
from kehu.users import find_user_by_email
from kehu.value import CustomerValue

ACTOR = Actor(kind="system", label="demo")


def _first_orders(session: Session) -> list[tuple[int, datetime, str | None]]:
    rows = session.execute(
        select(Order.customer_id, func.min(Order.ordered_at), Customer.country)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.kind == OrderKind.SALE, Customer.merged_into_id.is_(None))
        .group_by(Order.customer_id, Customer.country)
        .order_by(func.min(Order.ordered_at), Order.customer_id)
    ).all()
    return [(int(c), at, country) for c, at, country in rows if c is not None]


def _referrals(session: Session, n: int = 10) -> int:
    """Pair early customers with later ones of the same country (deterministic)."""
    firsts = _first_orders(session)
    made = 0
    used: set[int] = set()
    for i, (referrer, at, country) in enumerate(firsts):
        if made >= n:
            break
        for referred, later, other in firsts[i + 1 :]:
            if other == country and later > at + timedelta(days=30) and referred not in used:
                if referrer in used:
                    break
                record_referral(
                    session,
                    referrer_id=referrer,
                    referred_id=referred,
                    referred_on=later.date(),
                    source="demo",
                    actor=ACTOR,
                )
                used.update({referrer, referred})
                made += 1
                break
    return made


def seed_relations(session: Session) -> RelationsReport | None:
    """Seed the playbooks and run them as of the demo data's last day; ``None`` when done."""
    if list_cadence_policies(session):
        return None
    last = session.scalar(select(func.max(Order.ordered_at)))
    if last is None:
        return None
    seed_cadence_policies(session, actor=ACTOR)
    seed_surprises(session, actor=ACTOR)
    seed_default_rules(session, actor=ACTOR)
    best = session.scalar(
        select(Product.sku)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .group_by(Product.sku)
        .order_by(func.count().desc(), Product.sku)
        .limit(1)
    )
    if best is not None:
        add_service_reminder(
            session,
            label="Free check of the lights, 30 days after purchase",
            after_days=30,
            sku=best,
            actor=ACTOR,
        )
    owner = find_user_by_email(session, "owner@kehu.local")
    top = session.scalars(
        select(CustomerValue.customer_id).order_by(CustomerValue.value_rank).limit(5)
    ).all()
    for rank, customer_id in enumerate(top):
        log_touch(
            session,
            customer_id=customer_id,
            kind="contact" if rank % 2 == 0 else "service",
            occurred_at=datetime.combine(last.date(), time(10), tzinfo=UTC)
            - timedelta(days=7 + 9 * rank),
            channel="phone",
            subject="Quarterly check-in call" if rank % 2 == 0 else "Helped re-order a late item",
            user_id=owner.id if owner else None,
            actor=ACTOR,
        )
    _referrals(session)
    report = run_relations(session, actor=ACTOR, as_of=last.date())
    for gift in list(list_gifts(session, status=GiftStatus.PLANNED, limit=2)):
        mark_gift(session, gift.id, status=GiftStatus.GIVEN, actor=ACTOR)
    return report
