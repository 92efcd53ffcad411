"""Service desk factories: a small desk (departments, SLA policy, category tree, answers)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kehu.service import (
    Category,
    SlaPolicy,
    Ticket,
    create_category,
    create_ticket,
    save_sla_policy,
    set_canonical_answer,
)
from kehu.users import Department, create_department
from tests.factories import ACTOR

WEEKDAYS = {str(d): ["09:00", "18:00"] for d in range(1, 6)}


@dataclass
class Desk:
    """What :func:`make_desk` created."""

    cards: Department
    billing: Department
    policy: SlaPolicy
    leaves: dict[str, Category]
    parents: dict[str, Category]


def make_desk(session: Session) -> Desk:
    """Create two departments, a 24/7 SLA policy and a two-level tree with four leaves."""
    cards = create_department(session, code="cards", name="Cards", actor=ACTOR)
    billing = create_department(session, code="billing", name="Billing", actor=ACTOR)
    policy = save_sla_policy(
        session,
        code="standard",
        name="Standard",
        timezone="UTC",
        business_hours={},
        targets={
            "default": {"first_response_minutes": 240, "resolution_minutes": 2880},
            "vip": {"first_response_minutes": 60, "resolution_minutes": 480},
        },
        actor=ACTOR,
    )
    parents = {
        "card": create_category(
            session,
            code="card",
            name="Cards",
            department_code="cards",
            actor=ACTOR,
            sla_policy_code="standard",
        ),
        "money": create_category(
            session, code="money", name="Payments", department_code="billing", actor=ACTOR
        ),
    }
    leaves = {
        code: create_category(session, code=code, name=name, parent_code=parent, actor=ACTOR)
        for code, name, parent in [
            ("card_arrival", "Card arrival", "card"),
            ("lost_or_stolen_card", "Lost or stolen card", "card"),
            ("request_refund", "Request refund", "money"),
            ("exchange_rate", "Exchange rate", "money"),
        ]
    }
    set_canonical_answer(
        session, parents["card"], body="Cards arrive within 5 working days.", actor=ACTOR
    )
    return Desk(cards=cards, billing=billing, policy=policy, leaves=leaves, parents=parents)


def make_ticket(session: Session, **overrides: Any) -> Ticket:
    """Open an API ticket."""
    fields: dict[str, Any] = {"body": "My card has not arrived yet.", "channel": "api"}
    fields.update(overrides)
    return create_ticket(session, actor=ACTOR, **fields)
