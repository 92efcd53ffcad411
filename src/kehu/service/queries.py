"""Reads on tickets: queues, threads, SLA clocks and the quality of one ticket."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from kehu.core import utcnow
from kehu.service.clocks import OPEN_STATUSES, policy_calendar
from kehu.service.models import (
    PolicyDecision,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStatus,
)
from kehu.service.quality import TicketQuality, assess_ticket
from kehu.service.sla import SlaClock, sla_clock


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets a queue shows (``None`` means any)."""

    department_id: int | None = None
    in_triage: bool | None = None
    status: TicketStatus | None = None
    is_open: bool | None = None
    assignee_id: int | None = None
    category_id: int | None = None
    customer_id: int | None = None
    opened_from: datetime | None = None
    opened_until: datetime | None = None
    #: A predicate on ``service_tickets`` limiting rows to a caller's scope (``kehu.access``).
    scope: ColumnElement[bool] | None = field(default=None, compare=False)


def _filtered(query: Select[Ticket], filters: TicketFilter) -> Select[Ticket]:
    if filters.scope is not None:
        query = query.where(filters.scope)
    if filters.department_id is not None:
        query = query.where(Ticket.department_id == filters.department_id)
    if filters.in_triage is not None:
        query = query.where(Ticket.in_triage.is_(filters.in_triage))
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    if filters.is_open is True:
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif filters.is_open is False:
        query = query.where(Ticket.status.not_in(OPEN_STATUSES))
    if filters.assignee_id is not None:
        query = query.where(Ticket.assignee_id == filters.assignee_id)
    if filters.category_id is not None:
        query = query.where(Ticket.category_id == filters.category_id)
    if filters.customer_id is not None:
        query = query.where(Ticket.customer_id == filters.customer_id)
    if filters.opened_from is not None:
        query = query.where(Ticket.opened_at >= filters.opened_from)
    if filters.opened_until is not None:
        query = query.where(Ticket.opened_at < filters.opened_until)
    return query


def list_tickets(
    session: Session, filters: TicketFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Ticket], int]:
    """Return one page of tickets (oldest due first, then oldest opened) and the total count."""
    filters = filters or TicketFilter()
    ids = _filtered(select(Ticket), filters).with_only_columns(Ticket.id).subquery()
    count = session.scalar(select(func.count()).select_from(ids)) or 0
    rows = session.scalars(
        _filtered(select(Ticket), filters)
        .order_by(Ticket.resolution_due_at.is_(None), Ticket.resolution_due_at, Ticket.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, count


def list_messages(
    session: Session, ticket_id: int, *, include_internal: bool = True
) -> Sequence[TicketMessage]:
    """Return a ticket's thread, oldest first."""
    query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    if not include_internal:
        query = query.where(TicketMessage.is_internal.is_(False))
    return session.scalars(query.order_by(TicketMessage.sent_at, TicketMessage.id)).all()


def list_events(session: Session, ticket_id: int) -> Sequence[TicketEvent]:
    """Return a ticket's history, oldest first."""
    return session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.at, TicketEvent.id)
    ).all()


def list_decisions(session: Session, ticket_id: int) -> Sequence[PolicyDecision]:
    """Return the policy decisions taken on a ticket, oldest first."""
    return session.scalars(
        select(PolicyDecision)
        .where(PolicyDecision.ticket_id == ticket_id)
        .order_by(PolicyDecision.decided_at, PolicyDecision.id)
    ).all()


def ticket_clocks(
    session: Session, ticket: Ticket, *, now: datetime | None = None
) -> list[SlaClock]:
    """Return the ticket's SLA clocks (first response, resolution); none without a policy."""
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    if policy is None:
        return []
    return clocks_for(ticket, policy, now=now or utcnow())


def clocks_for(ticket: Ticket, policy: SlaPolicy, *, now: datetime) -> list[SlaClock]:
    """Return the clocks of ``ticket`` under ``policy`` at ``now``."""
    calendar = policy_calendar(policy)
    clocks = []
    done_resolution = (
        ticket.resolved_at
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        else None
    )
    for target, due, done in (
        ("first_response", ticket.first_response_due_at, ticket.first_responded_at),
        ("resolution", ticket.resolution_due_at, done_resolution),
    ):
        if due is None:
            continue
        clocks.append(
            sla_clock(
                target=target,
                started_at=ticket.opened_at,
                due_at=due,
                done_at=done,
                now=now,
                calendar=calendar,
                warn_at_share=policy.warn_at_share,
            )
        )
    return clocks


def ticket_quality(session: Session, ticket: Ticket, *, window_days: int) -> TicketQuality:
    """Return the three QA criteria of one ticket."""
    events = list_events(session, ticket.id)
    return assess_ticket(
        resolutions=[e.at for e in events if e.kind == "resolved"],
        reopenings=[e.at for e in events if e.kind == "reopened"],
        window_days=window_days,
        rating=ticket.rating,
        sentiment=ticket.sentiment,
        claimed=ticket.amount_claimed,
        paid=ticket.amount_paid,
        recovered=ticket.value_recovered,
    )


def labelled_tickets(session: Session) -> list[tuple[int, str, str]]:
    """Return (ticket id, text, category code) for every ticket an agent categorised.

    The text is the subject followed by the customer's first message: what the classifier
    sees for a new ticket.
    """
    from kehu.service.models import Category, CategorySource

    rows = session.execute(
        select(Ticket.id, Ticket.subject, Category.code)
        .join(Category, Category.id == Ticket.category_id)
        .where(Ticket.category_source == CategorySource.AGENT)
        .order_by(Ticket.id)
    ).all()
    firsts = first_customer_messages(session, [r[0] for r in rows])
    return [(tid, ticket_text(subject, firsts.get(tid, "")), code) for tid, subject, code in rows]


def ticket_text(subject: str, body: str) -> str:
    """Return what the classifier reads for a ticket."""
    return f"{subject}\n{body}".strip()


def first_customer_messages(session: Session, ticket_ids: Sequence[int]) -> dict[int, str]:
    """Return the first customer message of each ticket, by ticket id."""
    from kehu.service.models import AuthorKind

    result: dict[int, str] = {}
    ids = list(ticket_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for ticket_id, body in session.execute(
            select(TicketMessage.ticket_id, TicketMessage.body)
            .where(
                TicketMessage.ticket_id.in_(chunk),
                TicketMessage.author_kind == AuthorKind.CUSTOMER,
            )
            .order_by(
                TicketMessage.ticket_id, TicketMessage.sent_at.desc(), TicketMessage.id.desc()
            )
        ):
            result[ticket_id] = body  # the last write per ticket is its earliest message
    return result


def last_customer_messages(
    session: Session, ticket_ids: Sequence[int], *, n_last: int = 3
) -> dict[int, list[str]]:
    """Return up to ``n_last`` latest customer messages of each ticket (for sentiment)."""
    from kehu.service.models import AuthorKind

    result: dict[int, list[str]] = {}
    ids = list(ticket_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for ticket_id, body in session.execute(
            select(TicketMessage.ticket_id, TicketMessage.body)
            .where(
                TicketMessage.ticket_id.in_(chunk),
                TicketMessage.author_kind == AuthorKind.CUSTOMER,
            )
            .order_by(
                TicketMessage.ticket_id, TicketMessage.sent_at.desc(), TicketMessage.id.desc()
            )
        ):
            bodies = result.setdefault(ticket_id, [])
            if len(bodies) < n_last:
                bodies.append(body)
    return result
