"""Relationship playbooks: tasks, cadence, reminders, surprises, contact budget, referrals, rules.

Everyone reads and works tasks, logs what was done for a customer and records referrals;
managers change policies, the catalogue, the budget and the rules, and start runs.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from kehu import access, relations
from kehu.access import (
    access_customer_by_id,
    access_gift_by_id,
    access_referral_by_id,
    access_task_by_id,
    check_assignee,
    customer_reference,
)
from kehu.api.deps import Editor, Manager, Reader, SessionDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import MAX_ID, DbId, UtcDatetime
from kehu.core import utcnow
from kehu.jobs.relations import measure_surprise_outcomes, plan_rules, run_relations
from kehu.playbooks.rules import store_rule

router = APIRouter(prefix="/relations", tags=["relations"], route_class=ApiRoute)

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TaskCreate(_In):
    """A task opened by hand (``dedupe_key`` makes a retry harmless)."""

    customer_id: DbId
    kind: str = Field(default="follow_up", min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=300)
    owner_id: DbId | None = None
    due_at: UtcDatetime
    evidence: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=200)


class TaskClose(_In):
    """How a task ends."""

    status: Literal["done", "dismissed"] = "done"
    note: str = Field(default="", max_length=5000)


class TaskReassign(_In):
    """A task's new owner (null: nobody) and, optionally, due date."""

    owner_id: DbId | None
    due_at: UtcDatetime | None = None


class CadenceIn(_In):
    """A tier's cadence."""

    every_days: int = Field(ge=1, le=730)
    due_in_days: int = Field(default=7, ge=0, le=729)
    is_active: bool = True


class ReminderIn(_In):
    """A free service due ``after_days`` after buying a product (sku) or a category."""

    label: str = Field(min_length=1, max_length=200)
    after_days: int = Field(ge=1, le=3650)
    sku: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=200)


class SurpriseIn(_In):
    """A surprise for the catalogue."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    cost: Decimal = Field(ge=0, le=Decimal("1000000"))
    effort_minutes: int = Field(default=15, ge=0, le=1440)
    moments: list[relations.SurpriseMoment] = Field(min_length=1)
    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(default_factory=list)


class GiftMark(_In):
    """A planned surprise given or cancelled."""

    status: Literal["given", "cancelled"]
    at: UtcDatetime | None = None


class SettingsUpdate(_In):
    """Settings to change; omitted ones stay."""

    contact_budget: int | None = Field(default=None, ge=0, le=1000)
    budget_window_days: int | None = Field(default=None, ge=1, le=366)
    priorities: dict[str, int] | None = None
    wait_min_priority: int | None = Field(default=None, ge=0, le=1000)
    surprise_every_months: int | None = Field(default=None, ge=1, le=120)
    surprise_monthly_budget: Decimal | None = Field(default=None, ge=0, le=Decimal("10000000"))
    surprise_tiers: list[str] | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class ContactIn(_In):
    """A playbook asking the budget for a contact."""

    customer_id: DbId
    playbook: str = Field(min_length=1, max_length=32)
    channel: str = Field(default="", max_length=32)
    reference: str = Field(default="", max_length=128)


class TouchIn(_In):
    """Something done for a customer."""

    kind: relations.InteractionKind
    occurred_at: UtcDatetime
    channel: str = Field(default="phone", min_length=1, max_length=32)
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=20000)


class ReferralIn(_In):
    """Who brought whom."""

    referrer_id: DbId
    referred_id: DbId
    referred_on: date
    note: str = Field(default="", max_length=500)


class RuleIn(_In):
    """A rule: a condition tree, an action and its parameters (see ``/relations/rules/fields``)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    when: Any = Field(
        examples=[{"all": [["tier", "eq", "vip"], ["days_since_last_touch", "gt", 30]]}]
    )
    action: str = Field(min_length=1, max_length=64, examples=["open_task"])
    params: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(default=0, ge=-1000, le=1000)
    is_active: bool = True


class RunIn(_In):
    """A relationship run: the day the facts describe (default today) and whether to write."""

    as_of: date | None = None
    dry_run: bool = False


class PlanPublic(BaseModel):
    """An action a rule plans."""

    rule: str
    action: str
    customer_id: int
    params: dict[str, Any]
    evidence: dict[str, Any]


class PlansPublic(BaseModel):
    """What the rules would do now (nothing is changed)."""

    data: list[PlanPublic]
    count: int
    invalid_rules: list[str]


class StepPublic(BaseModel):
    """What one step of a run did."""

    n_candidates: int
    n_opened: int
    n_refreshed: int
    n_closed_before: int
    n_waited: int
    n_dropped: int
    notes: list[str]


class RunPublic(BaseModel):
    """What a relationship run did."""

    as_of: date
    dry_run: bool
    n_customers: int
    cadence: StepPublic
    service: StepPublic
    surprises: StepPublic
    rules: StepPublic


class GroupPublic(BaseModel):
    """A group's next-period figures."""

    n: int
    mean_spend: float | None
    retention: float | None


class OutcomesPublic(BaseModel):
    """Surprised customers against matched customers not surprised."""

    period_days: int
    n_given: int
    n_matured: int
    n_without_controls: int
    surprised: GroupPublic
    controls: GroupPublic
    spend_difference: float | None
    retention_difference: float | None
    verdict: str


# ----------------------------------------------------------------------------- tasks


@router.get("/tasks", response_model=relations.TasksPublic)
def read_tasks(
    session: SessionDep,
    user: Reader,
    mine: bool = False,
    owner_id: DbId | None = None,
    customer_id: DbId | None = None,
    status: Literal["open", "done", "dismissed", "all"] = "open",
    overdue: bool = False,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> relations.TasksPublic:
    """List tasks, soonest due first (``mine`` for the caller's, ``overdue`` for late ones)."""
    rows, count = relations.list_tasks(
        session,
        owner_id=user.id if mine else owner_id,
        customer_id=customer_id,
        status=None if status == "all" else status,
        overdue_at=utcnow() if overdue else None,
        kind=kind,
        limit=limit,
        offset=offset,
        where=access.task_scope(user),
    )
    return relations.TasksPublic(
        data=[relations.TaskPublic.model_validate(t) for t in rows], count=count
    )


@router.get("/tasks/dashboard", response_model=list[relations.OwnerLoadPublic])
def read_task_dashboard(session: SessionDep, user: Reader) -> list[relations.OwnerLoadPublic]:
    """Return open and overdue tasks per owner, most overdue first."""
    return [
        relations.OwnerLoadPublic.model_validate(x)
        for x in relations.task_dashboard(session, where=access.task_scope(user))
    ]


@router.post("/tasks", response_model=relations.TaskPublic, status_code=201)
def create_task(body: TaskCreate, session: SessionDep, user: Editor) -> relations.TaskPublic:
    """Open a task by hand; the same ``dedupe_key`` while it is open returns that task."""
    customer_reference(session, user, body.customer_id, field="customer_id")
    check_assignee(session, user, body.owner_id, field="owner_id")
    task = relations.open_task(
        session,
        customer_id=body.customer_id,
        kind=body.kind,
        title=body.title,
        owner_id=body.owner_id,
        due_at=body.due_at,
        evidence=body.evidence,
        dedupe_key=body.dedupe_key or f"user:{user.id}:{body.customer_id}:{body.title}"[:200],
        actor=api_actor(user),
    )
    return relations.TaskPublic.model_validate(task)


@router.post("/tasks/{task_id}/close", response_model=relations.TaskPublic)
def close_task(
    task_id: DbId, body: TaskClose, session: SessionDep, user: Editor
) -> relations.TaskPublic:
    """Mark a task done or dismissed."""
    access_task_by_id(session, user, task_id)
    task = relations.close_task(
        session, task_id, status=body.status, note=body.note, actor=api_actor(user)
    )
    return relations.TaskPublic.model_validate(task)


@router.post("/tasks/{task_id}/reassign", response_model=relations.TaskPublic)
def reassign_task(
    task_id: DbId, body: TaskReassign, session: SessionDep, user: Editor
) -> relations.TaskPublic:
    """Give an open task to another owner (and optionally a new due date)."""
    access_task_by_id(session, user, task_id)
    check_assignee(session, user, body.owner_id, field="owner_id")
    task = relations.reassign_task(
        session, task_id, owner_id=body.owner_id, due_at=body.due_at, actor=api_actor(user)
    )
    return relations.TaskPublic.model_validate(task)


# --------------------------------------------------------------------- keeping in touch


@router.get("/cadence", response_model=list[relations.CadencePolicyPublic])
def read_cadence(session: SessionDep, user: Reader) -> list[relations.CadencePolicyPublic]:
    """List the cadence policies per tier."""
    del user
    return [
        relations.CadencePolicyPublic.model_validate(p)
        for p in relations.list_cadence_policies(session)
    ]


@router.put("/cadence/{tier}", response_model=relations.CadencePolicyPublic)
def put_cadence(
    tier: Annotated[str, Path(min_length=1, max_length=16)],
    body: CadenceIn,
    session: SessionDep,
    user: Manager,
) -> relations.CadencePolicyPublic:
    """Create or change a tier's cadence (managers)."""
    policy = relations.set_cadence_policy(
        session,
        tier=tier,
        every_days=body.every_days,
        due_in_days=body.due_in_days,
        is_active=body.is_active,
        actor=api_actor(user),
    )
    return relations.CadencePolicyPublic.model_validate(policy)


@router.get("/service-reminders", response_model=list[relations.ServiceReminderPublic])
def read_reminders(session: SessionDep, user: Reader) -> list[relations.ServiceReminderPublic]:
    """List the free-service reminder rules."""
    del user
    return [
        relations.ServiceReminderPublic.model_validate(r)
        for r in relations.list_service_reminders(session)
    ]


@router.post("/service-reminders", response_model=relations.ServiceReminderPublic, status_code=201)
def create_reminder(
    body: ReminderIn, session: SessionDep, user: Manager
) -> relations.ServiceReminderPublic:
    """Add a free-service reminder for a product (sku) or a category (managers)."""
    reminder = relations.add_service_reminder(
        session,
        label=body.label,
        after_days=body.after_days,
        sku=body.sku,
        category=body.category,
        actor=api_actor(user),
    )
    return relations.ServiceReminderPublic.model_validate(reminder)


@router.delete("/service-reminders/{reminder_id}", status_code=204)
def delete_reminder(reminder_id: DbId, session: SessionDep, user: Manager) -> Response:
    """Remove a free-service reminder (its tasks stay)."""
    relations.delete_service_reminder(session, reminder_id, actor=api_actor(user))
    return Response(status_code=204)


@router.get("/customers/{customer_id}/touches", response_model=list[relations.TouchPublic])
def read_touches(
    customer_id: DbId, session: SessionDep, user: Reader, limit: Limit = 20
) -> list[relations.TouchPublic]:
    """Return what we have done for this customer lately, newest first."""
    access_customer_by_id(session, user, customer_id)
    return [
        relations.TouchPublic.model_validate(t)
        for t in relations.list_touches(session, customer_id, limit=limit)
    ]


@router.post(
    "/customers/{customer_id}/touches", response_model=relations.TouchPublic, status_code=201
)
def create_touch(
    customer_id: DbId, body: TouchIn, session: SessionDep, user: Editor
) -> relations.TouchPublic:
    """Log a contact, service, gift, fix or surprise done for a customer."""
    access_customer_by_id(session, user, customer_id)
    touch = relations.log_touch(
        session,
        customer_id=customer_id,
        kind=body.kind,
        occurred_at=body.occurred_at,
        channel=body.channel,
        subject=body.subject,
        text=body.text,
        user_id=user.id,
        actor=api_actor(user),
    )
    return relations.TouchPublic.model_validate(touch)


# -------------------------------------------------------------------------- surprises


@router.get("/surprises", response_model=list[relations.SurprisePublic])
def read_surprises(session: SessionDep, user: Reader) -> list[relations.SurprisePublic]:
    """List the surprise catalogue, cheapest first."""
    del user
    return [relations.SurprisePublic.model_validate(s) for s in relations.list_surprises(session)]


@router.post("/surprises", response_model=relations.SurprisePublic, status_code=201)
def create_surprise(
    body: SurpriseIn, session: SessionDep, user: Manager
) -> relations.SurprisePublic:
    """Add a surprise to the catalogue (managers)."""
    surprise = relations.add_surprise(
        session,
        code=body.code,
        name=body.name,
        description=body.description,
        cost=body.cost,
        effort_minutes=body.effort_minutes,
        moments=[m.value for m in body.moments],
        months=body.months,
        currency=relations.get_relation_settings(session).currency,
        actor=api_actor(user),
    )
    return relations.SurprisePublic.model_validate(surprise)


@router.get("/surprises/outcomes", response_model=OutcomesPublic)
def read_surprise_outcomes(
    session: SessionDep,
    user: Reader,
    period_days: Annotated[int, Query(ge=7, le=730)] = 90,
) -> OutcomesPublic:
    """Next-period spend and retention of surprised customers against matched ones not."""
    del user
    result = measure_surprise_outcomes(session, period_days=period_days)
    return OutcomesPublic(
        period_days=result.period_days,
        n_given=result.n_given,
        n_matured=result.n_matured,
        n_without_controls=result.n_without_controls,
        surprised=GroupPublic(**vars(result.surprised)),
        controls=GroupPublic(**vars(result.controls)),
        spend_difference=result.spend_difference,
        retention_difference=result.retention_difference,
        verdict=result.verdict,
    )


@router.get("/gifts", response_model=list[relations.GiftPublic])
def read_gifts(
    session: SessionDep,
    user: Reader,
    customer_id: DbId | None = None,
    status: relations.GiftStatus | None = None,
    limit: Limit = 50,
) -> list[relations.GiftPublic]:
    """List surprises planned and given, newest first."""
    return [
        relations.GiftPublic.model_validate(g)
        for g in relations.list_gifts(
            session,
            customer_id=customer_id,
            status=status,
            limit=limit,
            where=access.record_scope(user, relations.SurpriseGift.customer_id),
        )
    ]


@router.post("/gifts/{gift_id}/mark", response_model=relations.GiftPublic)
def mark_gift(
    gift_id: DbId, body: GiftMark, session: SessionDep, user: Editor
) -> relations.GiftPublic:
    """Mark a planned surprise given (logged as a touch) or cancelled."""
    access_gift_by_id(session, user, gift_id)
    gift = relations.mark_gift(
        session, gift_id, status=body.status, at=body.at, actor=api_actor(user)
    )
    return relations.GiftPublic.model_validate(gift)


# ----------------------------------------------------------------- settings and budget


@router.get("/settings", response_model=relations.RelationSettingsPublic)
def read_settings(session: SessionDep, user: Reader) -> relations.RelationSettingsPublic:
    """Return the contact budget, priorities and surprise limits."""
    del user
    return relations.RelationSettingsPublic.model_validate(relations.get_relation_settings(session))


@router.patch("/settings", response_model=relations.RelationSettingsPublic)
def update_settings(
    body: SettingsUpdate, session: SessionDep, user: Manager
) -> relations.RelationSettingsPublic:
    """Change the contact budget, priorities or surprise limits (managers)."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    row = relations.update_relation_settings(session, changes, actor=api_actor(user))
    return relations.RelationSettingsPublic.model_validate(row)


@router.post("/contacts", response_model=relations.VerdictPublic)
def spend_contact(body: ContactIn, session: SessionDep, user: Editor) -> relations.VerdictPublic:
    """Ask the contact budget before contacting a customer; the answer is logged."""
    customer_reference(session, user, body.customer_id, field="customer_id")
    verdict = relations.spend_contact(
        session,
        customer_id=body.customer_id,
        playbook=body.playbook,
        channel=body.channel,
        reference=body.reference,
        actor=api_actor(user),
    )
    return relations.VerdictPublic(
        customer_id=body.customer_id,
        playbook=body.playbook,
        decision=verdict.decision.value,
        priority=verdict.priority,
        reason=verdict.reason,
        remaining=verdict.remaining,
        retry_at=verdict.retry_at,
    )


@router.get("/customers/{customer_id}/ledger", response_model=list[relations.LedgerEntryPublic])
def read_ledger(
    customer_id: DbId, session: SessionDep, user: Reader, limit: Limit = 50, offset: Offset = 0
) -> list[relations.LedgerEntryPublic]:
    """Return a customer's contact-budget ledger: every request and its decision."""
    access_customer_by_id(session, user, customer_id)
    return [
        relations.LedgerEntryPublic.model_validate(e)
        for e in relations.list_ledger(session, customer_id, limit=limit, offset=offset)
    ]


# -------------------------------------------------------------------------- referrals


@router.get("/referrals", response_model=list[relations.ReferralPublic])
def read_referrals(
    session: SessionDep,
    user: Reader,
    referrer_id: DbId | None = None,
    referred_id: DbId | None = None,
) -> list[relations.ReferralPublic]:
    """List who brought whom."""
    return [
        relations.ReferralPublic.model_validate(r)
        for r in relations.list_referrals(
            session,
            referrer_id=referrer_id,
            referred_id=referred_id,
            where=access.referral_scope(user),
        )
    ]


@router.post("/referrals", response_model=relations.ReferralPublic, status_code=201)
def create_referral(
    body: ReferralIn, session: SessionDep, user: Editor
) -> relations.ReferralPublic:
    """Record that one customer brought another."""
    customer_reference(session, user, body.referrer_id, field="referrer_id")
    customer_reference(session, user, body.referred_id, field="referred_id")
    referral = relations.record_referral(
        session,
        referrer_id=body.referrer_id,
        referred_id=body.referred_id,
        referred_on=body.referred_on,
        note=body.note,
        source="api",
        actor=api_actor(user),
    )
    return relations.ReferralPublic.model_validate(referral)


@router.delete("/referrals/{referral_id}", status_code=204)
def delete_referral(referral_id: DbId, session: SessionDep, user: Editor) -> Response:
    """Delete a referral recorded by mistake."""
    access_referral_by_id(session, user, referral_id)
    relations.delete_referral(session, referral_id, actor=api_actor(user))
    return Response(status_code=204)


@router.get("/referrals/value", response_model=list[relations.ReferralValuePublic])
def read_referral_value(
    session: SessionDep, user: Reader, referrer_id: DbId | None = None
) -> list[relations.ReferralValuePublic]:
    """Return what each referrer's referred customers spent and their stored CLV."""
    values = relations.referral_values(
        session,
        None if referrer_id is None else [referrer_id],
        where=access.referral_scope(user),
    )
    return [relations.ReferralValuePublic.model_validate(v) for v in values]


# ------------------------------------------------------------------------------ rules


@router.get("/rules", response_model=list[relations.RulePublic])
def read_rules(session: SessionDep, user: Reader) -> list[relations.RulePublic]:
    """List the stored rules, highest priority first."""
    del user
    return [relations.RulePublic.model_validate(r) for r in relations.list_rules(session)]


@router.put("/rules", response_model=relations.RulePublic)
def put_rule(body: RuleIn, session: SessionDep, user: Manager) -> relations.RulePublic:
    """Create or replace a rule by name; it is validated against the whitelist first."""
    spec = store_rule(session, body.model_dump(), actor=api_actor(user))
    rule = next(r for r in relations.list_rules(session) if r.name == spec.name)
    return relations.RulePublic.model_validate(rule)


@router.post("/rules/dry-run", response_model=PlansPublic)
def dry_run_rules(
    session: SessionDep, user: Manager, body: RunIn | None = None, limit: Limit = 100
) -> PlansPublic:
    """Show what the stored rules would do now; nothing is changed."""
    del user
    plans, invalid = plan_rules(session, as_of=None if body is None else body.as_of)
    return PlansPublic(
        data=[
            PlanPublic(
                rule=p.rule,
                action=p.action,
                customer_id=p.customer_id,
                params=p.params,
                evidence=p.evidence,
            )
            for p in plans[:limit]
        ],
        count=len(plans),
        invalid_rules=[f"{name}: {why}" for name, why in invalid],
    )


@router.post("/runs", response_model=RunPublic, status_code=201)
def create_run(session: SessionDep, user: Manager, body: RunIn | None = None) -> RunPublic:
    """Run cadence, free-service reminders, surprise selection and the rules now."""
    body = body or RunIn()
    report = run_relations(session, actor=api_actor(user), as_of=body.as_of, dry_run=body.dry_run)
    if body.dry_run:
        session.rollback()

    def step(s: Any) -> StepPublic:
        return StepPublic(
            n_candidates=s.n_candidates,
            n_opened=s.n_opened,
            n_refreshed=s.n_refreshed,
            n_closed_before=s.n_closed_before,
            n_waited=s.n_waited,
            n_dropped=s.n_dropped,
            notes=s.notes,
        )

    return RunPublic(
        as_of=report.as_of,
        dry_run=report.dry_run,
        n_customers=report.n_customers,
        cadence=step(report.cadence),
        service=step(report.service),
        surprises=step(report.surprises),
        rules=step(report.rules),
    )
