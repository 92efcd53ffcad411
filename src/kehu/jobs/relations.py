"""Relationship playbooks in batch: customer snapshots, rules, cadence, reminders, surprises.

One run of :func:`run_relations` (a ``kehu analyze`` step):

1. builds every active customer's snapshot (value scores, orders, what we did for them,
   tickets, tasks, referrals, health stage when scored) -- the facts rules read;
2. **cadence**: customers whose last touch is older than their tier's cadence get a
   ``neglect`` task for their owner;
3. **free service**: purchases whose free service falls due get a ``service_due`` task;
4. **surprises**: customers at a moment (birthday, anniversary, a fixed complaint, the
   season) get a surprise planned within the month's budget and a ``surprise`` task;
5. **rules**: the stored rules run through the pure engine and their actions are executed.

Cadence, reminders and surprises each ask the contact budget first
(:func:`kehu.relations.spend_contacts`): a contact the budget refuses waits for the next run
or is dropped, and the ledger says which. An alert someone already closed (its dedupe key
has a done or dismissed task) is not raised again; an open one has its evidence refreshed.

``as_of`` is the day the facts describe -- today in production; the demo's last data day
when the data are historical. Tasks fall due from the real clock.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.commerce import Order, OrderKind, OrderLine, Product
from kehu.core import Actor, utcnow
from kehu.customers import Customer
from kehu.engagement import Interaction
from kehu.playbooks.cadence import (
    Cadence,
    Purchase,
    ReminderRule,
    TouchState,
    due_services,
    find_neglected,
)
from kehu.playbooks.rules import PlannedAction, evaluate, execute, load_rules
from kehu.playbooks.surprises import (
    Candidate,
    CatalogueItem,
    GivenSurprise,
    SurpriseOutcomes,
    choose_surprises,
    surprise_outcomes,
)
from kehu.privacy import consent_refusals, opted_out_ids, purpose_of
from kehu.relations import (
    ContactDecision,
    ContactRequest,
    GiftStatus,
    Referral,
    SurpriseGift,
    Task,
    TaskStatus,
    find_open_task,
    get_relation_settings,
    last_surprised,
    list_cadence_policies,
    list_service_reminders,
    list_surprises,
    open_task,
    plan_surprise,
    spend_contacts,
    spent_on_surprises,
    task_keys,
)
from kehu.service import Ticket, TicketStatus
from kehu.value import CustomerValue

_CHUNK = 500


def _day_end(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _grouped(session: Session, query: Any) -> dict[int, Any]:
    return {row[0]: row[1:] for row in session.execute(query) if row[0] is not None}


class OrderFactsSource(Protocol):
    """Where the playbooks get their order facts: the store, or a batch engine over Parquet.

    :class:`StoreOrderFacts` asks the store; :class:`kehu.batch.EngineOrderFacts` has an
    engine compute the same over Parquet (``kehu analyze --engine E --input DIR``).
    """

    def customer_orders(self, as_of: date) -> dict[int, tuple[int, date, date, float]]:
        """Per customer with a sale up to ``as_of``: sales, first and last day, spend (cents)."""

    def service_purchases(
        self, *, after: date, as_of: date, product_ids: Collection[int], categories: Collection[str]
    ) -> list[tuple[int, int, str, date]]:
        """Return (customer, product, category, day) of sale lines after ``after`` to ``as_of``."""


class StoreOrderFacts:
    """The playbooks' order facts from the store's orders."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def customer_orders(self, as_of: date) -> dict[int, tuple[int, date, date, float]]:
        """See :class:`OrderFactsSource`."""
        rows = _grouped(
            self.session,
            select(
                Order.customer_id,
                func.count(),
                func.min(Order.ordered_at),
                func.max(Order.ordered_at),
                func.coalesce(func.sum(Order.total), 0),
            )
            .where(Order.kind == OrderKind.SALE, Order.ordered_at <= _day_end(as_of))
            .group_by(Order.customer_id),
        )
        return {
            customer_id: (int(n), first.date(), last.date(), float(round(Decimal(spend), 2)))
            for customer_id, (n, first, last, spend) in rows.items()
        }

    def service_purchases(
        self, *, after: date, as_of: date, product_ids: Collection[int], categories: Collection[str]
    ) -> list[tuple[int, int, str, date]]:
        """See :class:`OrderFactsSource`."""
        query = (
            select(Order.customer_id, OrderLine.product_id, Product.category, Order.ordered_at)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
            .where(
                Order.kind == OrderKind.SALE,
                Order.customer_id.is_not(None),
                Order.ordered_at > _day_end(after),
                Order.ordered_at <= _day_end(as_of),
                OrderLine.product_id.in_(product_ids) | Product.category.in_(categories),
            )
        )
        return [
            (customer_id, product_id, category or "", at.date())
            for customer_id, product_id, category, at in self.session.execute(query)
            if customer_id is not None
        ]


def build_snapshots(
    session: Session, *, as_of: date, source: OrderFactsSource | None = None
) -> list[dict[str, Any]]:
    """Return the snapshot of every active customer as of the end of ``as_of``.

    Keys are :data:`kehu.playbooks.rules.FIELDS` plus ``customer_id``, ``name``, ``owner_id``,
    ``birthday``, ``first_order_on``, ``last_touch_on`` and ``last_fix_on`` (dates the
    cadence and surprise engines need). Unknown facts are ``None``. The order facts come
    from ``source`` (default: the store); everything else from the store.
    """
    end = _day_end(as_of)
    customers = session.execute(
        select(
            Customer.id,
            Customer.name,
            Customer.kind,
            Customer.country,
            Customer.owner_id,
            Customer.birthday,
        ).where(Customer.is_active.is_(True), Customer.merged_into_id.is_(None))
    ).all()
    values = _grouped(
        session,
        select(
            CustomerValue.customer_id,
            CustomerValue.tier,
            CustomerValue.clv,
            CustomerValue.p_alive,
            CustomerValue.rfm_segment,
        ),
    )
    orders = (source or StoreOrderFacts(session)).customer_orders(as_of)
    touches = _grouped(
        session,
        select(Interaction.customer_id, func.max(Interaction.occurred_at))
        .where(Interaction.occurred_at <= end, Interaction.direction == "outbound")
        .group_by(Interaction.customer_id),
    )
    fixes = _grouped(
        session,
        select(Ticket.customer_id, func.max(Ticket.resolved_at))
        .where(Ticket.resolved_at.is_not(None), Ticket.resolved_at <= end)
        .group_by(Ticket.customer_id),
    )
    open_tickets = _grouped(
        session,
        select(Ticket.customer_id, func.count())
        .where(Ticket.status.not_in([TicketStatus.RESOLVED, TicketStatus.CLOSED]))
        .group_by(Ticket.customer_id),
    )
    open_tasks = _grouped(
        session,
        select(Task.customer_id, func.count())
        .where(Task.status == TaskStatus.OPEN)
        .group_by(Task.customer_id),
    )
    referrals = _grouped(
        session,
        select(Referral.referrer_id, func.count()).group_by(Referral.referrer_id),
    )
    health = _health(session)
    snapshots = []
    for customer_id, name, kind, country, owner_id, birthday in customers:
        value = values.get(customer_id)
        order = orders.get(customer_id)
        touch = touches.get(customer_id)
        fix = fixes.get(customer_id)
        first_on = order[1] if order else None
        last_on = order[2] if order else None
        touch_on = touch[0].date() if touch else None
        fix_on = fix[0].date() if fix else None
        stage, risk = health.get(customer_id, (None, None))
        snapshots.append(
            {
                "customer_id": customer_id,
                "name": name,
                "owner_id": owner_id,
                "birthday": birthday,
                "first_order_on": first_on,
                "last_touch_on": touch_on,
                "last_fix_on": fix_on,
                "tier": str(value[0]) if value else None,
                "clv": float(value[1]) if value else None,
                "p_alive": round(float(value[2]), 4) if value else None,
                "rfm_segment": value[3] if value else None,
                "kind": str(kind),
                "country": country,
                "stage": stage,
                "churn_risk": risk,
                "total_spend": float(order[3]) if order else 0.0,
                "n_orders": int(order[0]) if order else 0,
                "days_since_last_order": (as_of - last_on).days if last_on else None,
                "days_since_first_order": (as_of - first_on).days if first_on else None,
                "days_since_last_touch": (as_of - touch_on).days if touch_on else None,
                "days_to_birthday": _days_to_yearly(birthday, as_of),
                "days_to_anniversary": _days_to_yearly(first_on, as_of),
                "days_since_complaint_fixed": (as_of - fix_on).days if fix_on else None,
                "n_open_tickets": int(open_tickets.get(customer_id, (0,))[0]),
                "n_open_tasks": int(open_tasks.get(customer_id, (0,))[0]),
                "n_referrals": int(referrals.get(customer_id, (0,))[0]),
                "month": as_of.month,
                "has_owner": owner_id is not None,
            }
        )
    return snapshots


def _health(session: Session) -> dict[int, tuple[str | None, float | None]]:
    """Return each customer's health stage and churn risk (issue 7 analytics), when scored."""
    from kehu.health import CustomerHealth

    return {
        row[0]: (str(row[1]), round(float(row[2]), 4))
        for row in session.execute(
            select(CustomerHealth.customer_id, CustomerHealth.stage, CustomerHealth.churn_risk)
        )
    }


def _days_to_yearly(day: date | None, today: date) -> int | None:
    if day is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            upcoming = day.replace(year=year)
        except ValueError:  # 29 February in a common year
            upcoming = date(year, 2, 28)
        if upcoming >= today:
            return (upcoming - today).days
    return None  # pragma: no cover


@dataclass
class StepReport:
    """What one step did."""

    n_candidates: int = 0
    n_opened: int = 0
    n_refreshed: int = 0
    n_closed_before: int = 0
    n_waited: int = 0
    n_dropped: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class RelationsReport:
    """What :func:`run_relations` did, step by step."""

    as_of: date
    n_customers: int
    cadence: StepReport
    service: StepReport
    surprises: StepReport
    rules: StepReport
    plans: list[PlannedAction] = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class _Alert:
    customer_id: int
    playbook: str
    kind: str
    title: str
    due_in_days: int
    evidence: dict[str, Any]
    dedupe_key: str


def _raise_alerts(
    session: Session,
    alerts: Sequence[_Alert],
    owners: dict[int, int | None],
    *,
    actor: Actor,
    now: datetime,
    dry_run: bool,
) -> tuple[StepReport, list[_Alert]]:
    """Open tasks for alerts the budget lets through; leave closed ones alone."""
    report = StepReport(n_candidates=len(alerts))
    known = task_keys(session, [a.dedupe_key for a in alerts])
    fresh: list[_Alert] = []
    for alert in alerts:
        status = known.get(alert.dedupe_key)
        if status is None:
            fresh.append(alert)
        elif status == TaskStatus.OPEN:
            report.n_refreshed += 1
            if not dry_run:
                task = find_open_task(session, alert.dedupe_key)
                budget = (task.evidence if task is not None else {}).get("budget")
                open_task(
                    session,
                    customer_id=alert.customer_id,
                    kind=alert.kind,
                    title=alert.title,
                    owner_id=owners.get(alert.customer_id),
                    due_at=now + timedelta(days=alert.due_in_days),
                    evidence={**alert.evidence, "budget": budget} if budget else alert.evidence,
                    dedupe_key=alert.dedupe_key,
                    actor=actor,
                )
        else:
            report.n_closed_before += 1
    if dry_run:
        report.n_opened = len(fresh)
        return report, fresh
    verdicts = spend_contacts(
        session,
        [ContactRequest(a.customer_id, a.playbook, a.dedupe_key) for a in fresh],
        actor=actor,
        channel="task",
        at=now,
    )
    opened: list[_Alert] = []
    for alert, verdict in zip(fresh, verdicts, strict=True):
        if verdict.decision == ContactDecision.WAITED:
            report.n_waited += 1
            continue
        if verdict.decision == ContactDecision.DROPPED:
            report.n_dropped += 1
            continue
        open_task(
            session,
            customer_id=alert.customer_id,
            kind=alert.kind,
            title=alert.title,
            owner_id=owners.get(alert.customer_id),
            due_at=now + timedelta(days=alert.due_in_days),
            evidence={**alert.evidence, "budget": verdict.reason},
            dedupe_key=alert.dedupe_key,
            actor=actor,
        )
        report.n_opened += 1
        opened.append(alert)
    return report, opened


def _cadence_alerts(
    session: Session, snapshots: Sequence[dict[str, Any]], as_of: date
) -> tuple[list[_Alert], list[str]]:
    cadences = [
        Cadence(p.tier, p.every_days, p.due_in_days)
        for p in list_cadence_policies(session)
        if p.is_active
    ]
    result = find_neglected(
        (
            TouchState(s["customer_id"], s["tier"], s["last_touch_on"], s["first_order_on"])
            for s in snapshots
        ),
        cadences,
        today=as_of,
    )
    names = {s["customer_id"]: s["name"] for s in snapshots}
    notes = []
    if not cadences:
        notes.append("no cadence policy is active; nobody is checked for neglect")
    if result.n_without_history:
        notes.append(
            f"{result.n_without_history} customer(s) with neither orders nor touches skipped"
        )
    alerts = [
        _Alert(
            customer_id=a.customer_id,
            playbook="cadence",
            kind="neglect",
            title=(
                f"Get in touch with {names.get(a.customer_id) or a.customer_id}: "
                f"{a.days_since} days since {a.since} ({a.tier} cadence {a.every_days} days)"
            )[:300],
            due_in_days=a.due_in_days,
            evidence=a.evidence(),
            dedupe_key=a.dedupe_key,
        )
        for a in result.alerts
    ]
    return alerts, notes


def _service_alerts(
    session: Session, as_of: date, source: OrderFactsSource | None = None
) -> list[_Alert]:
    rules = [
        ReminderRule(r.id, r.label, r.after_days, r.product_id, r.category)
        for r in list_service_reminders(session)
        if r.is_active
    ]
    if not rules:
        return []
    longest = max(r.after_days for r in rules)
    product_ids = [r.product_id for r in rules if r.product_id is not None]
    categories = [r.category for r in rules if r.category]
    bought = (source or StoreOrderFacts(session)).service_purchases(
        after=as_of - timedelta(days=longest + 31),
        as_of=as_of,
        product_ids=product_ids,
        categories=categories,
    )
    purchases = {Purchase(*row) for row in bought}
    # Sorted in full: the first purchase of a day names the product, whatever the source's
    # row order.
    due = due_services(
        sorted(purchases, key=lambda p: (p.customer_id, p.bought_on, p.product_id, p.category)),
        rules,
        today=as_of,
    )
    return [
        _Alert(
            customer_id=d.customer_id,
            playbook="service",
            kind="service_due",
            title=f"{d.label} due on {d.due_on.isoformat()} (bought {d.bought_on.isoformat()})",
            due_in_days=max(0, min(14, (d.due_on - as_of).days)),
            evidence=d.evidence(),
            dedupe_key=d.dedupe_key,
        )
        for d in due
    ]


def _surprises(
    session: Session,
    snapshots: Sequence[dict[str, Any]],
    owners: dict[int, int | None],
    as_of: date,
    *,
    actor: Actor,
    now: datetime,
    dry_run: bool,
) -> StepReport:
    settings = get_relation_settings(session)
    # The budget is spent when surprises are planned (now), whatever day the facts describe.
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    spent = spent_on_surprises(session, since=month_start, until=next_month)
    left = max(Decimal("0"), settings.surprise_monthly_budget - spent)
    catalogue = [
        CatalogueItem(s.id, s.code, s.cost, tuple(s.moments), tuple(s.months))
        for s in list_surprises(session, active_only=True)
    ]
    last = {c: at.date() for c, at in last_surprised(session).items()}
    choice = choose_surprises(
        (
            Candidate(
                customer_id=s["customer_id"],
                tier=s["tier"],
                clv=s["clv"],
                birthday=s["birthday"],
                first_order_on=s["first_order_on"],
                last_fix_on=s["last_fix_on"],
                last_surprised_on=last.get(s["customer_id"]),
            )
            for s in snapshots
        ),
        catalogue,
        today=as_of,
        tiers=settings.surprise_tiers or [],
        every_months=settings.surprise_every_months,
        budget_left=left,
    )
    names = {s["customer_id"]: s["name"] for s in snapshots}
    by_id = {item.surprise_id: item for item in catalogue}
    alerts = {
        plan.dedupe_key: (
            plan,
            _Alert(
                customer_id=plan.customer_id,
                playbook="surprise",
                kind="surprise",
                title=f"Surprise {names.get(plan.customer_id) or plan.customer_id}: "
                f"{by_id[plan.surprise_id].code} ({plan.moment})",
                due_in_days=3,
                evidence={**plan.reason, "surprise": plan.code, "cost": str(plan.cost)},
                dedupe_key=plan.dedupe_key,
            ),
        )
        for plan in choice.plans
    }
    report, opened = _raise_alerts(
        session,
        [alert for _, alert in alerts.values()],
        owners,
        actor=actor,
        now=now,
        dry_run=dry_run,
    )
    report.notes.extend(f"{n} skipped: {why}" for why, n in sorted(choice.skipped.items()))
    report.notes.append(f"budget left this month: {choice.budget_left} {settings.currency}")
    if not dry_run:
        keys = [a.dedupe_key for a in opened]
        tasks = (
            dict(
                session.execute(
                    select(Task.dedupe_key, Task.id).where(
                        Task.dedupe_key.in_(keys), Task.status == TaskStatus.OPEN
                    )
                ).all()
            )
            if keys
            else {}
        )
        for alert in opened:
            plan = alerts[alert.dedupe_key][0]
            plan_surprise(
                session,
                customer_id=plan.customer_id,
                surprise_id=plan.surprise_id,
                moment=plan.moment,
                reason=plan.reason,
                task_id=tasks.get(alert.dedupe_key),
                actor=actor,
                at=now,
            )
    return report


def run_relations(
    session: Session,
    *,
    actor: Actor,
    as_of: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    source: OrderFactsSource | None = None,
) -> RelationsReport:
    """Run cadence, free-service reminders, surprise selection and the rules (see module doc).

    With ``dry_run`` nothing is written (not even the contact-budget ledger): the report says
    what would happen and ``plans`` lists the rules' planned actions. The order facts come
    from ``source`` (a batch engine's, ``kehu analyze --engine``); by default the store.
    """
    now = now or utcnow()
    as_of = as_of or now.date()
    # Customers who opted out of automated decisions get no automated task (kehu.privacy).
    excluded = opted_out_ids(session)
    snapshots = [
        s
        for s in build_snapshots(session, as_of=as_of, source=source)
        if s["customer_id"] not in excluded
    ]
    owners = {s["customer_id"]: s["owner_id"] for s in snapshots}
    cadence_alerts, cadence_notes = _cadence_alerts(session, snapshots, as_of)
    cadence, _ = _raise_alerts(
        session, cadence_alerts, owners, actor=actor, now=now, dry_run=dry_run
    )
    cadence.notes.extend(cadence_notes)
    service_alerts = [
        a for a in _service_alerts(session, as_of, source) if a.customer_id not in excluded
    ]
    service, _ = _raise_alerts(
        session, service_alerts, owners, actor=actor, now=now, dry_run=dry_run
    )
    surprises = _surprises(session, snapshots, owners, as_of, actor=actor, now=now, dry_run=dry_run)
    stored = load_rules(session)
    plans, refused = _consented(session, evaluate(stored.rules, snapshots))
    rules = StepReport(n_candidates=len(plans) + len(refused))
    rules.notes.extend(f"rule {name!r} not run: {why}" for name, why in stored.invalid)
    rules.n_dropped = len(refused)
    rules.notes.extend(
        f"{plan.rule} for customer {plan.customer_id} not run: {why}" for plan, why in refused
    )
    if not dry_run:
        executed = execute(session, plans, actor=actor)
        rules.n_opened = len(executed.done)
        rules.notes.extend(
            f"{plan.rule} for customer {plan.customer_id} failed: {why}"
            for plan, why in executed.failed
        )
    return RelationsReport(
        as_of=as_of,
        n_customers=len(snapshots),
        cadence=cadence,
        service=service,
        surprises=surprises,
        rules=rules,
        plans=plans,
        dry_run=dry_run,
    )


def _consented(
    session: Session, plans: Sequence[PlannedAction]
) -> tuple[list[PlannedAction], list[tuple[PlannedAction, str]]]:
    """Split the rules' planned actions into those consent allows and those it refuses.

    A rule's action leads a member of staff to the customer (a task), so it is asked like any
    staff task of the rules' purpose (:func:`kehu.privacy.consent_refusals`, ``channel="task"``).
    """
    refusals = consent_refusals(
        session, [p.customer_id for p in plans], channel="task", purpose=purpose_of("rule")
    )
    allowed = [p for p in plans if p.customer_id not in refusals]
    refused = [(p, refusals[p.customer_id]) for p in plans if p.customer_id in refusals]
    return allowed, refused


def plan_rules(
    session: Session, *, as_of: date | None = None
) -> tuple[list[PlannedAction], list[tuple[str, str]]]:
    """Return what the stored rules would do now (a dry run of the rules alone)."""
    as_of = as_of or utcnow().date()
    stored = load_rules(session)
    return evaluate(stored.rules, build_snapshots(session, as_of=as_of)), stored.invalid


def run_rules(
    session: Session, *, actor: Actor, as_of: date | None = None
) -> tuple[list[PlannedAction], list[str], list[tuple[PlannedAction, str]]]:
    """Evaluate the stored rules and execute their actions; return plans, done and failed."""
    plans, _ = plan_rules(session, as_of=as_of)
    report = execute(session, plans, actor=actor)
    return plans, report.done, report.failed


def measure_surprise_outcomes(
    session: Session, *, as_of: datetime | None = None, period_days: int = 90
) -> SurpriseOutcomes:
    """Compare surprised customers' next period with matched customers never surprised."""
    as_of = as_of or utcnow()
    gifts = session.execute(
        select(SurpriseGift.customer_id, SurpriseGift.given_at).where(
            SurpriseGift.status == GiftStatus.GIVEN, SurpriseGift.given_at.is_not(None)
        )
    ).all()
    strata = {
        customer_id: f"{tier}/{segment}"
        for customer_id, tier, segment in session.execute(
            select(CustomerValue.customer_id, CustomerValue.tier, CustomerValue.rfm_segment)
        )
    }
    given = [
        GivenSurprise(customer_id, at, strata[customer_id])
        for customer_id, at in gifts
        if customer_id in strata and at is not None
    ]
    orders: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    if given:
        first = min(g.given_at for g in given)
        for customer_id, at, total in session.execute(
            select(Order.customer_id, Order.ordered_at, Order.total).where(
                Order.kind == OrderKind.SALE,
                Order.customer_id.is_not(None),
                Order.ordered_at > first,
            )
        ):
            if customer_id is not None:
                orders[customer_id].append((at, float(total)))
    return surprise_outcomes(given, strata, orders, as_of=as_of, period_days=period_days)
