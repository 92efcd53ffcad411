"""Manager reports: what grows, contradicting outcomes, SLA breaches, quality per agent/team."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kehu.core import utcnow
from kehu.service.categories import category_paths
from kehu.service.clocks import OPEN_STATUSES
from kehu.service.models import Category, Outcome, SlaPolicy, Ticket, TicketEvent
from kehu.service.quality import TicketQuality, assess_ticket
from kehu.service.queries import clocks_for, first_customer_messages
from kehu.service.sla import ClockState
from kehu.users import Department, User


def _lookup(session: Session, key: Any, value: Any) -> dict[Any, Any]:
    return {row[0]: row[1] for row in session.execute(select(key, value))}


@dataclass
class CategoryTrend:
    """A category's tickets this period against the period before, with sample messages."""

    category_id: int
    code: str
    path: str
    n_this: int
    n_last: int
    growth: float | None
    samples: list[tuple[int, str]] = field(default_factory=list)


def category_trends(
    session: Session,
    *,
    now: datetime | None = None,
    days: int = 7,
    top: int = 10,
    n_samples: int = 3,
    min_rising: int = 3,
) -> tuple[list[CategoryTrend], list[CategoryTrend]]:
    """Return (top categories this period, rising categories), each with sample messages.

    "This period" is the ``days`` before ``now``; "last" the ``days`` before that. A category
    is rising when it has at least ``min_rising`` tickets now and more than before; rising
    categories are ordered by the increase (new categories first).
    """
    now = now or utcnow()
    this_from, last_from = now - timedelta(days=days), now - timedelta(days=2 * days)

    def counts(start: datetime, end: datetime) -> dict[int, int]:
        return {
            cid: n
            for cid, n in session.execute(
                select(Ticket.category_id, func.count(Ticket.id))
                .where(
                    Ticket.category_id.is_not(None),
                    Ticket.opened_at >= start,
                    Ticket.opened_at < end,
                )
                .group_by(Ticket.category_id)
            )
            if cid is not None
        }

    current, previous = counts(this_from, now), counts(last_from, this_from)
    codes = _lookup(session, Category.id, Category.code)
    paths = category_paths(session)

    def trend(cid: int) -> CategoryTrend:
        n_this, n_last = current.get(cid, 0), previous.get(cid, 0)
        return CategoryTrend(
            category_id=cid,
            code=codes.get(cid, ""),
            path=paths.get(cid, ""),
            n_this=n_this,
            n_last=n_last,
            growth=None if n_last == 0 else (n_this - n_last) / n_last,
        )

    top_rows = [trend(cid) for cid, _ in sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))]
    top_rows = top_rows[:top]
    rising = [
        trend(cid) for cid, n in current.items() if n >= min_rising and n > previous.get(cid, 0)
    ]
    rising.sort(key=lambda t: (t.n_last != 0, -(t.n_this - t.n_last), t.code))
    rising = rising[:top]
    for row in {id(r): r for r in top_rows + rising}.values():
        row.samples = sample_messages(
            session, row.category_id, since=this_from, until=now, n=n_samples
        )
    return top_rows, rising


def sample_messages(
    session: Session, category_id: int, *, since: datetime, until: datetime, n: int = 3
) -> list[tuple[int, str]]:
    """Return (ticket id, first customer message) of the latest ``n`` tickets of a category."""
    ids = session.scalars(
        select(Ticket.id)
        .where(
            Ticket.category_id == category_id, Ticket.opened_at >= since, Ticket.opened_at < until
        )
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(n)
    ).all()
    firsts = first_customer_messages(session, ids)
    return [(tid, firsts.get(tid, "")[:300]) for tid in ids]


@dataclass
class Contradiction:
    """A category whose tickets ended differently: who got what, for the manager to settle."""

    category_id: int
    code: str
    path: str
    outcomes: dict[str, int]
    amounts: list[str]
    tickets: list[tuple[int, str, str | None]]


def contradicting_outcomes(
    session: Session, *, since: datetime | None = None, where: ColumnElement[bool] | None = None
) -> list[Contradiction]:
    """Return categories whose tickets ended with contradicting outcomes.

    Contradicting: approved (or partly) for one customer and refused for another, or approved
    with different amounts.
    """
    query = select(Ticket.id, Ticket.category_id, Ticket.outcome, Ticket.outcome_amount).where(
        Ticket.category_id.is_not(None), Ticket.outcome.is_not(None)
    )
    if since is not None:
        query = query.where(Ticket.opened_at >= since)
    if where is not None:  # a caller's scope on tickets (kehu.access)
        query = query.where(where)
    by_category: dict[int, list[tuple[int, str, Decimal | None]]] = defaultdict(list)
    for tid, cid, outcome, amount in session.execute(query.order_by(Ticket.id)):
        if cid is None:
            continue
        by_category[cid].append((tid, str(outcome), amount))
    codes = _lookup(session, Category.id, Category.code)
    paths = category_paths(session)
    found = []
    for cid, rows in sorted(by_category.items()):
        outcomes = {o for _, o, _ in rows}
        granted = {o for o in outcomes if o in (Outcome.APPROVED, Outcome.PARTIAL)}
        amounts = {a for _, o, a in rows if o == Outcome.APPROVED and a is not None}
        if not ((granted and Outcome.REFUSED in outcomes) or len(amounts) > 1):
            continue
        tally: dict[str, int] = defaultdict(int)
        for _, o, _ in rows:
            tally[o] += 1
        found.append(
            Contradiction(
                category_id=cid,
                code=codes.get(cid, ""),
                path=paths.get(cid, ""),
                outcomes=dict(tally),
                amounts=sorted(str(a) for a in amounts),
                tickets=[(t, o, None if a is None else str(a)) for t, o, a in rows],
            )
        )
    return found


@dataclass
class SlaAlert:
    """An open ticket whose promise is close to or past due, or a missed one."""

    ticket_id: int
    subject: str
    department_id: int | None
    target: str
    state: ClockState
    due_at: datetime
    used_share: float


def sla_alerts(
    session: Session,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[SlaAlert]:
    """Return SLA warnings and breaches, worst first.

    Open tickets give warnings and breaches; tickets done since ``since`` (default: the last
    30 days) give the promises they missed.
    """
    now = now or utcnow()
    since = since or now - timedelta(days=30)
    policies = {p.id: p for p in session.scalars(select(SlaPolicy)).all()}
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.sla_policy_id.is_not(None),
            (Ticket.status.in_(OPEN_STATUSES)) | (Ticket.resolved_at >= since),
            *([] if where is None else [where]),  # a caller's scope on tickets (kehu.access)
        )
    ).all()
    alerts = []
    for ticket in tickets:
        policy = policies.get(ticket.sla_policy_id or 0)
        if policy is None:
            continue
        for clock in clocks_for(ticket, policy, now=now):
            if clock.state in (ClockState.WARNING, ClockState.BREACHED, ClockState.MISSED):
                alerts.append(
                    SlaAlert(
                        ticket_id=ticket.id,
                        subject=ticket.subject,
                        department_id=ticket.department_id,
                        target=clock.target,
                        state=clock.state,
                        due_at=clock.due_at,
                        used_share=clock.used_share,
                    )
                )
    order = {ClockState.BREACHED: 0, ClockState.MISSED: 1, ClockState.WARNING: 2}
    alerts.sort(key=lambda a: (order[a.state], a.due_at, a.ticket_id))
    return alerts


@dataclass
class QualityRow:
    """The three criteria summed up for one agent or team over one week."""

    group: str
    group_id: int | None
    name: str
    week: str
    n_tickets: int
    n_judged: int
    solved_share: float | None
    perception: float | None
    n_perception: int
    loss_reduced: Decimal


def quality_report(
    session: Session,
    *,
    window_days: int,
    now: datetime | None = None,
    weeks: int = 8,
) -> list[QualityRow]:
    """Return, per ISO week of resolution, the three criteria per agent and per team.

    Only resolved (or closed) tickets count; "solved" is judged once the reopen window of a
    ticket has passed or it was reopened within it.
    """
    now = now or utcnow()
    since = now - timedelta(weeks=weeks)
    tickets = session.scalars(
        select(Ticket).where(Ticket.resolved_at.is_not(None), Ticket.resolved_at >= since)
    ).all()
    ids = [t.id for t in tickets]
    events: dict[int, list[TicketEvent]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for event in session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id.in_(ids[start : start + 500]),
                TicketEvent.kind.in_(("resolved", "reopened")),
            )
        ):
            events[event.ticket_id].append(event)
    users = _lookup(session, User.id, User.name)
    teams = _lookup(session, Department.id, Department.name)
    buckets: dict[tuple[str, int | None, str], list[tuple[TicketQuality, bool]]] = defaultdict(list)
    for ticket in tickets:
        history = events.get(ticket.id, [])
        quality = assess_ticket(
            resolutions=[e.at for e in history if e.kind == "resolved"],
            reopenings=[e.at for e in history if e.kind == "reopened"],
            window_days=window_days,
            rating=ticket.rating,
            sentiment=ticket.sentiment,
            claimed=ticket.amount_claimed,
            paid=ticket.amount_paid,
            recovered=ticket.value_recovered,
        )
        resolved_at = ticket.resolved_at or now
        judged = quality.solved is False or (now - resolved_at) >= timedelta(days=window_days)
        iso = resolved_at.isocalendar()
        label = f"{iso.year}-W{iso.week:02d}"
        buckets[("agent", ticket.assignee_id, label)].append((quality, judged))
        buckets[("team", ticket.department_id, label)].append((quality, judged))
    rows = []
    for (group, gid, week_label), items in sorted(
        buckets.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1] or 0)
    ):
        judged_q = [q for q, j in items if j and q.solved is not None]
        perceptions = [q.perception for q, _ in items if q.perception is not None]
        loss = sum(
            (q.loss_reduced for q, _ in items if q.loss_reduced is not None),
            Decimal(0),
        )
        names = users if group == "agent" else teams
        rows.append(
            QualityRow(
                group=group,
                group_id=gid,
                name=names.get(gid, "") if gid is not None else "",
                week=week_label,
                n_tickets=len(items),
                n_judged=len(judged_q),
                solved_share=(
                    sum(1 for q in judged_q if q.solved) / len(judged_q) if judged_q else None
                ),
                perception=sum(perceptions) / len(perceptions) if perceptions else None,
                n_perception=len(perceptions),
                loss_reduced=loss,
            )
        )
    return rows


def breakdown_by_status(session: Session) -> dict[str, int]:
    """Return the number of tickets per status."""
    return {
        str(status): n
        for status, n in session.execute(
            select(Ticket.status, func.count(Ticket.id)).group_by(Ticket.status)
        )
    }


def queue_sizes(session: Session) -> list[tuple[int | None, str, int]]:
    """Return (department id, name, open tickets) per department, triage (None) first."""
    rows = session.execute(
        select(Ticket.department_id, func.count(Ticket.id))
        .where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.department_id)
    ).all()
    names = _lookup(session, Department.id, Department.name)
    triage = (
        session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.in_triage.is_(True), Ticket.status.in_(OPEN_STATUSES)
            )
        )
        or 0
    )
    result: list[tuple[int | None, str, int]] = [(None, "triage", triage)]
    result += sorted(
        ((did, names.get(did, ""), n) for did, n in rows if did is not None), key=lambda r: r[1]
    )
    return result
