"""Service desk: tickets and threads, categories, canonical answers, SLA policies, reports."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session

from kehu import access, service
from kehu.access import access_ticket_by_id, check_assignee, customer_reference
from kehu.api.deps import Manager, Reader, SessionDep, SettingsDep, api_actor, require_roles
from kehu.api.errors import ApiRoute
from kehu.api.preconditions import ExpectedVersion
from kehu.api.schemas import MAX_ID, DbId
from kehu.core import InvalidInputError, NotFoundError, Settings, utcnow
from kehu.ingest.email import import_mail
from kehu.jobs.service import category_model_path, route_new_tickets, train_category_model
from kehu.service import schemas as s
from kehu.users import Role, User

router = APIRouter(prefix="/service", tags=["service"], route_class=ApiRoute)

#: Who works tickets (status, assignment, categories, outcomes, decisions, mail import).
SERVICE_ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT)
Agent = Annotated[User, Depends(require_roles(*SERVICE_ROLES))]


def _detail(session: Session, ticket: service.Ticket, settings: Settings) -> s.TicketDetail:
    paths = service.category_paths(session)
    answer = service.find_canonical_answer(
        session, ticket.category_id or ticket.predicted_category_id
    )
    quality = service.ticket_quality(
        session, ticket, window_days=settings.service_reopen_window_days
    )
    return s.TicketDetail(
        ticket=s.TicketPublic.model_validate(ticket),
        category_path=paths.get(ticket.category_id) if ticket.category_id else None,
        predicted_category_path=(
            paths.get(ticket.predicted_category_id) if ticket.predicted_category_id else None
        ),
        messages=[
            s.MessagePublic.model_validate(m) for m in service.list_messages(session, ticket.id)
        ],
        suggested_answer=None if answer is None else s.AnswerPublic.model_validate(answer),
        clocks=[
            s.ClockPublic.model_validate(c, from_attributes=True)
            for c in service.ticket_clocks(session, ticket)
        ],
        decisions=[
            s.DecisionPublic.model_validate(d) for d in service.list_decisions(session, ticket.id)
        ],
        quality=s.QualityPublic(
            solved=quality.solved,
            perception=quality.perception,
            perception_source=quality.perception_source,
            loss_reduced=quality.loss_reduced,
        ),
    )


# ---------------------------------------------------------------- tickets


def _unchanged(ticket: service.Ticket, version: int | None) -> service.Ticket:
    """Return the ticket if it is at the ``If-Match`` version (409 otherwise)."""
    service.check_ticket_version(ticket, version)
    return ticket


@router.post("/tickets", response_model=s.TicketDetail, status_code=201)
def create_ticket(
    body: s.TicketCreate, session: SessionDep, settings: SettingsDep, user: Reader
) -> s.TicketDetail:
    """Open a ticket; unless ``route`` is false or a category is given, classify and route it.

    Without a trained classifier (or below the confidence threshold) the ticket waits in the
    triage queue.
    """
    actor = api_actor(user)
    if body.customer_id is not None:
        customer_reference(session, user, body.customer_id, field="customer_id")
    ticket = service.create_ticket(
        session,
        body=body.body,
        subject=body.subject,
        channel=body.channel,
        customer_id=body.customer_id,
        requester=body.requester,
        external_id=body.external_id,
        category_code=body.category_code,
        order_id=body.order_id,
        attachments=[a.model_dump() for a in body.attachments],
        actor=actor,
    )
    if body.route and body.category_code is None:
        route_new_tickets(session, [ticket.id], settings=settings, actor=actor)
    return _detail(session, ticket, settings)


@router.get("/tickets", response_model=s.TicketsPublic)
def read_tickets(
    session: SessionDep,
    user: Reader,
    department_id: DbId | None = None,
    queue: Annotated[
        str | None, Query(pattern="^(triage|open|done)$", description="triage, open or done")
    ] = None,
    status: service.TicketStatus | None = None,
    assignee_id: DbId | None = None,
    category_id: DbId | None = None,
    customer_id: DbId | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> s.TicketsPublic:
    """List tickets of a queue (a department, triage, an agent...), the most urgent first."""
    filters = service.TicketFilter(
        department_id=department_id,
        in_triage=True if queue == "triage" else None,
        is_open=True if queue in ("triage", "open") else (False if queue == "done" else None),
        status=status,
        assignee_id=assignee_id,
        category_id=category_id,
        customer_id=customer_id,
        scope=access.ticket_scope(user),
    )
    rows, count = service.list_tickets(session, filters, limit=limit, offset=offset)
    return s.TicketsPublic(data=[s.TicketPublic.model_validate(t) for t in rows], count=count)


@router.get("/tickets/{ticket_id}", response_model=s.TicketDetail)
def read_ticket(
    ticket_id: DbId, session: SessionDep, settings: SettingsDep, user: Reader
) -> s.TicketDetail:
    """Return a ticket with its thread, suggested answer, SLA clocks, decisions and quality."""
    return _detail(session, access_ticket_by_id(session, user, ticket_id), settings)


@router.post("/tickets/{ticket_id}/messages", response_model=s.MessagePublic, status_code=201)
def add_message(
    ticket_id: DbId, body: s.MessageCreate, session: SessionDep, user: Reader
) -> s.MessagePublic:
    """Add a message to the thread (an agent's reply, a note, or the customer's words)."""
    ticket = access_ticket_by_id(session, user, ticket_id)
    message = service.add_message(
        session,
        ticket,
        body=body.body,
        author_kind=body.author_kind,
        is_internal=body.is_internal,
        attachments=[a.model_dump() for a in body.attachments],
        user_id=user.id if body.author_kind == service.AuthorKind.AGENT else None,
        actor=api_actor(user),
    )
    return s.MessagePublic.model_validate(message)


@router.post("/tickets/{ticket_id}/assign", response_model=s.TicketPublic)
def assign_ticket(
    ticket_id: DbId,
    body: s.AssignRequest,
    session: SessionDep,
    user: Agent,
    version: ExpectedVersion,
) -> s.TicketPublic:
    """Give a ticket to a department and/or an agent."""
    if body.department_id is None and body.assignee_id is None:
        raise InvalidInputError("Give department_id, assignee_id or both.")
    check_assignee(session, user, body.assignee_id, field="assignee_id")
    ticket = service.assign_ticket(
        session,
        _unchanged(access_ticket_by_id(session, user, ticket_id), version),
        department_id=body.department_id,
        assignee_id=body.assignee_id,
        actor=api_actor(user),
    )
    return s.TicketPublic.model_validate(ticket)


@router.post("/tickets/{ticket_id}/status", response_model=s.TicketPublic)
def set_status(
    ticket_id: DbId,
    body: s.StatusRequest,
    session: SessionDep,
    user: Agent,
    version: ExpectedVersion,
) -> s.TicketPublic:
    """Move a ticket to another status (409 for a move that is not allowed)."""
    ticket = service.set_ticket_status(
        session,
        _unchanged(access_ticket_by_id(session, user, ticket_id), version),
        body.status,
        actor=api_actor(user),
    )
    return s.TicketPublic.model_validate(ticket)


@router.post("/tickets/{ticket_id}/category", response_model=s.TicketPublic)
def correct_category(
    ticket_id: DbId,
    body: s.CategoryRequest,
    session: SessionDep,
    user: Agent,
    version: ExpectedVersion,
) -> s.TicketPublic:
    """Put a ticket in a leaf category; the choice becomes a training label."""
    try:
        category = service.get_category(session, body.category_id)
    except NotFoundError as exc:
        raise InvalidInputError(f"category_id: {exc.message}", code=exc.code) from exc
    ticket = service.correct_category(
        session,
        _unchanged(access_ticket_by_id(session, user, ticket_id), version),
        category.id,
        actor=api_actor(user),
    )
    return s.TicketPublic.model_validate(ticket)


@router.post("/tickets/{ticket_id}/customer", response_model=s.LinkCustomerPublic)
def link_customer(
    ticket_id: DbId, body: s.LinkCustomerRequest, session: SessionDep, user: Agent
) -> s.LinkCustomerPublic:
    """Link a ticket from an unknown sender to a customer (409 if the sender is another's).

    With ``remember_sender`` (default) the sender's e-mail or phone becomes the customer's
    identity, so their next message links itself, and their other unlinked tickets follow.
    """
    linked = service.link_customer(
        session,
        access_ticket_by_id(session, user, ticket_id),
        body.customer_id,
        remember_sender=body.remember_sender,
        actor=api_actor(user),
    )
    return s.LinkCustomerPublic(
        ticket=s.TicketPublic.model_validate(linked[0]),
        linked_ticket_ids=[t.id for t in linked],
    )


@router.post("/tickets/{ticket_id}/outcome", response_model=s.TicketPublic)
def record_outcome(
    ticket_id: DbId,
    body: s.OutcomeRequest,
    session: SessionDep,
    user: Agent,
    version: ExpectedVersion,
) -> s.TicketPublic:
    """Record the customer's rating and the money involved (what QA reads)."""
    ticket = service.record_outcome(
        session,
        _unchanged(access_ticket_by_id(session, user, ticket_id), version),
        actor=api_actor(user),
        **body.model_dump(exclude_none=True),
    )
    return s.TicketPublic.model_validate(ticket)


@router.post("/tickets/{ticket_id}/decisions", response_model=s.DecisionPublic, status_code=201)
def record_decision(
    ticket_id: DbId, body: s.DecisionCreate, session: SessionDep, user: Agent
) -> s.DecisionPublic:
    """Record a policy decision with its rule and steps; the reply sent lists the steps."""
    decision = service.record_policy_decision(
        session,
        access_ticket_by_id(session, user, ticket_id),
        rule_code=body.rule_code,
        rule_text=body.rule_text,
        outcome=body.outcome,
        amount=body.amount,
        steps=body.steps,
        reply=body.reply,
        actor=api_actor(user),
    )
    return s.DecisionPublic.model_validate(decision)


class MailImportPublic(BaseModel):
    """What an e-mail import did (errors and warnings name the message and its line)."""

    filename: str
    n_messages: int
    n_created: int
    n_duplicates: int
    n_matched_customers: int
    n_routed: int
    n_triage: int
    ticket_ids: list[int]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


@router.post("/mail", response_model=MailImportPublic)
def import_mail_file(
    session: SessionDep,
    settings: SettingsDep,
    user: Agent,
    file: Annotated[UploadFile, File(description="An .eml file or an mbox archive.")],
) -> MailImportPublic:
    """Turn each message of an .eml or mbox file into a ticket and route it."""
    limit = settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError(
            f"The file is larger than {limit // (1024 * 1024)} MB; split the archive.",
            code="service.file_too_large",
        )
    actor = api_actor(user)
    report = import_mail(session, data, filename=file.filename or "mail", actor=actor)
    routed = route_new_tickets(session, report.ticket_ids, settings=settings, actor=actor)
    return MailImportPublic(
        filename=report.filename,
        n_messages=report.n_messages,
        n_created=report.n_created,
        n_duplicates=report.n_duplicates,
        n_matched_customers=report.n_matched_customers,
        n_routed=routed.n_routed,
        n_triage=routed.n_triage,
        ticket_ids=report.ticket_ids,
        errors=[vars(e) for e in report.errors],
        warnings=[vars(w) for w in report.warnings],
    )


# ---------------------------------------------------------------- categories and answers


def _category_public(
    category: service.Category, leaves: set[int], paths: dict[int, str]
) -> s.CategoryPublic:
    public = s.CategoryPublic.model_validate(category)
    public.is_leaf = category.id in leaves
    public.path = paths.get(category.id, category.name)
    return public


@router.get("/categories", response_model=s.CategoriesPublic)
def read_categories(
    session: SessionDep, user: Reader, include_inactive: bool = False
) -> s.CategoriesPublic:
    """Return the category tree, flat, by code (``is_leaf`` marks the routable ones)."""
    del user
    rows = service.list_categories(session, include_inactive=include_inactive)
    leaves, paths = service.leaf_ids(session), service.category_paths(session)
    return s.CategoriesPublic(
        data=[_category_public(c, leaves, paths) for c in rows], count=len(rows)
    )


@router.post("/categories", response_model=s.CategoryPublic, status_code=201)
def create_category(body: s.CategoryCreate, session: SessionDep, user: Manager) -> s.CategoryPublic:
    """Add a category to the tree."""
    category = service.create_category(session, actor=api_actor(user), **body.model_dump())
    return _category_public(category, service.leaf_ids(session), service.category_paths(session))


@router.patch("/categories/{category_id}", response_model=s.CategoryPublic)
def update_category(
    category_id: DbId, body: s.CategoryUpdate, session: SessionDep, user: Manager
) -> s.CategoryPublic:
    """Change a category (``is_active: false`` retires it; its tickets keep it).

    A new SLA policy or parent recomputes the due times of open tickets in it and below it.
    """
    category = service.update_category(
        session,
        service.get_category(session, category_id),
        actor=api_actor(user),
        **body.model_dump(exclude_unset=True),
    )
    return _category_public(category, service.leaf_ids(session), service.category_paths(session))


@router.post("/categories/import", response_model=s.CategoryImportPublic)
def import_categories(
    session: SessionDep,
    settings: SettingsDep,
    user: Manager,
    file: Annotated[
        UploadFile, File(description="CSV: code,name,parent_code,department_code,sla_policy_code")
    ],
    all_or_nothing: Annotated[
        bool, Query(description="Write nothing if any row has a problem (applied: false)")
    ] = False,
) -> s.CategoryImportPublic:
    """Create or update categories from CSV; rows that cannot load are reported by line."""
    data = file.file.read(settings.max_upload_bytes + 1)
    report = service.import_categories_csv(
        session, data, actor=api_actor(user), all_or_nothing=all_or_nothing
    )
    return s.CategoryImportPublic(
        n_rows=report.n_rows,
        n_created=report.n_created,
        n_updated=report.n_updated,
        errors=[s.RowErrorPublic(line=e.line, message=e.message) for e in report.errors],
        applied=report.applied,
    )


@router.get("/categories/{category_id}/answers", response_model=s.AnswersPublic)
def read_answers(category_id: DbId, session: SessionDep, user: Reader) -> s.AnswersPublic:
    """Return every version of a category's canonical answer, newest (current) first."""
    del user
    service.get_category(session, category_id)
    rows = service.list_answer_versions(session, category_id)
    return s.AnswersPublic(data=[s.AnswerPublic.model_validate(a) for a in rows], count=len(rows))


@router.post("/categories/{category_id}/answers", response_model=s.AnswerPublic, status_code=201)
def set_answer(
    category_id: DbId, body: s.AnswerCreate, session: SessionDep, user: Manager
) -> s.AnswerPublic:
    """Store a new version of the category's canonical answer (earlier ones are kept)."""
    answer = service.set_canonical_answer(
        session,
        service.get_category(session, category_id),
        body=body.body,
        note=body.note,
        author_id=user.id,
        actor=api_actor(user),
    )
    return s.AnswerPublic.model_validate(answer)


# ---------------------------------------------------------------- SLA policies


@router.get("/sla-policies", response_model=s.SlaPoliciesPublic)
def read_sla_policies(session: SessionDep, user: Reader) -> s.SlaPoliciesPublic:
    """Return every SLA policy."""
    del user
    rows = service.list_sla_policies(session)
    return s.SlaPoliciesPublic(
        data=[s.SlaPolicyPublic.model_validate(p) for p in rows], count=len(rows)
    )


@router.post("/sla-policies", response_model=s.SlaPolicyPublic, status_code=201)
def create_sla_policy(
    body: s.SlaPolicyCreate, session: SessionDep, user: Manager
) -> s.SlaPolicyPublic:
    """Create an SLA policy (targets in business minutes per tier)."""
    policy = service.save_sla_policy(session, actor=api_actor(user), **body.model_dump())
    return s.SlaPolicyPublic.model_validate(policy)


@router.patch("/sla-policies/{policy_id}", response_model=s.SlaPolicyPublic)
def update_sla_policy(
    policy_id: DbId, body: s.SlaPolicyUpdate, session: SessionDep, user: Manager
) -> s.SlaPolicyPublic:
    """Change an SLA policy; open tickets under it get their due times recomputed.

    A first response already given keeps its due time; resolved and closed tickets stay as
    they were measured.
    """
    policy = service.get_sla_policy(session, policy_id)
    policy = service.save_sla_policy(
        session,
        code=policy.code,
        policy=policy,
        actor=api_actor(user),
        **body.model_dump(exclude_none=True),
    )
    return s.SlaPolicyPublic.model_validate(policy)


# ---------------------------------------------------------------- reports and the model


class TrendPublic(BaseModel):
    """A category's tickets this period and the one before, with sample messages."""

    category_id: int
    code: str
    path: str
    n_this: int
    n_last: int
    growth: float | None
    samples: list[tuple[int, str]]


class TrendsPublic(BaseModel):
    """Top categories this period against the last, and the rising ones."""

    since: datetime
    top: list[TrendPublic]
    rising: list[TrendPublic]


@router.get("/reports/trends", response_model=TrendsPublic)
def read_trends(
    session: SessionDep, user: Manager, days: Annotated[int, Query(ge=1, le=365)] = 7
) -> TrendsPublic:
    """Return the top categories of the last ``days`` against the period before, and rising ones.

    Each comes with sample messages; drill down with GET /service/tickets?category_id=.
    """
    del user
    top, rising = service.category_trends(session, days=days)
    return TrendsPublic(
        since=utcnow() - timedelta(days=days),
        top=[TrendPublic(**vars(t)) for t in top],
        rising=[TrendPublic(**vars(t)) for t in rising],
    )


class ContradictionPublic(BaseModel):
    """A category whose tickets ended differently."""

    category_id: int
    code: str
    path: str
    outcomes: dict[str, int]
    amounts: list[str]
    tickets: list[tuple[int, str, str | None]]


@router.get("/reports/contradictions", response_model=list[ContradictionPublic])
def read_contradictions(session: SessionDep, user: Manager) -> list[ContradictionPublic]:
    """List categories whose tickets ended with contradicting outcomes.

    Approved for some and refused for others, or approved with different amounts.
    """
    return [
        ContradictionPublic(**vars(c))
        for c in service.contradicting_outcomes(session, where=access.ticket_scope(user))
    ]


class SlaAlertPublic(BaseModel):
    """An SLA warning, breach or missed promise."""

    ticket_id: int
    subject: str
    department_id: int | None
    target: str
    state: service.ClockState
    due_at: datetime
    used_share: float


@router.get("/reports/sla", response_model=list[SlaAlertPublic])
def read_sla_report(session: SessionDep, user: Manager) -> list[SlaAlertPublic]:
    """List SLA breaches, missed promises (last 30 days) and warnings, worst first."""
    return [
        SlaAlertPublic(**vars(a))
        for a in service.sla_alerts(session, where=access.ticket_scope(user))
    ]


class QualityRowPublic(BaseModel):
    """The three QA criteria for an agent or a team over one ISO week."""

    group: str
    group_id: int | None
    name: str
    week: str
    n_tickets: int
    n_judged: int
    solved_share: float | None
    perception: float | None
    n_perception: int
    loss_reduced: str


@router.get("/reports/quality", response_model=list[QualityRowPublic])
def read_quality_report(
    session: SessionDep,
    settings: SettingsDep,
    user: Manager,
    weeks: Annotated[int, Query(ge=1, le=104)] = 8,
) -> list[QualityRowPublic]:
    """Return solved share, perception and loss reduced per agent and team per week."""
    del user
    rows = service.quality_report(
        session, window_days=settings.service_reopen_window_days, weeks=weeks
    )
    return [QualityRowPublic(**{**vars(r), "loss_reduced": str(r.loss_reduced)}) for r in rows]


class TrainPublic(BaseModel):
    """What training did."""

    n_labels: int
    n_categories: int
    path: str
    seconds: float


@router.post("/models/categories", response_model=TrainPublic)
def train_categories(session: SessionDep, settings: SettingsDep, user: Manager) -> TrainPublic:
    """Retrain the category classifier on every ticket an agent categorised (422 when too few)."""
    report = train_category_model(
        session, path=category_model_path(settings), actor=api_actor(user)
    )
    return TrainPublic(**vars(report))
