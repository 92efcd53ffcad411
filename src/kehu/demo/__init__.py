"""Bundled demo data: a real slice of Online Retail II, staff users, contacts and consent.

``seed_demo`` is idempotent: running it again leaves everything as it was.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.commerce import Order, OrderKind
from kehu.core import Actor
from kehu.customers import (
    ContactRole,
    Customer,
    CustomerKind,
    add_contact,
    create_customer,
    record_consent,
    update_customer,
)
from kehu.demo.health import seed_health
from kehu.demo.recommend import seed_recommendations
from kehu.demo.relations import seed_relations
from kehu.demo.service import seed_service
from kehu.demo.voice import seed_voice
from kehu.engagement import Interaction, log_interaction
from kehu.ingest import list_import_runs, run_import
from kehu.jobs.value import run_value_analysis
from kehu.users import Role, create_department, create_user, find_user_by_email
from kehu.value import ValueRun, latest_value_run

DEMO_PASSWORD = "kehu-demo-2026"  # noqa: S105 - printed by `kehu demo`; refused in production
DEMO_FILE = "online_retail_ii_demo.parquet"
DEMO_USERS = (
    ("admin@kehu.local", "Demo Admin", Role.ADMIN, None),
    ("manager@kehu.local", "王经理 Wang (manager)", Role.MANAGER, "service"),
    ("agent@kehu.local", "李客服 Li (agent)", Role.AGENT, "service"),
    ("owner@kehu.local", "张顾问 Zhang (account owner)", Role.OWNER, "sales"),
    ("owner2@kehu.local", "陈顾问 Chen (account owner)", Role.OWNER, "sales"),
)
DEPARTMENTS = (
    ("service", "Customer service 客服部"),
    ("sales", "Sales 销售部"),
    ("logistics", "Logistics 物流部"),
    ("billing", "Billing 财务部"),
)
ACTOR = Actor(kind="system", label="demo")


@dataclass
class DemoSummary:
    """What :func:`seed_demo` did."""

    already_seeded: bool
    n_customers: int
    n_orders: int
    n_rows_imported: int
    n_row_errors: int
    value_run: ValueRun | None = None
    n_tickets: int = 0
    n_posts: int = 0
    #: Customers per relationship-health stage (stages with none left out).
    stages: dict[str, int] = field(default_factory=dict)
    n_open_tasks: int = 0


def demo_file() -> Path:
    """Return the path of the bundled Online Retail II slice."""
    return Path(str(resources.files("kehu.demo") / "data" / DEMO_FILE))


def _seed_staff(session: Session) -> None:
    for code, name in DEPARTMENTS:
        create_department(session, code=code, name=name, actor=ACTOR)
    for email, name, role, department in DEMO_USERS:
        if find_user_by_email(session, email) is None:
            create_user(
                session,
                email=email,
                name=name,
                password=DEMO_PASSWORD,
                role=role,
                department_code=department,
                actor=ACTOR,
                locale="zh-CN" if role in (Role.MANAGER, Role.AGENT) else "en",
            )


def _seed_accounts(session: Session, rng: random.Random) -> None:
    """Mark the three biggest buyers as organisation accounts (the data are mostly wholesalers)."""
    top = session.execute(
        select(Customer, func.sum(Order.total).label("value"))
        .join(Order)
        .where(Order.kind == OrderKind.SALE)
        .group_by(Customer.id)
        .order_by(func.sum(Order.total).desc())
        .limit(3)
    ).all()
    roles = (ContactRole.PROCUREMENT, ContactRole.DECISION_MAKER, ContactRole.USER)
    for customer, _value in top:
        update_customer(
            session,
            customer,
            actor=ACTOR,
            kind=CustomerKind.ORGANISATION,
            name=f"Wholesale account {customer.external_id}",
        )
        for role in roles[: rng.randint(2, 3)]:
            label = role.value.replace("_", " ")
            person = create_customer(
                session,
                actor=ACTOR,
                name=f"{label.title()} at account {customer.external_id}",
                country=customer.country,
                identities=[("email", f"{role.value}.{customer.external_id}@example.com")],
            )
            add_contact(session, account=customer, person=person, role=role, actor=ACTOR)


def _seed_interactions_and_consent(session: Session, rng: random.Random) -> None:
    customers = session.scalars(
        select(Customer).where(Customer.external_id.is_not(None)).order_by(Customer.id)
    ).all()
    agent = find_user_by_email(session, "agent@kehu.local")
    for customer in customers:
        for channel in ("email", "sms", "wechat"):
            if rng.random() < {"email": 0.7, "sms": 0.3, "wechat": 0.2}[channel]:
                record_consent(
                    session,
                    customer,
                    channel=channel,
                    purpose="marketing",
                    status="granted",
                    source="demo sign-up form",
                    actor=ACTOR,
                )
        orders = session.scalars(
            select(Order).where(Order.customer_id == customer.id).order_by(Order.ordered_at)
        ).all()
        for order in orders:
            if order.kind == OrderKind.RETURN and rng.random() < 0.6:
                log_interaction(
                    session,
                    customer_id=customer.id,
                    channel="email",
                    direction="inbound",
                    occurred_at=order.ordered_at - timedelta(days=2),
                    actor=ACTOR,
                    subject=f"Items damaged on arrival, return {order.external_id}",
                    text="Some items arrived broken; I would like to return them.",
                )
                log_interaction(
                    session,
                    customer_id=customer.id,
                    channel="phone",
                    direction="outbound",
                    occurred_at=order.ordered_at,
                    actor=ACTOR,
                    user_id=agent.id if agent else None,
                    subject=f"Return {order.external_id} accepted, refund issued",
                )
            elif order.kind == OrderKind.SALE and rng.random() < 0.03:
                log_interaction(
                    session,
                    customer_id=customer.id,
                    channel="email",
                    direction="inbound",
                    occurred_at=order.ordered_at + timedelta(days=3),
                    actor=ACTOR,
                    subject=f"Where is my order {order.external_id}?",
                    text="Could you tell me when my parcel will arrive?",
                )


def seed_demo(session: Session) -> DemoSummary:
    """Load the demo data into an empty (migrated) store; do nothing when it is already there."""
    _seed_staff(session)
    done = any(
        run.filename == DEMO_FILE and run.status == "applied"
        for run in list_import_runs(session, limit=100)[0]
    )
    n_rows = n_errors = 0
    if not done:
        run = run_import(session, kind="orders", data=demo_file(), filename=DEMO_FILE, actor=ACTOR)
        n_rows, n_errors = run.n_rows, run.n_errors
        rng = random.Random(20091201)
        _seed_accounts(session, rng)
        if session.scalar(select(func.count()).select_from(Interaction)) == 0:
            _seed_interactions_and_consent(session, rng)
    value_run = latest_value_run(session)
    if value_run is None:
        value_run = run_value_analysis(session, actor=ACTOR)
    seed_recommendations(session)
    seed_health(session)
    seed_voice(session)
    seed_service(session)
    seed_relations(session)
    return DemoSummary(
        value_run=value_run,
        already_seeded=done,
        n_customers=session.scalar(select(func.count()).select_from(Customer)) or 0,
        n_orders=session.scalar(select(func.count()).select_from(Order)) or 0,
        n_rows_imported=n_rows,
        n_row_errors=n_errors,
        **_feature_counts(session),
    )


def _feature_counts(session: Session) -> dict[str, Any]:
    """Count what the feature demos left: tickets, posts, health stages, open tasks."""
    from kehu.health import stage_summary
    from kehu.relations import Task, TaskStatus
    from kehu.service import Ticket
    from kehu.voice import Post

    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "n_tickets": count(Ticket),
        "n_posts": count(Post),
        "stages": {s.stage.value: s.n_customers for s in stage_summary(session) if s.n_customers},
        "n_open_tasks": count(Task, Task.status == TaskStatus.OPEN),
    }
