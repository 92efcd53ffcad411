"""Service desk console: queues, a ticket page, a new-ticket form and the manager dashboard.

Queues are per department, plus triage (tickets the classifier was not sure of). Managers
also keep the category tree (CSV import, all or nothing; add, rename, move, retire; each
leaf's department, SLA policy and versioned canonical answer) and the SLA policies.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from kehu import access, service
from kehu.access import access_ticket_by_id
from kehu.core import InvalidInputError, Settings
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
        scope=access.ticket_scope(user),
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

    def act() -> service.Ticket:
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
        return ticket

    ticket = attempt(request, db, "/service/new", act)
    if isinstance(ticket, Response):
        # attempt() rolled back and flashed the reason; the form comes back with what was
        # typed (a redirect would lose it), and the flash shows on it.
        form = {"body": body[:5000], "subject": subject, "requester": requester}
        return render(
            request,
            "service/new.html",
            {"leaves": _leaf_choices(db), "form": form, "nav": "service"},
            status_code=422,
        )
    db.commit()
    flash(request, "success", "Ticket {id} was opened.", id=ticket.id)
    return RedirectResponse(f"/service/tickets/{ticket.id}", status_code=303)


@router.get("/service/tickets/{ticket_id}", dependencies=[Depends(current_user)])
def ticket_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    customer_q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Show a ticket: thread, suggested category and answer, SLA clocks, actions.

    A ticket from an unknown sender offers a customer search (``customer_q``) to link it.
    """
    ticket = access_ticket_by_id(db, user, ticket_id)
    settings = _settings(request)
    paths = service.category_paths(db)
    answer = service.find_canonical_answer(db, ticket.category_id or ticket.predicted_category_id)
    customer = None
    if ticket.customer_id is not None:
        from kehu.customers import get_customer

        customer = get_customer(db, ticket.customer_id)
    found: list[Any] = []
    if customer is None and customer_q.strip():
        found = access.find_customers_to_link(db, user, customer_q, limit=10)
    return render(
        request,
        "service/ticket.html",
        {
            "ticket": ticket,
            "customer": customer,
            "customer_q": customer_q,
            "found_customers": found,
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


Done = str | Callable[[Any], tuple[str, dict[str, Any]]]


def _submit(
    request: Request, db: Session, back: str, action: Callable[[], Any], done: Done
) -> Response:
    """Run a form's action: commit and flash ``done``, or (on a clear error) flash the reason.

    Either way the browser goes back to ``back``. ``done`` is the success message, or a
    function of the action's result returning (message, its parameters).
    """
    result = attempt(request, db, back, action)
    if isinstance(result, Response):
        return result
    db.commit()
    message, params = (done, {}) if isinstance(done, str) else done(result)
    flash(request, "success", message, **params)
    return RedirectResponse(back, status_code=303)


def _ticket_back(ticket: service.Ticket) -> str:
    return f"/service/tickets/{ticket.id}"


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
    ticket = access_ticket_by_id(db, user, ticket_id)
    return _submit(
        request,
        db,
        _ticket_back(ticket),
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
    ticket = access_ticket_by_id(db, user, ticket_id)
    return _submit(
        request,
        db,
        _ticket_back(ticket),
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
    ticket = access_ticket_by_id(db, user, ticket_id)
    return _submit(
        request,
        db,
        _ticket_back(ticket),
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
    ticket = access_ticket_by_id(db, user, ticket_id)

    def act() -> None:
        try:
            agent = int(assignee_id) if assignee_id else None
            team = int(department_id) if department_id else None
        except ValueError as exc:
            raise InvalidInputError("Choose an agent or a department from the list.") from exc
        if agent is None and team is None:
            raise InvalidInputError("Choose an agent or a department.")
        access.check_assignee(db, user, agent, field="assignee_id")
        service.assign_ticket(
            db, ticket, assignee_id=agent, department_id=team, actor=user_actor(user)
        )

    return _submit(request, db, _ticket_back(ticket), act, "The ticket was assigned.")


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
    ticket = access_ticket_by_id(db, user, ticket_id)

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

    return _submit(request, db, _ticket_back(ticket), act, "The decision was recorded and sent.")


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
    ticket = access_ticket_by_id(db, user, ticket_id)
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

    return _submit(
        request, db, _ticket_back(ticket), act, "A new version of the canonical answer was saved."
    )


@router.get("/service/dashboard")
def dashboard(request: Request, db: DbSession, user: Manager) -> Response:
    """Show what grows, SLA breaches and warnings, QA per agent and team, contradictions."""
    scope = access.ticket_scope(user)
    settings = _settings(request)
    top, rising = service.category_trends(db)
    quality = service.quality_report(db, window_days=settings.service_reopen_window_days)
    return render(
        request,
        "service/dashboard.html",
        {
            "top": top,
            "rising": rising,
            "alerts": service.sla_alerts(db, where=scope)[:50],
            "quality_agents": [r for r in quality if r.group == "agent"],
            "quality_teams": [r for r in quality if r.group == "team"],
            "contradictions": service.contradicting_outcomes(db, where=scope),
            "sizes": service.queue_sizes(db),
            "nav": "service-dashboard",
        },
    )


# ---------------------------------------------------------------- linking unknown senders


@router.post("/service/tickets/{ticket_id}/customer", dependencies=[Depends(verify_csrf)])
def link_customer(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    ticket_id: TicketId,
    customer_id: Annotated[str, Form(max_length=20)] = "",
    remember_sender: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Link a ticket from an unknown sender to a customer (and remember the sender)."""
    ticket = access_ticket_by_id(db, user, ticket_id)

    def act() -> list[service.Ticket]:
        try:
            chosen = int(customer_id)
        except ValueError as exc:
            raise InvalidInputError("Choose the customer from the search results.") from exc
        return service.link_customer(
            db, ticket, chosen, remember_sender=bool(remember_sender), actor=user_actor(user)
        )

    def done(linked: list[service.Ticket]) -> tuple[str, dict[str, Any]]:
        if len(linked) > 1:
            return (
                "The ticket and {n} more from the same sender were linked to the customer.",
                {"n": len(linked) - 1},
            )
        return "The ticket was linked to the customer.", {}

    return _submit(request, db, _ticket_back(ticket), act, done)


# ---------------------------------------------------------------- category tree (admins)

CategoryId = Annotated[int, Path(ge=1, le=MAX_ID)]
PolicyId = Annotated[int, Path(ge=1, le=MAX_ID)]
CATEGORIES = "/service/categories"
POLICIES = "/service/sla-policies"


def _tree_rows(db: Session) -> list[dict[str, Any]]:
    """Return every category (retired ones too) with its path, leaf flag and current answer."""
    paths = service.category_paths(db)
    leaves = service.leaf_ids(db)
    answers = service.current_answer_versions(db)
    return sorted(
        (
            {
                "category": c,
                "path": paths.get(c.id, c.name),
                "is_leaf": c.id in leaves,
                "answer_version": answers.get(c.id),
            }
            for c in service.list_categories(db, include_inactive=True)
        ),
        key=lambda row: (not row["category"].is_active, row["path"]),
    )


def _choices(db: Session) -> dict[str, Any]:
    departments = list_departments(db)
    policies = service.list_sla_policies(db)
    return {
        "departments": departments,
        "department_codes": {d.id: d.code for d in departments},
        "policies": policies,
        "policy_codes": {p.id: p.code for p in policies},
    }


@router.get(CATEGORIES)
def categories_page(request: Request, db: DbSession, user: Manager) -> Response:
    """Show the category tree with its departments, SLA policies and answers; add or import."""
    del user
    rows = _tree_rows(db)
    return render(
        request,
        "service/categories.html",
        {
            "rows": rows,
            "parents": [r for r in rows if r["category"].is_active],
            "columns": service.CSV_COLUMNS,
            **_choices(db),
            "nav": "service",
        },
    )


@router.post(CATEGORIES, dependencies=[Depends(verify_csrf)])
def add_category(
    request: Request,
    db: DbSession,
    user: Manager,
    code: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    parent_code: Annotated[str, Form(max_length=200)] = "",
    department_code: Annotated[str, Form(max_length=200)] = "",
    sla_policy_code: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a category (a leaf, under ``parent_code`` if given)."""
    category = attempt(
        request,
        db,
        CATEGORIES,
        lambda: service.create_category(
            db,
            code=code,
            name=name,
            parent_code=parent_code or None,
            department_code=department_code or None,
            sla_policy_code=sla_policy_code or None,
            actor=user_actor(user),
        ),
    )
    if isinstance(category, Response):
        return category
    db.commit()
    flash(request, "success", "Category {code} was added.", code=category.code)
    return RedirectResponse(f"{CATEGORIES}/{category.id}", status_code=303)


@router.post(f"{CATEGORIES}/import", dependencies=[Depends(verify_csrf)])
def import_categories(
    request: Request,
    db: DbSession,
    user: Manager,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import the tree from CSV, all or nothing; the report lists every row that failed."""
    data = b"" if file is None else file.file.read(service.MAX_CSV_BYTES + 1)
    if not data.strip():
        flash(request, "error", "Choose a CSV file to import.")
        return RedirectResponse(CATEGORIES, status_code=303)
    report = attempt(
        request,
        db,
        CATEGORIES,
        lambda: service.import_categories_csv(
            db, data, actor=user_actor(user), all_or_nothing=True
        ),
    )
    if isinstance(report, Response):
        return report
    if report.applied:
        db.commit()
    else:
        db.rollback()
    return render(
        request,
        "service/category_import.html",
        {
            "report": report,
            "filename": "" if file is None else file.filename,
            "nav": "service",
        },
        status_code=200 if report.applied else 422,
    )


@router.get(f"{CATEGORIES}/{{category_id}}")
def category_page(
    request: Request, db: DbSession, user: Manager, category_id: CategoryId
) -> Response:
    """Show one category: rename, move, department, SLA policy, retire, canonical answer."""
    del user
    category = service.get_category(db, category_id)
    rows = _tree_rows(db)
    below = service.descendant_ids(db, category.id)
    return render(
        request,
        "service/category.html",
        {
            "category": category,
            "path": next(r["path"] for r in rows if r["category"].id == category.id),
            "is_leaf": next(r["is_leaf"] for r in rows if r["category"].id == category.id),
            "parents": [
                r
                for r in rows
                if r["category"].is_active
                and r["category"].id != category.id
                and r["category"].id not in below
            ],
            "parent_code": next(
                (r["category"].code for r in rows if r["category"].id == category.parent_id), ""
            ),
            "versions": service.list_answer_versions(db, category.id),
            "inherited": service.find_canonical_answer(db, category.parent_id),
            **_choices(db),
            "nav": "service",
        },
    )


@router.post(f"{CATEGORIES}/{{category_id}}", dependencies=[Depends(verify_csrf)])
def edit_category(
    request: Request,
    db: DbSession,
    user: Manager,
    category_id: CategoryId,
    name: Annotated[str, Form(max_length=400)] = "",
    parent_code: Annotated[str, Form(max_length=200)] = "",
    department_code: Annotated[str, Form(max_length=200)] = "",
    sla_policy_code: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Rename, move, or set the department and SLA policy of a category."""
    category = service.get_category(db, category_id)
    return _submit(
        request,
        db,
        f"{CATEGORIES}/{category.id}",
        lambda: service.update_category(
            db,
            category,
            name=name,
            parent_code=parent_code or None,
            department_code=department_code or None,
            sla_policy_code=sla_policy_code or None,
            actor=user_actor(user),
        ),
        "The category was saved.",
    )


@router.post(f"{CATEGORIES}/{{category_id}}/active", dependencies=[Depends(verify_csrf)])
def set_category_active(
    request: Request,
    db: DbSession,
    user: Manager,
    category_id: CategoryId,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Retire a category (its tickets keep it; nothing new is routed to it) or bring it back."""
    category = service.get_category(db, category_id)
    is_active = active == "1"
    return _submit(
        request,
        db,
        f"{CATEGORIES}/{category.id}",
        lambda: service.update_category(db, category, is_active=is_active, actor=user_actor(user)),
        "The category is active again." if is_active else "The category was retired.",
    )


@router.post(f"{CATEGORIES}/{{category_id}}/answer", dependencies=[Depends(verify_csrf)])
def save_category_answer(
    request: Request,
    db: DbSession,
    user: Manager,
    category_id: CategoryId,
    body: Annotated[str, Form(max_length=40_000)] = "",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Save a new version of the category's canonical answer (earlier versions are kept)."""
    category = service.get_category(db, category_id)
    return _submit(
        request,
        db,
        f"{CATEGORIES}/{category.id}",
        lambda: service.set_canonical_answer(
            db, category, body=body, note=note, author_id=user.id, actor=user_actor(user)
        ),
        "A new version of the canonical answer was saved.",
    )


# ---------------------------------------------------------------- SLA policies (admins)


def _policy_form(policy: service.SlaPolicy | None) -> dict[str, str]:
    if policy is None:
        return {
            "code": "",
            "name": "",
            "timezone": "UTC",
            "business_hours": "1 09:00-18:00\n2 09:00-18:00\n3 09:00-18:00\n"
            "4 09:00-18:00\n5 09:00-18:00",
            "holidays": "",
            "targets": "default 240 2880",
            "warn_at_share": "0.8",
        }
    return {
        "code": policy.code,
        "name": policy.name,
        "timezone": policy.timezone,
        "business_hours": service.format_business_hours(policy.business_hours),
        "holidays": "\n".join(policy.holidays),
        "targets": service.format_targets(policy.targets),
        "warn_at_share": f"{policy.warn_at_share:g}",
    }


def _policy_page(
    request: Request,
    db: Session,
    policy: service.SlaPolicy | None,
    form: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "service/sla_policies.html",
        {
            "policies": service.list_sla_policies(db),
            "policy": policy,
            "form": form,
            "nav": "service",
        },
        status_code=status_code,
    )


@router.get(POLICIES)
def sla_policies_page(request: Request, db: DbSession, user: Manager) -> Response:
    """List the SLA policies, with a form for a new one."""
    del user
    return _policy_page(request, db, None, _policy_form(None))


@router.get(f"{POLICIES}/{{policy_id}}")
def sla_policy_page(
    request: Request, db: DbSession, user: Manager, policy_id: PolicyId
) -> Response:
    """Show an SLA policy's form: hours, holidays, targets per tier, warning share."""
    del user
    policy = service.get_sla_policy(db, policy_id)
    return _policy_page(request, db, policy, _policy_form(policy))


def _save_policy(
    request: Request,
    db: Session,
    user: Any,
    policy: service.SlaPolicy | None,
    form: dict[str, str],
) -> Response:
    def act() -> service.SlaPolicy:
        try:
            share = float(form["warn_at_share"]) if form["warn_at_share"].strip() else None
        except ValueError as exc:
            raise InvalidInputError(
                "Warn at share must be a number between 0 and 1, e.g. 0.8."
            ) from exc
        return service.save_sla_policy(
            db,
            code=form["code"],
            name=form["name"] or None,
            timezone=form["timezone"].strip() or "UTC",
            business_hours=service.parse_business_hours(form["business_hours"]),
            holidays=[d.strip() for d in form["holidays"].splitlines() if d.strip()],
            targets=service.parse_targets(form["targets"]),
            warn_at_share=share,
            policy=policy,
            actor=user_actor(user),
        )

    back = POLICIES if policy is None else f"{POLICIES}/{policy.id}"
    saved = attempt(request, db, back, act)
    if isinstance(saved, Response):
        # The reason is flashed; the form comes back with what was typed.
        return _policy_page(request, db, policy, form, status_code=422)
    db.commit()
    flash(request, "success", "SLA policy {code} was saved.", code=saved.code)
    return RedirectResponse(f"{POLICIES}/{saved.id}", status_code=303)


class PolicyForm(BaseModel):
    """The SLA policy form's fields, as typed (parsed and checked when saved)."""

    code: str = Field("", max_length=200)
    name: str = Field("", max_length=200)
    timezone: str = Field("UTC", max_length=64)
    business_hours: str = Field("", max_length=2000)
    holidays: str = Field("", max_length=20_000)
    targets: str = Field("", max_length=5000)
    warn_at_share: str = Field("", max_length=20)


@router.post(POLICIES, dependencies=[Depends(verify_csrf)])
def create_sla_policy(
    request: Request, db: DbSession, user: Manager, form: Annotated[PolicyForm, Form()]
) -> Response:
    """Create an SLA policy from the form."""
    return _save_policy(request, db, user, None, form.model_dump())


@router.post(f"{POLICIES}/{{policy_id}}", dependencies=[Depends(verify_csrf)])
def edit_sla_policy(
    request: Request,
    db: DbSession,
    user: Manager,
    policy_id: PolicyId,
    form: Annotated[PolicyForm, Form()],
) -> Response:
    """Change an SLA policy; open tickets' due times follow it (kept promises stay as they were)."""
    policy = service.get_sla_policy(db, policy_id)
    return _save_policy(request, db, user, policy, {**form.model_dump(), "code": policy.code})
