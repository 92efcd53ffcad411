"""Tickets' SLA due times: set when a ticket is placed, recomputed set-wise when inputs change.

A ticket's promises depend on its SLA policy (the category's own, else the nearest ancestor's,
else the ``default`` policy), the policy's targets for the ticket's tier, its business hours,
time zone and holidays, and when the ticket was opened. :func:`recompute_due_times` brings the
open tickets (new, open, pending) in line after any of these changed: a policy edited, a
category given another policy or moved under another parent, a CSV import, a customer linked
(which may change the tier). It reads the affected tickets in one statement, the category tree
and the policies in one each, and writes the changed rows in one bulk UPDATE plus one INSERT of
their ``sla`` events: no statement per ticket. Promises already kept (a first response given)
keep their due time, so met or missed stays what it was.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, insert, or_, select, update
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.core import Actor, utcnow
from kehu.service.models import Category, SlaPolicy, Ticket, TicketEvent, TicketStatus
from kehu.service.sla import BusinessCalendar, add_business_minutes

#: The SLA policy of tickets whose category sets none (and of tickets waiting in triage), so
#: that every ticket has a clock once such a policy exists.
DEFAULT_SLA_POLICY = "default"
#: Statuses whose clocks still run (and so follow a changed policy).
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
#: Ids per ``IN (...)`` list (SQLite allows 32,766 bound parameters in one statement).
_CHUNK = 5_000


def policy_calendar(policy: SlaPolicy) -> BusinessCalendar:
    """Return the business calendar of a policy."""
    return BusinessCalendar.from_config(
        timezone=policy.timezone, business_hours=policy.business_hours, holidays=policy.holidays
    )


def due_times(
    policy: SlaPolicy | None,
    *,
    tier: str,
    opened_at: datetime,
    calendar: BusinessCalendar | None = None,
) -> tuple[datetime | None, datetime | None]:
    """Return (first response due, resolution due) of a ticket under ``policy`` for ``tier``.

    A tier the policy names no targets for gets the ``default`` targets; no policy, no clock.
    """
    if policy is None:
        return None, None
    targets = policy.targets.get(tier) or policy.targets.get("default") or {}
    calendar = calendar or policy_calendar(policy)
    first = targets.get("first_response_minutes")
    resolution = targets.get("resolution_minutes")
    return (
        add_business_minutes(opened_at, first, calendar) if first else None,
        add_business_minutes(opened_at, resolution, calendar) if resolution else None,
    )


def default_policy_id(session: Session) -> int | None:
    """Return the id of the ``default`` SLA policy, if there is one."""
    return session.scalar(select(SlaPolicy.id).where(SlaPolicy.code == DEFAULT_SLA_POLICY))


def effective_policy_ids(session: Session) -> dict[int, int | None]:
    """Return each category's SLA policy id: its own, the nearest ancestor's, else the default."""
    rows = session.execute(select(Category.id, Category.parent_id, Category.sla_policy_id)).all()
    parent = {int(cid): pid for cid, pid, _ in rows}
    own = {int(cid): policy for cid, _, policy in rows}
    fallback = default_policy_id(session)
    found: dict[int, int | None] = {}
    for start in parent:
        chain: list[int] = []
        node: int | None = start
        result: int | None = fallback
        while node is not None and node not in chain:
            if node in found:
                result = found[node]
                break
            chain.append(node)
            if own.get(node) is not None:
                result = own[node]
                break
            node = parent.get(node)
        for visited in chain:
            found[visited] = result
    return found


def subtree_ids(session: Session, category_ids: Iterable[int]) -> set[int]:
    """Return these categories and every category below them (one read of the tree)."""
    children: dict[int, list[int]] = {}
    for cid, parent_id in session.execute(select(Category.id, Category.parent_id)).all():
        if parent_id is not None:
            children.setdefault(int(parent_id), []).append(int(cid))
    found: set[int] = set()
    stack = [int(c) for c in category_ids]
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(children.get(node, []))
    return found


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    values = sorted(set(ids))
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _in(column: Any, ids: Iterable[int]) -> list[ColumnElement[bool]]:
    return [column.in_(chunk) for chunk in _chunks(ids)]


def recompute_due_times(
    session: Session,
    *,
    actor: Actor,
    policy_ids: Iterable[int] = (),
    category_ids: Iterable[int] = (),
    ticket_ids: Iterable[int] = (),
    reason: str = "",
) -> int:
    """Recompute the SLA policy and due times of open tickets after their inputs changed.

    The open tickets looked at are those under one of ``policy_ids`` (plus those without a
    policy when the ``default`` policy is among them), in one of ``category_ids`` or below, and
    those named by ``ticket_ids``. Each gets its category's effective policy (tickets without a
    category: the default policy) and due times from that policy for its tier. Only tickets
    whose policy or due times change are written; each gets an ``sla`` event.

    Returns
    -------
    int
        How many tickets changed.
    """
    session.flush()
    policy_ids, ticket_ids = set(policy_ids), set(ticket_ids)
    categories = subtree_ids(session, category_ids) if category_ids else set()
    fallback = default_policy_id(session)
    conditions: list[ColumnElement[bool]] = [
        *_in(Ticket.sla_policy_id, policy_ids),
        *_in(Ticket.category_id, categories),
        *_in(Ticket.id, ticket_ids),
    ]
    if fallback is not None and fallback in policy_ids:
        conditions.append(Ticket.sla_policy_id.is_(None))
    if not conditions:
        return 0
    tickets = session.execute(
        select(
            Ticket.id,
            Ticket.category_id,
            Ticket.sla_policy_id,
            Ticket.tier,
            Ticket.opened_at,
            Ticket.first_responded_at,
            Ticket.first_response_due_at,
            Ticket.resolution_due_at,
        ).where(Ticket.status.in_([s.value for s in OPEN_STATUSES]), or_(false(), *conditions))
    ).all()
    if not tickets:
        return 0
    effective = effective_policy_ids(session)
    wanted = {
        (effective.get(t.category_id, t.sla_policy_id) if t.category_id is not None else fallback)
        for t in tickets
    }
    policies = {
        p.id: p
        for chunk in _chunks(pid for pid in wanted if pid is not None)
        for p in session.scalars(select(SlaPolicy).where(SlaPolicy.id.in_(chunk)))
    }
    calendars = {pid: policy_calendar(policy) for pid, policy in policies.items()}
    changes: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    now = utcnow()
    for t in tickets:
        policy_id = (
            effective.get(t.category_id, t.sla_policy_id) if t.category_id is not None else fallback
        )
        policy = policies.get(policy_id) if policy_id is not None else None
        first, resolution = due_times(
            policy,
            tier=t.tier,
            opened_at=t.opened_at,
            calendar=calendars.get(policy_id) if policy_id is not None else None,
        )
        if t.first_responded_at is not None:
            first = t.first_response_due_at  # a kept (or missed) promise stays as it was
        if (policy_id, first, resolution) == (
            t.sla_policy_id,
            t.first_response_due_at,
            t.resolution_due_at,
        ):
            continue
        changes.append(
            {
                "id": t.id,
                "sla_policy_id": policy_id,
                "first_response_due_at": first,
                "resolution_due_at": resolution,
            }
        )
        events.append(
            {
                "ticket_id": t.id,
                "kind": "sla",
                "at": now,
                "user_id": actor.user_id,
                "old": _when(t.resolution_due_at),
                "new": _when(resolution),
            }
        )
    if not changes:
        return 0
    session.execute(update(Ticket), changes)
    session.execute(insert(TicketEvent), events)
    changed = {row["id"] for row in changes}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Ticket) and obj.id in changed:
            session.expire(obj, ["sla_policy_id", "first_response_due_at", "resolution_due_at"])
    record(
        session,
        actor=actor,
        action="service.ticket.sla_recompute",
        object_type="service_ticket",
        summary=f"due times of {len(changes)} open tickets recomputed"
        + (f" ({reason})" if reason else ""),
        changes={"tickets": sorted(changed)[:1000], "n_tickets": len(changes)},
    )
    return len(changes)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="minutes")


def retier_open_tickets(
    session: Session, *, actor: Actor, customer_ids: Iterable[int] | None = None
) -> int:
    """Give open tickets their customer's current value tier and re-time the ones that changed.

    For a value analysis that moved customers between tiers (a new VIP gets the VIP promise on
    the tickets they already have open). Set-wise: one read of open tickets with their
    customer's tier, one bulk UPDATE, one INSERT of ``tier`` events, then
    :func:`recompute_due_times` for the changed ones. ``customer_ids`` limits it to some
    customers; customers without scores are ``default``.

    Returns
    -------
    int
        How many tickets changed tier.
    """
    from kehu.value.models import CustomerValue

    query = (
        select(Ticket.id, Ticket.tier, CustomerValue.tier)
        .outerjoin(CustomerValue, CustomerValue.customer_id == Ticket.customer_id)
        .where(
            Ticket.customer_id.is_not(None),
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if customer_ids is not None:
        ids = list(customer_ids)
        if not ids:
            return 0
        query = query.where(or_(false(), *_in(Ticket.customer_id, ids)))
    session.flush()
    rows = [
        (int(tid), old, str(new or "default"))
        for tid, old, new in session.execute(query).all()
        if old != str(new or "default")
    ]
    if not rows:
        return 0
    now = utcnow()
    session.execute(update(Ticket), [{"id": tid, "tier": new} for tid, _, new in rows])
    session.execute(
        insert(TicketEvent),
        [
            {
                "ticket_id": tid,
                "kind": "tier",
                "at": now,
                "user_id": actor.user_id,
                "old": old,
                "new": new,
            }
            for tid, old, new in rows
        ],
    )
    changed = {tid for tid, _, _ in rows}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Ticket) and obj.id in changed:
            session.expire(obj, ["tier"])
    recompute_due_times(session, actor=actor, ticket_ids=changed, reason="customer tiers")
    return len(rows)
