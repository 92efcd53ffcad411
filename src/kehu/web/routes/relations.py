"""Relationship playbooks in the console: tasks, cadence, surprises, rules, referrals, 360 panel."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from kehu import access, relations
from kehu.core import InvalidInputError, NotFoundError, utcnow
from kehu.customers import Customer
from kehu.jobs.relations import measure_surprise_outcomes, plan_rules, run_relations
from kehu.playbooks.rules import FIELDS, OPERATORS, registered_actions, store_rule
from kehu.users import User, list_users, user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, Manager, current_user
from kehu.web.rendering import attempt, flash, render

router = APIRouter()

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
_CSRF = [Depends(verify_csrf)]


def _users(db: Session) -> dict[int, User]:
    return {u.id: u for u in list_users(db)}


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    found = (
        dict(
            db.execute(select(Customer.id, Customer.name).where(Customer.id.in_(sorted(ids)))).all()
        )
        if ids
        else {}
    )
    return {i: found.get(i) or f"#{i}" for i in ids}


def _submit(
    request: Request, db: Session, back: str, action: Callable[[], object], done: str = ""
) -> Response:
    """Run a form's operation; flash ``done`` (when given) and go back, or flash the error."""
    outcome = attempt(request, db, back, action)
    if isinstance(outcome, Response):
        return outcome
    if done:
        flash(request, "success", done)
    return RedirectResponse(back, status_code=303)


def _rules_context(db: Session, **extra: Any) -> dict[str, Any]:
    """Return what the rules page shows: rules, fields, operators, actions (and ``extra``)."""
    return {
        "rules": relations.list_rules(db),
        "fields": FIELDS,
        "operators": OPERATORS,
        "actions": registered_actions(),
        "plans": None,
        "nav": "relations",
        **extra,
    }


# ------------------------------------------------------------------------------ tasks


@router.get("/relations")
def tasks_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    mine: Annotated[str, Query(max_length=8)] = "",
    overdue: Annotated[str, Query(max_length=8)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """Show open and overdue tasks per owner, and the task list (mine, overdue, by kind)."""
    now = utcnow()
    rows, total = relations.list_tasks(
        db,
        owner_id=user.id if mine else None,
        overdue_at=now if overdue else None,
        kind=kind or None,
        limit=100,
        where=access.task_scope(user),
    )
    return render(
        request,
        "relations/tasks.html",
        {
            "loads": relations.task_dashboard(db, now=now, where=access.task_scope(user)),
            "rows": rows,
            "total": total,
            "mine": bool(mine),
            "overdue": bool(overdue),
            "kind": kind,
            "now": now,
            "users": _users(db),
            "names": _names(db, {t.customer_id for t in rows}),
            "nav": "relations",
        },
    )


@router.post("/relations/tasks/{task_id}/close", dependencies=_CSRF)
def close_task(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    task_id: Id,
    status: Annotated[str, Form(max_length=16)] = "done",
    note: Annotated[str, Form(max_length=5000)] = "",
    back: Annotated[str, Form(max_length=300)] = "/relations",
) -> Response:
    """Mark a task done or dismissed."""
    access.access_task_by_id(db, user, task_id)
    back = back if back.startswith("/") and not back.startswith("//") else "/relations"
    return _submit(
        request,
        db,
        back,
        lambda: relations.close_task(db, task_id, status=status, note=note, actor=user_actor(user)),
        done="Task closed.",
    )


@router.post("/relations/tasks/{task_id}/reassign", dependencies=_CSRF)
def reassign_task(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    task_id: Id,
    owner_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give an open task to another owner (empty: nobody)."""
    access.access_task_by_id(db, user, task_id)

    def action() -> object:
        owner = int(owner_id) if owner_id.strip().isdigit() else None
        access.check_assignee(db, user, owner, field="owner_id")
        return relations.reassign_task(db, task_id, owner_id=owner, actor=user_actor(user))

    return _submit(request, db, "/relations", action, done="Task reassigned.")


# ---------------------------------------------------------------- cadence and budget


@router.get("/relations/cadence", dependencies=[Depends(current_user)])
def cadence_page(request: Request, db: DbSession) -> Response:
    """Show the cadence per tier, the free-service reminders and the contact budget."""
    return render(
        request,
        "relations/cadence.html",
        {
            "policies": relations.list_cadence_policies(db),
            "reminders": relations.list_service_reminders(db),
            "settings": relations.get_relation_settings(db),
            "nav": "relations",
        },
    )


@router.post("/relations/cadence", dependencies=_CSRF)
def save_cadence(
    request: Request,
    db: DbSession,
    user: Manager,
    tier: Annotated[str, Form(max_length=16)],
    every_days: Annotated[int, Form(ge=1, le=730)],
    due_in_days: Annotated[int, Form(ge=0, le=729)] = 7,
    is_active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Create or change a tier's cadence (managers)."""
    return _submit(
        request,
        db,
        "/relations/cadence",
        lambda: relations.set_cadence_policy(
            db,
            tier=tier,
            every_days=every_days,
            due_in_days=due_in_days,
            is_active=bool(is_active),
            actor=user_actor(user),
        ),
        done="Cadence saved.",
    )


@router.post("/relations/reminders", dependencies=_CSRF)
def add_reminder(
    request: Request,
    db: DbSession,
    user: Manager,
    label: Annotated[str, Form(max_length=200)],
    after_days: Annotated[int, Form(ge=1, le=3650)],
    sku: Annotated[str, Form(max_length=64)] = "",
    category: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a free-service reminder for a product or a category (managers)."""
    return _submit(
        request,
        db,
        "/relations/cadence",
        lambda: relations.add_service_reminder(
            db,
            label=label,
            after_days=after_days,
            sku=sku,
            category=category,
            actor=user_actor(user),
        ),
        done="Reminder added.",
    )


@router.post("/relations/settings", dependencies=_CSRF)
def save_settings(
    request: Request,
    db: DbSession,
    user: Manager,
    contact_budget: Annotated[int, Form(ge=0, le=1000)],
    budget_window_days: Annotated[int, Form(ge=1, le=366)],
    surprise_every_months: Annotated[int, Form(ge=1, le=120)],
    surprise_monthly_budget: Annotated[Decimal, Form(ge=0, le=Decimal("10000000"))],
    back: Annotated[str, Form(max_length=300)] = "/relations/cadence",
) -> Response:
    """Change the contact budget and the surprise limits (managers)."""
    back = back if back in ("/relations/cadence", "/relations/surprises") else "/relations/cadence"
    return _submit(
        request,
        db,
        back,
        lambda: relations.update_relation_settings(
            db,
            {
                "contact_budget": contact_budget,
                "budget_window_days": budget_window_days,
                "surprise_every_months": surprise_every_months,
                "surprise_monthly_budget": surprise_monthly_budget,
            },
            actor=user_actor(user),
        ),
        done="Settings saved.",
    )


# -------------------------------------------------------------------------- surprises


@router.get("/relations/surprises", dependencies=[Depends(current_user)])
def surprises_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """Show the catalogue, this month's budget, planned and given surprises and outcomes."""
    settings = relations.get_relation_settings(db)
    now = utcnow()
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    gifts = relations.list_gifts(
        db, limit=50, where=access.record_scope(user, relations.SurpriseGift.customer_id)
    )
    return render(
        request,
        "relations/surprises.html",
        {
            "catalogue": relations.list_surprises(db),
            "by_id": {s.id: s for s in relations.list_surprises(db)},
            "settings": settings,
            "spent": relations.spent_on_surprises(
                db, since=month, until=(month + timedelta(days=32)).replace(day=1)
            ),
            "gifts": gifts,
            "names": _names(db, {g.customer_id for g in gifts}),
            "outcomes": measure_surprise_outcomes(db),
            "moments": [m.value for m in relations.SurpriseMoment],
            "nav": "relations",
        },
    )


@router.post("/relations/surprises", dependencies=_CSRF)
def add_surprise(
    request: Request,
    db: DbSession,
    user: Manager,
    code: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
    cost: Annotated[str, Form(max_length=20)],
    moments: Annotated[list[str], Form()],
    effort_minutes: Annotated[int, Form(ge=0, le=1440)] = 15,
    description: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Add a surprise to the catalogue (managers)."""
    return _submit(
        request,
        db,
        "/relations/surprises",
        lambda: relations.add_surprise(
            db,
            code=code,
            name=name,
            cost=cost,
            moments=moments,
            effort_minutes=effort_minutes,
            description=description,
            currency=relations.get_relation_settings(db).currency,
            actor=user_actor(user),
        ),
        done="Surprise added.",
    )


@router.post("/relations/gifts/{gift_id}", dependencies=_CSRF)
def mark_gift(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    gift_id: Id,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    """Mark a planned surprise given or cancelled."""
    access.access_gift_by_id(db, user, gift_id)
    return _submit(
        request,
        db,
        "/relations/surprises",
        lambda: relations.mark_gift(db, gift_id, status=status, actor=user_actor(user)),
        done="Surprise updated.",
    )


# ------------------------------------------------------------------------------ rules


@router.get("/relations/rules", dependencies=[Depends(current_user)])
def rules_page(request: Request, db: DbSession) -> Response:
    """List the rules, the fields and operators they may use, and the preview."""
    return render(request, "relations/rules.html", _rules_context(db))


@router.post("/relations/rules/preview", dependencies=_CSRF)
def preview_rules(request: Request, db: DbSession, user: Manager) -> Response:
    """Show what the stored rules would do now; nothing is changed (managers)."""
    del user
    plans, invalid = plan_rules(db)
    shown = plans[:200]
    return render(
        request,
        "relations/rules.html",
        _rules_context(
            db,
            plans=shown,
            n_plans=len(plans),
            invalid=invalid,
            names=_names(db, {p.customer_id for p in shown}),
        ),
    )


@router.post("/relations/rules", dependencies=_CSRF)
def save_rule(
    request: Request,
    db: DbSession,
    user: Manager,
    name: Annotated[str, Form(max_length=100)],
    when: Annotated[str, Form(max_length=20000)],
    title: Annotated[str, Form(max_length=300)],
    kind: Annotated[str, Form(max_length=32)] = "rule",
    due_in_days: Annotated[int, Form(ge=0, le=365)] = 7,
    priority: Annotated[int, Form(ge=-1000, le=1000)] = 0,
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save a rule whose action opens a task; the condition is JSON (managers)."""

    def action() -> object:
        try:
            condition = json.loads(when)
        except ValueError as exc:
            raise InvalidInputError(
                f"The condition is not valid JSON: {exc}.", code="relations.bad_rule"
            ) from exc
        return store_rule(
            db,
            {
                "name": name,
                "description": description,
                "when": condition,
                "action": "open_task",
                "params": {"title": title, "kind": kind, "due_in_days": due_in_days},
                "priority": priority,
            },
            actor=user_actor(user),
        )

    return _submit(request, db, "/relations/rules", action, done="Rule saved.")


@router.post("/relations/rules/{rule_id}/toggle", dependencies=_CSRF)
def toggle_rule(request: Request, db: DbSession, user: Manager, rule_id: Id) -> Response:
    """Switch a rule on or off (managers)."""

    def action() -> object:
        rule = relations.get_rule(db, rule_id)
        return relations.set_rule_active(
            db, rule_id, is_active=not rule.is_active, actor=user_actor(user)
        )

    return _submit(request, db, "/relations/rules", action)


@router.post("/relations/run", dependencies=_CSRF)
def run_now(request: Request, db: DbSession, user: Manager) -> Response:
    """Run cadence, reminders, surprises and the rules now (managers)."""
    outcome = attempt(request, db, "/relations", lambda: run_relations(db, actor=user_actor(user)))
    if isinstance(outcome, Response):
        return outcome
    opened = outcome.cadence.n_opened + outcome.service.n_opened + outcome.surprises.n_opened
    flash(
        request,
        "success",
        "{n} tasks opened, {rules} rule actions done.",
        n=opened,
        rules=outcome.rules.n_opened,
    )
    return RedirectResponse("/relations", status_code=303)


# -------------------------------------------------------------------------- referrals


@router.get("/relations/referrals", dependencies=[Depends(current_user)])
def referrals_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    """List who brought whom and what the referred customers are worth."""
    scope = access.referral_scope(user)
    referrals = relations.list_referrals(db, where=scope)[:200]
    values = relations.referral_values(db, where=scope)[:50]
    ids = {r.referrer_id for r in referrals} | {r.referred_id for r in referrals}
    ids |= {v.referrer_id for v in values}
    return render(
        request,
        "relations/referrals.html",
        {
            "referrals": referrals,
            "values": values,
            "names": _names(db, ids),
            "nav": "relations",
        },
    )


@router.post("/relations/referrals", dependencies=_CSRF)
def add_referral(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    referrer_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    referred_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    referred_on: Annotated[date, Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record that one customer brought another."""

    def action() -> object:
        access.customer_reference(db, user, referrer_id, field="referrer_id")
        access.customer_reference(db, user, referred_id, field="referred_id")
        return relations.record_referral(
            db,
            referrer_id=referrer_id,
            referred_id=referred_id,
            referred_on=referred_on,
            note=note,
            source="console",
            actor=user_actor(user),
        )

    return _submit(request, db, "/relations/referrals", action, done="Referral recorded.")


# ------------------------------------------------------------------------ the 360 panel


@router.get("/customers/{customer_id}/lately", dependencies=[Depends(current_user)])
def lately_panel(request: Request, db: DbSession, user: CurrentUser, customer_id: str) -> Response:
    """Render the 360 panel: what have we done for this customer lately? (HTMX)."""
    if not customer_id.isdigit() or not 1 <= int(customer_id) < 2**63:
        raise NotFoundError(f"There is no customer {customer_id!r}.", code="customers.not_found")
    customer = access.access_customer_by_id(db, user, int(customer_id))
    tasks, n_tasks = relations.list_tasks(db, customer_id=customer.id, limit=10)
    brought_by = relations.list_referrals(db, referred_id=customer.id)
    brought = relations.list_referrals(db, referrer_id=customer.id)
    context: dict[str, Any] = {
        "customer": customer,
        "touches": relations.list_touches(db, customer.id, limit=10),
        "tasks": tasks,
        "n_tasks": n_tasks,
        "gifts": relations.list_gifts(db, customer_id=customer.id, limit=5),
        "ledger": relations.list_ledger(db, customer.id, limit=10),
        "brought_by": brought_by,
        "n_brought": len(brought),
        "names": _names(db, {r.referrer_id for r in brought_by}),
        "kinds": [k.value for k in relations.InteractionKind],
        "today": utcnow().date().isoformat(),
    }
    return render(request, "relations/_lately.html", context)


@router.post("/customers/{customer_id}/touches", dependencies=_CSRF)
def add_touch(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    customer_id: Id,
    kind: Annotated[str, Form(max_length=16)],
    subject: Annotated[str, Form(max_length=300)] = "",
    channel: Annotated[str, Form(max_length=32)] = "phone",
    occurred_on: Annotated[date | None, Form()] = None,
) -> Response:
    """Log something done for the customer (a contact, service, gift, fix or surprise)."""
    access.access_customer_by_id(db, user, customer_id)
    back = f"/customers/{customer_id}"
    when = (
        datetime.combine(occurred_on, datetime.min.time(), tzinfo=UTC).replace(hour=12)
        if occurred_on
        else utcnow()
    )
    return _submit(
        request,
        db,
        back,
        lambda: relations.log_touch(
            db,
            customer_id=customer_id,
            kind=kind,
            occurred_at=when,
            channel=channel,
            subject=subject,
            user_id=user.id,
            actor=user_actor(user),
        ),
        done="Logged.",
    )
