"""Relationship-playbook factories: a task, a reminder, a planned surprise, a referral."""

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from kehu.relations import (
    add_service_reminder,
    add_surprise,
    open_task,
    plan_surprise,
    record_referral,
    seed_cadence_policies,
)
from tests.factories import ACTOR, make_customer


def make_relations(session: Session, customer_id: int) -> dict[str, int]:
    """Create the records every relations route can act on; return their ids by kind."""
    referrer = make_customer(session, name="Referrer")
    fresh = make_customer(session, name="Not referred yet")
    seed_cadence_policies(session, actor=ACTOR)
    task = open_task(
        session,
        customer_id=customer_id,
        kind="neglect",
        title="Call them",
        owner_id=None,
        due_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        evidence={"days_since_last_touch": 45},
        dedupe_key=f"factory:{customer_id}",
        actor=ACTOR,
    )
    reminder = add_service_reminder(
        session, label="Free check-up", after_days=180, category="Kettles", actor=ACTOR
    )
    surprise = add_surprise(
        session, code="card", name="Thank-you card", cost="3.00", moments=["birthday"], actor=ACTOR
    )
    gift = plan_surprise(
        session, customer_id=customer_id, surprise_id=surprise.id, moment="birthday", actor=ACTOR
    )
    referral = record_referral(
        session,
        referrer_id=referrer.id,
        referred_id=customer_id,
        referred_on=date(2026, 11, 1),
        actor=ACTOR,
    )
    session.flush()
    return {
        "task": task.id,
        "reminder": reminder.id,
        "gift": gift.id,
        "referral": referral.id,
        "referrer": referrer.id,
        "fresh": fresh.id,
    }
