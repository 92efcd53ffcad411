"""Demo service desk: a 103-leaf category tree, SLA policies, answers, and real tickets.

The messages are real BANKING77 texts (``data/banking77_tickets.csv``, see ATTRIBUTION.md);
senders, times, replies and outcomes are invented around the moment of seeding: three weeks
of history that agents categorised (the training labels), some reopened, rated or refunded,
and this week's tickets, which the trained classifier routes (or leaves in triage). Three
categories rise this week, refund requests end in contradicting outcomes, and a few promises
are close to or past their SLA. Idempotent: nothing happens when categories already exist.
"""

# ruff: noqa: RUF001 - Chinese demo text uses full-width punctuation

import csv
import io
import logging
import random
from datetime import datetime, timedelta
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.core import Actor, KehuError, get_settings, utcnow
from kehu.customers import Customer
from kehu.demo.service_tree import category_csv
from kehu.jobs.service import (
    category_model_path,
    load_category_model,
    route_tickets,
    train_category_model,
)
from kehu.service import (
    AuthorKind,
    Category,
    Ticket,
    add_message,
    assign_ticket,
    correct_category,
    create_ticket,
    find_category_by_code,
    import_categories_csv,
    record_outcome,
    record_policy_decision,
    save_sla_policy,
    set_canonical_answer,
    set_ticket_status,
)
from kehu.users import find_user_by_email

log = logging.getLogger(__name__)
ACTOR = Actor(kind="system", label="demo")
TEXTS_FILE = "banking77_tickets.csv"
RISING = ("card_swallowed", "transaction_charged_twice", "top_up_failed")
WEEKDAYS = {str(day): ["09:00", "18:00"] for day in range(1, 6)}
HOLIDAYS = ["2026-01-01", "2026-02-17", "2026-02-18", "2026-10-01", "2026-10-02", "2027-01-01"]
ANSWERS = {
    "card_arrival": "您好！实体卡寄出后通常 3–5 个工作日送达。若超过 7 个工作日仍未收到，"
    "我们会免费为您补寄。 / Cards arrive within 3-5 working days of dispatch; after 7 we send a "
    "new one free of charge.",
    "lost_or_stolen_card": "我们已冻结您的卡片，并为您寄出新卡。冻结期间的可疑交易请告诉我们。 / "
    "Your card is frozen and a new one is on its way; tell us about any payment you do not "
    "recognise.",
    "request_refund": "退款将在审核通过后 5 个工作日内原路退回。 / Approved refunds reach the "
    "original payment method within 5 working days.",
    "exchange_rate": "我们使用实时银行间汇率，周末加收 0.5%。 / We use the live interbank rate; "
    "0.5% is added at weekends.",
    "card_swallowed": "请联系该取款机所属银行取回卡片；如无法取回，我们立即为您补卡。 / Ask the "
    "ATM's bank to return the card; if they cannot, we send a new one at once.",
    "transaction_charged_twice": "重复扣款通常是预授权，3 个工作日内自动释放；"
    "否则我们为您退款。"
    " / A double charge is usually a pre-authorisation released within 3 working days; "
    "otherwise we refund it.",
    "top_up_failed": "充值失败的款项会在 1 个工作日内退回原账户。 / A failed top-up returns to "
    "your account within one working day.",
    "change_pin": "您可以在任一支持的取款机上修改密码。 / You can change your PIN at any "
    "supported ATM.",
    "terminate_account": "我们很遗憾您要离开。余额转出后即可在 App 中注销账户。 / Sorry to see you "
    "go: move your balance out, then close the account in the app.",
    "cards": "Cards arrive within 3-5 working days; freeze a card in the app at any time.",
    "orders": "您的订单信息我们已收到，物流部门将在 1 个工作日内回复。 / Logistics will answer "
    "within one working day.",
}


def _texts() -> list[tuple[str, str]]:
    data = resources.files("kehu.demo").joinpath("data", TEXTS_FILE).read_text(encoding="utf-8")
    return [(row["text"], row["category"]) for row in csv.DictReader(io.StringIO(data))]


def _seed_policies(session: Session) -> None:
    save_sla_policy(
        session,
        code="standard",
        name="Standard (office hours, Beijing time)",
        timezone="Asia/Shanghai",
        business_hours=WEEKDAYS,
        holidays=HOLIDAYS,
        targets={
            "default": {"first_response_minutes": 240, "resolution_minutes": 1620},
            "vip": {"first_response_minutes": 60, "resolution_minutes": 540},
            "high": {"first_response_minutes": 120, "resolution_minutes": 1080},
        },
        actor=ACTOR,
    )
    save_sla_policy(
        session,
        code="default",
        name="Default (tickets not yet categorised)",
        timezone="Asia/Shanghai",
        business_hours=WEEKDAYS,
        holidays=HOLIDAYS,
        targets={"default": {"first_response_minutes": 240, "resolution_minutes": 1620}},
        actor=ACTOR,
    )
    save_sla_policy(
        session,
        code="urgent",
        name="Urgent (24/7)",
        timezone="Asia/Shanghai",
        business_hours={},
        targets={
            "default": {"first_response_minutes": 30, "resolution_minutes": 240},
            "vip": {"first_response_minutes": 15, "resolution_minutes": 120},
        },
        actor=ACTOR,
    )


def _category(session: Session, code: str) -> Category:
    category = find_category_by_code(session, code)
    if category is None:
        raise KehuError(f"The demo category {code!r} is missing.")
    return category


def seed_service(session: Session) -> None:
    """Create the demo service desk once: tree, policies, answers, tickets, model, routing."""
    if session.scalar(select(func.count()).select_from(Category)):
        return
    rng = random.Random(20261125)
    now = utcnow().replace(microsecond=0)
    texts = _texts()
    intents = sorted({code for _, code in texts}, key=[c for _, c in texts].index)
    _seed_policies(session)
    report = import_categories_csv(session, category_csv(intents), actor=ACTOR)
    if report.errors:
        raise KehuError(f"The demo category tree did not load: {report.errors[0].message}")
    for code, body in ANSWERS.items():
        set_canonical_answer(session, _category(session, code), body=body, actor=ACTOR)
    agent = find_user_by_email(session, "agent@kehu.local")
    manager = find_user_by_email(session, "manager@kehu.local")
    customers = list(
        session.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None)).limit(300))
    )
    by_intent: dict[str, list[str]] = {}
    for text, code in texts:
        by_intent.setdefault(code, []).append(text)
    fresh: list[Ticket] = []
    for code, bodies in by_intent.items():
        n_history = 3 if code in RISING else 8
        for i, body in enumerate(bodies):
            is_history = i < n_history
            days_ago = rng.uniform(7.2, 20) if is_history else rng.uniform(0.05, 6.5)
            opened = now - timedelta(days=days_ago)
            ticket = create_ticket(
                session,
                body=body,
                subject=body[:60],
                channel=rng.choice(("email", "email", "api", "phone", "chat")),
                customer_id=rng.choice(customers) if customers and rng.random() < 0.7 else None,
                requester=f"customer{rng.randint(1000, 9999)}@example.com",
                opened_at=opened,
                actor=ACTOR,
            )
            if is_history:
                _work_history(
                    session, ticket, code, opened, rng, agent_id=agent.id if agent else None
                )
            else:
                fresh.append(ticket)
    _seed_decisions(session, manager_id=manager.id if manager else None)
    _train_and_route(session, fresh, now, rng, agent_id=agent.id if agent else None)


def _work_history(
    session: Session,
    ticket: Ticket,
    code: str,
    opened: datetime,
    rng: random.Random,
    *,
    agent_id: int | None,
) -> None:
    """Categorise, answer and resolve an older ticket as an agent did (some reopen, some rate)."""
    correct_category(session, ticket, _category(session, code).id, actor=ACTOR)
    if agent_id is not None:
        assign_ticket(session, ticket, assignee_id=agent_id, actor=ACTOR)
    replied = opened + timedelta(minutes=rng.randint(10, 600))
    add_message(
        session,
        ticket,
        body="您好，我们已收到您的问题，正在处理。 / We are on it.",
        author_kind=AuthorKind.AGENT,
        user_id=agent_id,
        actor=ACTOR,
        sent_at=replied,
    )
    resolved = replied + timedelta(hours=rng.randint(1, 60))
    set_ticket_status(session, ticket, "resolved", actor=ACTOR, at=resolved)
    if rng.random() < 0.12:
        back = resolved + timedelta(days=rng.uniform(0.5, 2))
        add_message(
            session,
            ticket,
            body="问题还没有解决。 / It is still not fixed.",
            author_kind=AuthorKind.CUSTOMER,
            actor=ACTOR,
            sent_at=back,
        )
        set_ticket_status(session, ticket, "resolved", actor=ACTOR, at=back + timedelta(hours=3))
    if rng.random() < 0.45:
        record_outcome(session, ticket, rating=rng.choice((2, 3, 4, 4, 5, 5, 5)), actor=ACTOR)
    if code in ("request_refund", "transaction_charged_twice", "extra_charge_on_statement"):
        claimed = rng.choice(("19.99", "45.00", "120.00"))
        approved = rng.random() < 0.6
        record_outcome(
            session,
            ticket,
            outcome="approved" if approved else "refused",
            outcome_amount=claimed if approved else None,
            amount_claimed=claimed,
            amount_paid=claimed if approved else "0",
            actor=ACTOR,
        )


def _seed_decisions(session: Session, *, manager_id: int | None) -> None:
    """Two refund refusals under one rule, each showing the steps tried."""
    refunds = session.scalars(
        select(Ticket)
        .where(Ticket.category_id == _category(session, "request_refund").id)
        .order_by(Ticket.id)
        .limit(2)
    ).all()
    for ticket in refunds:
        record_policy_decision(
            session,
            ticket,
            rule_code="REFUND-30D",
            rule_text="Refunds are possible within 30 days of the purchase, for unused goods.",
            outcome="refused",
            steps=[
                "Checked the purchase date in the order history (more than 30 days ago)",
                "Asked the merchant for a goodwill refund (declined)",
                "Offered a 10% voucher for the next order",
            ],
            reply="很抱歉，这笔订单已超过 30 天退款期。 / Sorry, this order is past the 30-day "
            "refund period.",
            actor=Actor(kind="system", label="demo", user_id=manager_id),
        )


def _train_and_route(
    session: Session,
    fresh: list[Ticket],
    now: datetime,
    rng: random.Random,
    *,
    agent_id: int | None,
) -> None:
    """Train on the history's labels, route this week's tickets; answer a few of them."""
    settings = get_settings()
    path = category_model_path(settings)
    try:
        train_category_model(session, path=path, actor=ACTOR)
        model = load_category_model(path)
    except (KehuError, OSError) as exc:  # no writable model folder: everything waits in triage
        log.warning("The demo could not train the category model: %s", exc)
        model = None
    route_tickets(
        session, fresh, model=model, threshold=settings.service_triage_threshold, actor=ACTOR
    )
    for ticket in fresh:
        if rng.random() < 0.2 or ticket.opened_at > now - timedelta(hours=2):
            continue
        add_message(
            session,
            ticket,
            body="您好，我们正在处理您的问题。 / We are looking into it.",
            author_kind=AuthorKind.AGENT,
            user_id=agent_id,
            actor=ACTOR,
            sent_at=ticket.opened_at + timedelta(minutes=rng.randint(5, 180)),
        )
        if rng.random() < 0.5:
            set_ticket_status(
                session,
                ticket,
                "resolved",
                actor=ACTOR,
                at=min(now, ticket.opened_at + timedelta(hours=rng.randint(2, 40))),
            )


__all__ = ["seed_service"]
