"""Service desk console: queues, a ticket page, a new-ticket form and the manager dashboard.

Queues are per department, plus triage (tickets the classifier was not sure of).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from kehu import service
from kehu.core import InvalidInputError, KehuError, Settings
from kehu.jobs.service import route_new_tickets
from kehu.users import list_departments, list_users, user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, Manager, current_user
from kehu.web.rendering import attempt, flash, render

router = APIRouter()

PAGE_SIZE = 25
MAX_ID = 2**63 - 1
QUEUES = ("open", "triage", "mine", "done")
TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _n_pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _leaf_choices(db: Session) -> list[tuple[int, str, str]]:
    """Return (id, code, path) of every leaf category, by path."""
    paths = service.category_paths(db)
    leaves = service.leaf_ids(db)
    return sorted(
        ((c.id, c.code, paths[c.id]) for c in service.list_categories(db) if c.id in leaves),
        key=lambda item: item[2],
    )


@router.get("/service", dependencies=[Depends(current_user)])
def queue(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    department: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    queue: Annotated[str, Query(max_length=16)] = "open",
    category: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Show a queue: open tickets of a department, triage, the user's own, or done ones."""
    queue = queue if queue in QUEUES else "open"
    if department is None and queue == "open" and category is None and user.department_id:
        department = user.department_id
    filters = service.TicketFilter(
        department_id=department if queue != "triage" else None,
        in_triage=True if queue == "triage" else None,
        is_open=queue != "done",
        assignee_id=user.id if queue == "mine" else None,
        category_id=category,
    )
    rows, total = service.list_tickets(db, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    clocks = {t.id: service.ticket_clocks(db, t) for t in rows}
    return render(
        request,
        "service/queue.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "n_pages": _n_pages(total),
            "queue": queue,
            "department": department,
            "category": category,
            "departments": list_departments(db),
            "sizes": service.queue_sizes(db),
            "paths": service.category_paths(db),
            "clocks": clocks,
            "nav": "service",
        },
    )


@router.get("/service/new", dependencies=[Depends(current_user)])
def new_ticket_form(request: Request, db: DbSession) -> Response:
    """Show the form that opens a ticket for a customer (a call, a visit, a letter)."""
    return render(
        request,
        "service/new.html",
        {"leaves": _leaf_choices(db), "form": {}, "nav": "service"},
    )


@router.post("/service/new", dependencies=[Depends(verify_csrf)])
def create_ticket(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    body: Annotated[str, Form(max_length=200_000)] = "",
    subject: Annotated[str, Form(max_length=1000)] = "",
    requester: Annotated[str, Form(max_length=320)] = "",
    channel: Annotated[str, Form(max_length=16)] = "console",
    category_code: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Open a ticket from the form and route it; a problem shows the form again with the reason."""
    actor = user_actor(user)
    try:
        ticket = service.create_ticket(
            db,
            body=body,
            subject=subject,
            requester=requester,
            channel=channel or "console",
            category_code=category_code or None,
            actor=actor,
        )
        if not category_code:
            route_new_tickets(db, [ticket.id], settings=_settings(request), actor=actor)
    except KehuError as exc:
        db.rollback()
        form = {"body": body[:5000], "subject": subject, "requester": requester}
        return render(
            request,
            "service/new.html",
            {"leaves": _leaf_choices(db), "form": form, "error": exc.message, "nav": "service"},
            status_code=exc.status_code,
        )
    db.commit()
    flash(request, "success", "Ticket {id} was opened.", id=ticket.id)
    return RedirectResponse(f"/service/tickets/{ticket.id}", status_code=303)


@router.get("/service/tickets/{ticket_id}", dependencies=[Depends(current_user)])
def ticket_page(request: Request, db: DbSession, ticket_id: TicketId) -> Response:
    """Show a ticket: thread, suggested category and answer, SLA clocks, actions."""
    ticket = service.get_ticket(db, ticket_id)
    settings = _settings(request)
    paths = service.category_paths(db)
    answer = service.find_canonical_answer(db, ticket.category_id or ticket.predicted_category_id)
    customer = None
    if ticket.customer_id is not None:
        from kehu.customers import get_customer

        customer = get_customer(db, ticket.customer_id)
    return render(
        request,
        "service/ticket.html",
        {
            "ticket": ticket,
            "customer": customer,
            "messages": service.list_messages(db, ticket.id),
            "events": service.list_events(db, ticket.id),
            "decisions": service.list_decisions(db, ticket.id),
            "clocks": service.ticket_clocks(db, ticket),
            "quality": service.ticket_quality(
                db, ticket, window_days=settings.service_reopen_window_days
            ),
            "answer": answer,
            "answer_versions": (
                service.list_answer_versions(db, answer.category_id) if answer else []
            ),
            "paths": paths,
            "leaves": _leaf_choices(db),
            "departments": list_departments(db),
            "agents": [u for u in list_users(db) if u.is_active],
            "statuses": [s.value for s in service.TicketStatus],
            "outcomes": [o.value for o in service.Outcome],
            "nav": "service",
        },
    )


def _act(request: Request, db: Session, ticket_id: int, action: Any, done: str) -> Response:
    back = f"/service/tickets/{ticket_id}"
    if not isinstance(attempt(request, db, back, action), Response):
        db.commit()
        flash(request, "success", done)
    return RedirectResponse(back, status_code=303)


@router.post("/service/tickets/{ticket_id}/reply", dependencies=[Depends(verify_csrf)])
def reply(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    body: Annotated[str, Form(max_length=200_000)] = "",
    is_internal: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Send a reply (or add an internal note) to a ticket."""
    ticket = service.get_ticket(db, ticket_id)
    return _act(
        request,
        db,
        ticket.id,
        lambda: service.add_message(
            db,
            ticket,
            body=body,
            author_kind=service.AuthorKind.AGENT,
            is_internal=bool(is_internal),
            user_id=user.id,
            actor=user_actor(user),
        ),
        "The message was added.",
    )


@router.post("/service/tickets/{ticket_id}/status", dependencies=[Depends(verify_csrf)])
def set_status(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    """Move a ticket to another status."""
    ticket = service.get_ticket(db, ticket_id)
    return _act(
        request,
        db,
        ticket.id,
        lambda: service.set_ticket_status(db, ticket, status, actor=user_actor(user)),
        "The status was changed.",
    )


@router.post("/service/tickets/{ticket_id}/category", dependencies=[Depends(verify_csrf)])
def set_category(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    category_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    """Put the ticket in a category (the correction becomes a training label)."""
    ticket = service.get_ticket(db, ticket_id)
    return _act(
        request,
        db,
        ticket.id,
        lambda: service.correct_category(db, ticket, category_id, actor=user_actor(user)),
        "The category was set; it will teach the classifier.",
    )


@router.post("/service/tickets/{ticket_id}/assign", dependencies=[Depends(verify_csrf)])
def assign(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    assignee_id: Annotated[str, Form(max_length=20)] = "",
    department_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give the ticket to an agent and/or a department."""
    ticket = service.get_ticket(db, ticket_id)

    def act() -> None:
        try:
            agent = int(assignee_id) if assignee_id else None
            team = int(department_id) if department_id else None
        except ValueError as exc:
            raise InvalidInputError("Choose an agent or a department from the list.") from exc
        if agent is None and team is None:
            raise InvalidInputError("Choose an agent or a department.")
        service.assign_ticket(
            db, ticket, assignee_id=agent, department_id=team, actor=user_actor(user)
        )

    return _act(request, db, ticket.id, act, "The ticket was assigned.")


@router.post("/service/tickets/{ticket_id}/decision", dependencies=[Depends(verify_csrf)])
def decide(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    rule_code: Annotated[str, Form(max_length=64)] = "",
    rule_text: Annotated[str, Form(max_length=5000)] = "",
    outcome: Annotated[str, Form(max_length=16)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    steps: Annotated[str, Form(max_length=10_000)] = "",
    reply_text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Record a policy decision; the reply sent lists the steps tried."""
    ticket = service.get_ticket(db, ticket_id)

    def act() -> None:
        if outcome not in {o.value for o in service.Outcome}:
            raise InvalidInputError("Choose the outcome of the decision.")
        service.record_policy_decision(
            db,
            ticket,
            rule_code=rule_code,
            rule_text=rule_text,
            outcome=outcome,
            amount=amount or None,
            steps=steps.splitlines(),
            reply=reply_text,
            actor=user_actor(user),
        )

    return _act(request, db, ticket.id, act, "The decision was recorded and sent.")


@router.post("/service/tickets/{ticket_id}/answer", dependencies=[Depends(verify_csrf)])
def save_answer(
    request: Request,
    db: DbSession,
    user: Manager,
    ticket_id: TicketId,
    body: Annotated[str, Form(max_length=40_000)] = "",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Save a new version of the canonical answer of the ticket's category (managers)."""
    ticket = service.get_ticket(db, ticket_id)
    category_id = ticket.category_id or ticket.predicted_category_id

    def act() -> None:
        if category_id is None:
            raise InvalidInputError("Put the ticket in a category first.")
        service.set_canonical_answer(
            db,
            service.get_category(db, category_id),
            body=body,
            note=note,
            author_id=user.id,
            actor=user_actor(user),
        )

    return _act(request, db, ticket.id, act, "A new version of the canonical answer was saved.")


@router.get("/service/dashboard")
def dashboard(request: Request, db: DbSession, user: Manager) -> Response:
    """Show what grows, SLA breaches and warnings, QA per agent and team, contradictions."""
    del user
    settings = _settings(request)
    top, rising = service.category_trends(db)
    quality = service.quality_report(db, window_days=settings.service_reopen_window_days)
    return render(
        request,
        "service/dashboard.html",
        {
            "top": top,
            "rising": rising,
            "alerts": service.sla_alerts(db)[:50],
            "quality_agents": [r for r in quality if r.group == "agent"],
            "quality_teams": [r for r in quality if r.group == "team"],
            "contradictions": service.contradicting_outcomes(db),
            "sizes": service.queue_sizes(db),
            "nav": "service-dashboard",
        },
    )
