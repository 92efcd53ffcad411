"""Writes on tickets: intake, routing, thread, assignment, status, corrections, outcomes.

Each operation takes the session first and a keyword ``actor``, flushes (never commits) and
writes an audit row; the ticket's own history goes to :class:`TicketEvent` as well.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kehu.audit import record
from kehu.core import Actor, ConflictError, InvalidInputError, NotFoundError, to_money, utcnow
from kehu.customers import add_identity, find_customer_by_identity, get_customer
from kehu.service.categories import category_by_code, get_category, is_leaf
from kehu.service.clocks import (
    OPEN_STATUSES,
    default_policy_id,
    due_times,
    recompute_due_times,
)
from kehu.service.errors import ServiceErrorCode
from kehu.service.models import (
    AuthorKind,
    Category,
    CategorySource,
    Outcome,
    PolicyDecision,
    SlaPolicy,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketMessage,
    TicketStatus,
)
from kehu.users import Department, User
from kehu.webhooks import emit

MAX_MESSAGE_CHARS = 100_000
MAX_SUBJECT_CHARS = 300
MAX_ATTACHMENTS = 100
#: Which status may follow which (closed is final; resolved may be reopened).
TRANSITIONS: dict[TicketStatus, set[TicketStatus]] = {
    TicketStatus.NEW: {
        TicketStatus.OPEN,
        TicketStatus.PENDING,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    },
    TicketStatus.OPEN: {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.PENDING: {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED},
    TicketStatus.RESOLVED: {TicketStatus.OPEN, TicketStatus.CLOSED},
    TicketStatus.CLOSED: set(),
}


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    """Return the ticket or raise :class:`NotFoundError`."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(
            f"There is no ticket {ticket_id}.", code=ServiceErrorCode.TICKET_NOT_FOUND
        )
    return ticket


def check_ticket_version(ticket: Ticket, expected: int | None) -> None:
    """Raise :class:`ConflictError` unless the ticket is at version ``expected`` (None: any)."""
    if expected is not None and expected != ticket.version:
        raise ConflictError(
            f"Ticket {ticket.id} was changed by someone else since you loaded it (it is at "
            f"version {ticket.version}, you sent {expected}): reload it and apply your change "
            "again.",
            code=ServiceErrorCode.STALE_TICKET,
            details={"ticket_id": ticket.id, "version": ticket.version, "expected": expected},
        )


def _bump_version(session: Session, ticket: Ticket) -> None:
    """Move the ticket to its next version if it is still at the one this session read.

    A compare-and-set: on PostgreSQL a concurrent change holds the row until it commits, then
    this UPDATE finds the old version gone and matches nothing, so the later of two agents gets
    a 409 instead of overwriting the first (no lost update). SQLite writers queue anyway.
    """
    read = ticket.version
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.version == read)
        .values(version=read + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"Ticket {ticket.id} was changed by someone else at the same time: reload it and "
            "apply your change again.",
            code=ServiceErrorCode.STALE_TICKET,
            details={"ticket_id": ticket.id, "expected": read},
        )
    set_committed_value(ticket, "version", read + 1)


def _ticket_payload(ticket: Ticket, **extra: object) -> dict[str, object]:
    """Return what a ticket's webhook events carry: ids, not the customer's words."""
    return {
        "ticket_id": ticket.id,
        "customer_id": ticket.customer_id,
        "channel": ticket.channel,
        "department_id": ticket.department_id,
        **extra,
    }


def _event(
    session: Session,
    ticket: Ticket,
    kind: str,
    old: object,
    new: object,
    *,
    actor: Actor,
    at: datetime | None = None,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            at=at or utcnow(),
            user_id=actor.user_id,
            old="" if old is None else str(old)[:128],
            new="" if new is None else str(new)[:128],
        )
    )


def clean_text(body: str, *, what: str = "message") -> str:
    """Return a message body trimmed; refuse empty and huge ones with a clear reason."""
    text = (body or "").replace("\x00", "").strip()
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInputError(
            f"The {what} has {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}. "
            "Attach long documents instead of pasting them.",
            code=ServiceErrorCode.MESSAGE_TOO_LONG,
        )
    return text


def _clean_attachments(attachments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInputError(
            f"A message may list at most {MAX_ATTACHMENTS} attachments.",
            code=ServiceErrorCode.MESSAGE_TOO_LONG,
        )
    return [
        {
            "name": str(item.get("name") or "")[:255],
            "content_type": str(item.get("content_type") or "application/octet-stream")[:127],
            "size": int(item.get("size") or 0),
        }
        for item in attachments
    ]


def customer_tier(session: Session, customer_id: int | None) -> str:
    """Return the SLA tier of a customer: their value tier when scored, else ``default``."""
    if customer_id is None:
        return "default"
    from kehu.value import get_customer_value

    try:
        return str(get_customer_value(session, customer_id).tier)
    except NotFoundError:
        return "default"


def _set_sla(session: Session, ticket: Ticket, policy_id: int | None) -> None:
    ticket.sla_policy_id = policy_id
    policy = session.get(SlaPolicy, policy_id) if policy_id is not None else None
    ticket.first_response_due_at, ticket.resolution_due_at = due_times(
        policy, tier=ticket.tier, opened_at=ticket.opened_at
    )


def _default_policy_id(session: Session) -> int | None:
    return default_policy_id(session)


def _category_policy_id(session: Session, category: Category) -> int | None:
    """Return the SLA policy of a category, inherited from the nearest ancestor that has one.

    Without one anywhere up the tree, the ``default`` policy (when it exists) applies.
    """
    node: Category | None = category
    seen: set[int] = set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        if node.sla_policy_id is not None:
            return node.sla_policy_id
        node = session.get(Category, node.parent_id) if node.parent_id is not None else None
    return _default_policy_id(session)


def _category_department_id(session: Session, category: Category) -> int | None:
    node: Category | None = category
    seen: set[int] = set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        if node.department_id is not None:
            return node.department_id
        node = session.get(Category, node.parent_id) if node.parent_id is not None else None
    return None


def _place(session: Session, ticket: Ticket, category: Category, source: CategorySource) -> None:
    ticket.category_id = category.id
    ticket.category_source = source
    ticket.in_triage = False
    department_id = _category_department_id(session, category)
    if department_id is not None:
        ticket.department_id = department_id
    _set_sla(session, ticket, _category_policy_id(session, category))


def _require_leaf(session: Session, category: Category) -> None:
    if not is_leaf(session, category):
        raise InvalidInputError(
            f"Category {category.code!r} has sub-categories; choose one of its leaves.",
            code=ServiceErrorCode.NOT_A_LEAF,
        )


def create_ticket(
    session: Session,
    *,
    body: str,
    channel: TicketChannel | str,
    actor: Actor,
    subject: str = "",
    customer_id: int | None = None,
    requester: str = "",
    external_id: str | None = None,
    category_code: str | None = None,
    order_id: int | None = None,
    opened_at: datetime | None = None,
    attachments: Sequence[dict[str, Any]] = (),
) -> Ticket:
    """Open a ticket with the customer's first message.

    The customer is the one given, else the one the requester's e-mail or phone identifies;
    an unknown requester leaves the ticket without a customer (an agent links it later), so a
    stranger's mail never creates a customer record by itself. With ``category_code`` the
    ticket is placed at once (the category is not a training label: requesters often pick
    the wrong one); without, it waits for :func:`route_ticket`.

    Raises
    ------
    InvalidInputError
        For an empty or huge message, an unknown customer, order or category.
    ConflictError
        When a ticket with ``external_id`` exists.
    """
    text = clean_text(body)
    subject = " ".join((subject or "").split())[:MAX_SUBJECT_CHARS]
    if not text and not subject:
        raise InvalidInputError(
            "The message is empty: write what the customer needs (subject or text).",
            code=ServiceErrorCode.EMPTY_MESSAGE,
        )
    try:
        channel = TicketChannel(channel)
    except ValueError as exc:
        names = ", ".join(c.value for c in TicketChannel)
        raise InvalidInputError(
            f"Unknown channel {channel!r}; use one of {names}.", code="service.bad_channel"
        ) from exc
    if external_id and session.scalar(select(Ticket.id).where(Ticket.external_id == external_id)):
        raise ConflictError(
            f"A ticket with external id {external_id!r} already exists.",
            code=ServiceErrorCode.DUPLICATE_TICKET,
        )
    if customer_id is not None:
        try:
            customer_id = get_customer(session, customer_id).id
        except NotFoundError as exc:
            raise InvalidInputError(
                f"customer_id: there is no customer {customer_id}.", code="customers.not_found"
            ) from exc
    elif requester.strip():
        kind = "email" if "@" in requester else "phone"
        try:
            customer = find_customer_by_identity(session, kind, requester)
        except InvalidInputError:
            customer = None
        customer_id = None if customer is None else customer.id
    category = category_by_code(session, category_code) if category_code else None
    if category is not None:
        _require_leaf(session, category)
    if order_id is not None:
        from kehu.commerce import get_order

        try:
            order = get_order(session, order_id)
        except NotFoundError as exc:
            raise InvalidInputError(
                f"order_id: there is no order {order_id}.", code=ServiceErrorCode.UNKNOWN_ORDER
            ) from exc
        customer_id = customer_id if customer_id is not None else order.customer_id
    opened = opened_at or utcnow()
    ticket = Ticket(
        external_id=external_id or None,
        subject=subject,
        channel=channel,
        status=TicketStatus.NEW,
        customer_id=customer_id,
        requester=requester.strip()[:320],
        order_id=order_id,
        tier=customer_tier(session, customer_id),
        opened_at=opened,
        in_triage=False,
        n_reopened=0,
        currency="GBP",
    )
    session.add(ticket)
    session.flush()
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author_kind=AuthorKind.CUSTOMER,
            body=text,
            sent_at=opened,
            attachments=_clean_attachments(attachments),
            is_internal=False,
        )
    )
    _event(session, ticket, "created", None, channel.value, actor=actor, at=opened)
    if category is not None:
        _place(session, ticket, category, CategorySource.REQUESTER)
    else:
        _set_sla(session, ticket, _default_policy_id(session))
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.create",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"ticket {ticket.id} from {channel.value}: {subject[:80]}",
    )
    emit(session, "ticket.created", _ticket_payload(ticket))
    return ticket


def route_ticket(
    session: Session,
    ticket: Ticket,
    *,
    category_code: str | None,
    confidence: float | None,
    threshold: float,
    actor: Actor,
) -> Ticket:
    """Place a ticket by the classifier's guess, or send it to triage.

    Below ``threshold`` (or for a guess that is no longer an active leaf) the ticket goes to
    the triage queue and keeps no department: a person routes it rather than the wrong team.
    A ticket an agent already categorised is left alone.
    """
    if ticket.category_source == CategorySource.AGENT:
        return ticket
    category = None
    if category_code:
        from kehu.service.categories import find_category_by_code

        category = find_category_by_code(session, category_code)
    ticket.predicted_category_id = None if category is None else category.id
    ticket.confidence = confidence
    usable = (
        category is not None
        and confidence is not None
        and confidence >= threshold
        and is_leaf(session, category)
    )
    if usable and category is not None:
        _place(session, ticket, category, CategorySource.MODEL)
        _event(session, ticket, "routed", None, category.code, actor=actor)
        emit(session, "ticket.routed", _ticket_payload(ticket, category=category.code, by="model"))
    else:
        ticket.in_triage = True
        if ticket.category_source != CategorySource.REQUESTER:
            ticket.category_id = None
            ticket.category_source = None
            ticket.department_id = None
        _event(session, ticket, "triage", None, f"{confidence or 0:.2f}", actor=actor)
    session.flush()
    return ticket


def correct_category(session: Session, ticket: Ticket, category_id: int, *, actor: Actor) -> Ticket:
    """Put a ticket in the category an agent chose; this becomes a training label.

    The ticket moves to the category's department and takes its SLA policy.
    """
    category = get_category(session, category_id)
    _require_leaf(session, category)
    _bump_version(session, ticket)
    old = ticket.category_id
    _place(session, ticket, category, CategorySource.AGENT)
    _event(session, ticket, "category", old, category.code, actor=actor)
    session.flush()
    emit(session, "ticket.routed", _ticket_payload(ticket, category=category.code, by="agent"))
    record(
        session,
        actor=actor,
        action="service.ticket.categorise",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"ticket {ticket.id} → {category.code}",
    )
    return ticket


def _sender_identity(requester: str) -> tuple[str, str] | None:
    """Return the (kind, value) identity a requester string names, or ``None``."""
    requester = requester.strip()
    if not requester:
        return None
    return ("email" if "@" in requester else "phone"), requester


def link_customer(
    session: Session,
    ticket: Ticket,
    customer_id: int,
    *,
    actor: Actor,
    remember_sender: bool = True,
) -> list[Ticket]:
    """Link a ticket to a customer; by default the sender becomes one of the customer's identities.

    With ``remember_sender`` the requester's e-mail or phone is added to the customer, so the
    next message from that sender links itself, and the sender's other tickets that no
    customer claims are linked too.

    Open tickets take the customer's tier (their value tier, else ``default``), and their SLA
    due times are recomputed for it: a VIP's stranger-looking mail gets the VIP promise once
    linked. Resolved and closed tickets keep the tier they were measured at.

    Returns
    -------
    list of Ticket
        Every ticket linked (this one first).

    Raises
    ------
    InvalidInputError
        For an unknown or merged customer, or a sender that is no valid e-mail or phone.
    ConflictError
        When the sender's identity already belongs to another customer (merge them, or link
        the ticket to that one).
    """
    try:
        customer = get_customer(session, customer_id)
    except NotFoundError as exc:
        raise InvalidInputError(
            f"customer_id: there is no customer {customer_id}.", code="customers.not_found"
        ) from exc
    if customer.merged_into_id is not None:
        raise InvalidInputError(
            f"customer_id: customer {customer.id} was merged into {customer.merged_into_id}; "
            "link the ticket to that one.",
            code="customers.merged",
        )
    tickets = [ticket]
    sender = _sender_identity(ticket.requester) if remember_sender else None
    if sender is not None:
        add_identity(session, customer, sender[0], sender[1], actor=actor, source="service")
        same_sender = session.scalars(
            select(Ticket).where(
                Ticket.customer_id.is_(None),
                Ticket.requester == ticket.requester,
                Ticket.id != ticket.id,
            )
        ).all()
        tickets.extend(sorted(same_sender, key=lambda t: t.id))
    tier = customer_tier(session, customer.id)
    retiered: list[int] = []
    for linked in tickets:
        previous = linked.customer_id
        linked.customer_id = customer.id
        _event(session, linked, "customer", previous, customer.id, actor=actor)
        if linked.status in OPEN_STATUSES and linked.tier != tier:
            _event(session, linked, "tier", linked.tier, tier, actor=actor)
            linked.tier = tier
            retiered.append(linked.id)
    session.flush()
    if retiered:
        recompute_due_times(
            session, actor=actor, ticket_ids=retiered, reason=f"customer {customer.id} linked"
        )
    record(
        session,
        actor=actor,
        action="service.ticket.link_customer",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=(
            f"ticket {ticket.id} linked to customer {customer.id}"
            + (f" with {len(tickets) - 1} more from {ticket.requester}" if len(tickets) > 1 else "")
        ),
        changes={"customer_id": customer.id, "tickets": [t.id for t in tickets]},
    )
    return tickets


def add_message(
    session: Session,
    ticket: Ticket,
    *,
    body: str,
    author_kind: AuthorKind | str,
    actor: Actor,
    user_id: int | None = None,
    is_internal: bool = False,
    attachments: Sequence[dict[str, Any]] = (),
    sent_at: datetime | None = None,
) -> TicketMessage:
    """Add a message to the thread.

    The first public agent reply stops the first-response clock; a customer writing to a
    resolved ticket reopens it.
    """
    text = clean_text(body)
    if not text and not attachments:
        raise InvalidInputError("The message is empty.", code=ServiceErrorCode.EMPTY_MESSAGE)
    author_kind = AuthorKind(author_kind)
    if ticket.status == TicketStatus.CLOSED:
        raise ConflictError(
            f"Ticket {ticket.id} is closed; open a new ticket instead.",
            code=ServiceErrorCode.BAD_TRANSITION,
        )
    at = sent_at or utcnow()
    message = TicketMessage(
        ticket_id=ticket.id,
        author_kind=author_kind,
        user_id=user_id,
        body=text,
        is_internal=is_internal,
        sent_at=at,
        attachments=_clean_attachments(attachments),
    )
    session.add(message)
    if author_kind == AuthorKind.AGENT and not is_internal:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = at
        if ticket.status == TicketStatus.NEW:
            _change_status(session, ticket, TicketStatus.OPEN, actor=actor, at=at)
    elif author_kind == AuthorKind.CUSTOMER and ticket.status == TicketStatus.RESOLVED:
        _change_status(session, ticket, TicketStatus.OPEN, actor=actor, at=at)
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.message",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"{author_kind.value} message on ticket {ticket.id}",
    )
    return message


def _change_status(
    session: Session, ticket: Ticket, status: TicketStatus, *, actor: Actor, at: datetime
) -> None:
    old = ticket.status
    if status == old:
        return
    if status not in TRANSITIONS[TicketStatus(old)]:
        raise ConflictError(
            f"Ticket {ticket.id} is {old}; it cannot become {status.value}.",
            code=ServiceErrorCode.BAD_TRANSITION,
        )
    if old == TicketStatus.RESOLVED and status == TicketStatus.OPEN:
        ticket.n_reopened += 1
        _event(session, ticket, "reopened", old, status.value, actor=actor, at=at)
    elif status == TicketStatus.RESOLVED:
        ticket.resolved_at = at
        _event(session, ticket, "resolved", old, status.value, actor=actor, at=at)
        emit(session, "ticket.resolved", _ticket_payload(ticket, resolved_at=at))
    else:
        _event(session, ticket, "status", old, status.value, actor=actor, at=at)
    ticket.status = status


def set_ticket_status(
    session: Session,
    ticket: Ticket,
    status: TicketStatus | str,
    *,
    actor: Actor,
    at: datetime | None = None,
) -> Ticket:
    """Move a ticket to another status (resolving records the time; closed is final)."""
    try:
        status = TicketStatus(status)
    except ValueError as exc:
        names = ", ".join(s.value for s in TicketStatus)
        raise InvalidInputError(
            f"Unknown status {status!r}; use one of {names}.", code=ServiceErrorCode.BAD_TRANSITION
        ) from exc
    _bump_version(session, ticket)
    old = ticket.status
    _change_status(session, ticket, status, actor=actor, at=at or utcnow())
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.status",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"ticket {ticket.id}: {old} → {status.value}",
    )
    return ticket


def assign_ticket(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    department_id: int | None = None,
    assignee_id: int | None = None,
) -> Ticket:
    """Give a ticket to a department and/or an agent (an agent brings their department)."""
    _bump_version(session, ticket)
    if department_id is not None and session.get(Department, department_id) is None:
        raise InvalidInputError(
            f"department_id: there is no department {department_id}.",
            code=ServiceErrorCode.UNKNOWN_DEPARTMENT,
        )
    if assignee_id is not None:
        user = session.get(User, assignee_id)
        if user is None or not user.is_active:
            raise InvalidInputError(
                f"assignee_id: there is no active user {assignee_id}.",
                code=ServiceErrorCode.UNKNOWN_USER,
            )
        if department_id is None and user.department_id is not None:
            department_id = user.department_id
        _event(session, ticket, "assignee", ticket.assignee_id, assignee_id, actor=actor)
        ticket.assignee_id = assignee_id
    if department_id is not None:
        _event(session, ticket, "department", ticket.department_id, department_id, actor=actor)
        ticket.department_id = department_id
        ticket.in_triage = False
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.assign",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"ticket {ticket.id}: department {department_id}, agent {assignee_id}",
    )
    return ticket


def _money(value: Decimal | str | float | None, name: str) -> Decimal | None:
    if value is None:
        return None
    amount = to_money(value)
    if amount < 0:
        raise InvalidInputError(f"{name} cannot be negative.", code="service.bad_amount")
    return amount


def record_outcome(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    rating: int | None = None,
    outcome: Outcome | str | None = None,
    outcome_amount: Decimal | str | None = None,
    amount_claimed: Decimal | str | None = None,
    amount_paid: Decimal | str | None = None,
    value_recovered: Decimal | str | None = None,
) -> Ticket:
    """Record what the QA criteria read: the customer's rating and the money involved.

    Omitted values are left as they are. When no claimed amount is given and the ticket is
    about an order, the order's total is the amount at stake.
    """
    _bump_version(session, ticket)
    if rating is not None:
        if not 1 <= rating <= 5:
            raise InvalidInputError("rating must be 1 to 5.", code=ServiceErrorCode.BAD_RATING)
        ticket.rating = rating
    if outcome is not None:
        ticket.outcome = Outcome(outcome)
    if outcome_amount is not None:
        ticket.outcome_amount = _money(outcome_amount, "outcome_amount")
    if amount_claimed is not None:
        ticket.amount_claimed = _money(amount_claimed, "amount_claimed")
    elif (
        ticket.amount_claimed is None
        and ticket.order_id is not None
        and (amount_paid is not None or value_recovered is not None)
    ):
        from kehu.commerce import get_order

        ticket.amount_claimed = abs(get_order(session, ticket.order_id).total)
    if amount_paid is not None:
        ticket.amount_paid = _money(amount_paid, "amount_paid")
    if value_recovered is not None:
        ticket.value_recovered = _money(value_recovered, "value_recovered")
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.outcome",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"ticket {ticket.id} outcome",
    )
    return ticket


def record_policy_decision(
    session: Session,
    ticket: Ticket,
    *,
    rule_code: str,
    rule_text: str,
    outcome: Outcome | str,
    steps: Sequence[str],
    reply: str,
    actor: Actor,
    amount: Decimal | str | None = None,
) -> PolicyDecision:
    """Record a decision on a request the policy limits, and send the customer the reply.

    The same rule (code) must keep the same wording for everyone: a rule whose text differs
    from its earlier uses is refused. At least one step taken must be listed, and the reply
    the customer gets ends with those steps, so they see what was tried.
    """
    rule_code = (rule_code or "").strip()[:64]
    rule_text = (rule_text or "").strip()
    clean_steps = [s.strip()[:500] for s in steps if s and s.strip()]
    if not rule_code:
        raise InvalidInputError("Name the rule applied (rule_code).", code="service.no_rule")
    if not clean_steps:
        raise InvalidInputError(
            "List at least one step taken to try to help before deciding.",
            code=ServiceErrorCode.NO_STEPS,
        )
    earlier = session.scalar(
        select(PolicyDecision.rule_text).where(PolicyDecision.rule_code == rule_code).limit(1)
    )
    if earlier is not None and rule_text and earlier != rule_text:
        raise ConflictError(
            f"Rule {rule_code!r} was applied before with different wording; the same rule "
            "applies to everyone. Use the earlier text or a new rule code.",
            code=ServiceErrorCode.RULE_REWORDED,
        )
    rule_text = rule_text or (earlier or "")
    outcome = Outcome(outcome)
    tried = "\n".join(f"{i}. {step}" for i, step in enumerate(clean_steps, start=1))
    full_reply = f"{clean_text(reply, what='reply')}\n\nWhat we tried:\n{tried}".strip()
    decision = PolicyDecision(
        ticket_id=ticket.id,
        rule_code=rule_code,
        rule_text=rule_text,
        outcome=outcome,
        amount=_money(amount, "amount"),
        steps=clean_steps,
        reply=full_reply,
        decided_by_id=actor.user_id,
        decided_at=utcnow(),
    )
    session.add(decision)
    ticket.outcome = outcome
    ticket.outcome_amount = decision.amount
    add_message(
        session,
        ticket,
        body=full_reply,
        author_kind=AuthorKind.AGENT,
        actor=actor,
        user_id=actor.user_id,
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.decision",
        object_type="service_ticket",
        object_id=ticket.id,
        summary=f"ticket {ticket.id}: {outcome.value} under {rule_code}",
    )
    return decision


def set_ticket_sentiments(session: Session, scores: dict[int, float], *, actor: Actor) -> int:
    """Store P(positive) of each ticket's latest customer messages (read by QA perception)."""
    for ticket_id, score in scores.items():
        ticket = session.get(Ticket, ticket_id)
        if ticket is not None:
            ticket.sentiment = min(max(float(score), 0.0), 1.0)
    session.flush()
    record(
        session,
        actor=actor,
        action="service.ticket.sentiment",
        object_type="service_ticket",
        summary=f"sentiment of {len(scores)} tickets",
    )
    return len(scores)
