"""Voice of the customer: posts with sentiment and risk, alerts, crises, demand, polls."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from kehu import access, voice
from kehu.core import utcnow
from kehu.jobs.voice import run_voice_scoring
from kehu.users import User, list_users, user_actor
from kehu.web.csrf import verify_csrf
from kehu.web.deps import CurrentUser, DbSession, Manager, current_user
from kehu.web.rendering import attempt, flash, render

router = APIRouter()

PAGE_SIZE = 25
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
_CSRF = [Depends(verify_csrf)]


def _n_pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _users_by_id(db: Session) -> dict[int, User]:
    return {u.id: u for u in list_users(db)}


@router.get("/voice", dependencies=[Depends(current_user)])
def posts_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    sentiment: Annotated[str, Query(max_length=16)] = "",
    sort: Annotated[str, Query(max_length=8)] = "recent",
    risky: Annotated[str, Query(max_length=8)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List posts and comments with their sentiment and spread risk."""
    sentiment = sentiment if sentiment in voice.SENTIMENTS else ""
    sort = sort if sort in ("recent", "risk") else "recent"
    settings = voice.get_voice_settings(db)
    rows, total = voice.list_posts(
        db,
        voice.PostFilter(
            sentiment=sentiment or None, min_risk=settings.risk_threshold if risky else None
        ),
        sort=sort,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "voice/posts.html",
        {
            "rows": access.hide_customers(db, user, [voice.post_public(p) for p in rows]),
            "total": total,
            "page": page,
            "n_pages": _n_pages(total),
            "sentiment": sentiment,
            "sentiments": voice.SENTIMENTS,
            "sort": sort,
            "risky": bool(risky),
            "counts": voice.sentiment_counts(db),
            "threshold": settings.risk_threshold,
            "n_alerts": voice.list_alerts(db, limit=1)[1],
            "n_crises": voice.list_crises(db, limit=1)[1],
            "nav": "voice",
        },
    )


@router.post("/voice/run", dependencies=_CSRF)
def run_scoring(request: Request, db: DbSession, user: Manager) -> Response:
    """Score new posts, refresh spread risk and raise alerts now (admins and managers)."""
    outcome = attempt(request, db, "/voice", lambda: run_voice_scoring(db, actor=user_actor(user)))
    if isinstance(outcome, Response):
        return outcome
    flash(
        request,
        "success",
        "{n} posts scored, {risk} risks refreshed, {alerts} new alerts.",
        n=outcome.n_scored,
        risk=outcome.n_risk_scored,
        alerts=outcome.n_alerts,
    )
    return RedirectResponse("/voice", status_code=303)


@router.get("/voice/posts/{post_id}", dependencies=[Depends(current_user)])
def post_page(request: Request, db: DbSession, user: CurrentUser, post_id: Id) -> Response:
    """Show a post, its spread-risk breakdown and its comments."""
    post = voice.get_post(db, post_id)
    public = access.hide_customers(
        db, user, [voice.post_public(p) for p in [post, *voice.list_comments(db, post.id)]]
    )
    return render(
        request,
        "voice/post.html",
        {
            "post": public[0],
            "comments": public[1:],
            "customer": voice.customer_brief(db, public[0].customer_id),
            "nav": "voice",
        },
    )


@router.get("/voice/alerts")
def alerts_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    mine: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """List open alerts, highest risk first, with the author's customer and tier."""
    rows, total = voice.list_alerts(db, owner_id=user.id if mine else None, limit=100)
    return render(
        request,
        "voice/alerts.html",
        {
            "rows": access.hide_customers(db, user, voice.alerts_public(db, rows)),
            "total": total,
            "mine": bool(mine),
            "users": _users_by_id(db),
            "nav": "voice",
        },
    )


@router.post("/voice/alerts/{alert_id}/dismiss", dependencies=_CSRF)
def dismiss_alert(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    alert_id: Id,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Dismiss an alert."""
    outcome = attempt(
        request,
        db,
        "/voice/alerts",
        lambda: voice.dismiss_alert(
            db, voice.get_alert(db, alert_id), actor=user_actor(user), reason=reason
        ),
    )
    if isinstance(outcome, Response):
        return outcome
    flash(request, "success", "Alert dismissed.")
    return RedirectResponse("/voice/alerts", status_code=303)


@router.post("/voice/alerts/{alert_id}/crisis", dependencies=_CSRF)
def crisis_from_alert(request: Request, db: DbSession, user: CurrentUser, alert_id: Id) -> Response:
    """Open a crisis from an alert and go to it."""
    outcome = attempt(
        request,
        db,
        "/voice/alerts",
        lambda: voice.open_crisis(db, actor=user_actor(user), alert=voice.get_alert(db, alert_id)),
    )
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse(f"/voice/crises/{outcome.id}", status_code=303)


@router.get("/voice/crises", dependencies=[Depends(current_user)])
def crises_page(request: Request, db: DbSession) -> Response:
    """Show the open crises, the most urgent first, each with its live clock."""
    rows, total = voice.list_crises(db, limit=100)
    closed, n_closed = voice.list_crises(db, status=voice.CrisisStatus.CLOSED, limit=10)
    return render(
        request,
        "voice/crises.html",
        {
            "rows": [voice.crisis_public(c) for c in rows],
            "total": total,
            "closed": [voice.crisis_public(c) for c in closed],
            "n_closed": n_closed,
            "users": _users_by_id(db),
            "checklist": voice.CHECKLIST,
            "now": utcnow(),
            "nav": "voice",
        },
    )


@router.post("/voice/crises", dependencies=_CSRF)
def open_crisis(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    title: Annotated[str, Form(max_length=300)] = "",
    post_id: Annotated[int | None, Form(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """Open a crisis by hand (optionally about a post)."""
    outcome = attempt(
        request,
        db,
        "/voice/crises",
        lambda: voice.open_crisis(db, actor=user_actor(user), title=title, post_id=post_id),
    )
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse(f"/voice/crises/{outcome.id}", status_code=303)


@router.get("/voice/crises/{crisis_id}", dependencies=[Depends(current_user)])
def crisis_page(request: Request, db: DbSession, crisis_id: Id) -> Response:
    """Show a crisis: its clock, checklist, timeline, post and the forms to act."""
    detail = voice.crisis_detail(db, voice.get_crisis(db, crisis_id))
    return render(
        request,
        "voice/crisis.html",
        {
            "detail": detail,
            "crisis": detail.crisis,
            "checklist": voice.CHECKLIST,
            "labels": voice.CHECKLIST_LABELS,
            "users": _users_by_id(db),
            "nav": "voice",
        },
    )


@router.post("/voice/crises/{crisis_id}/checklist/{item}", dependencies=_CSRF)
def tick_item(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    crisis_id: Id,
    item: Annotated[str, Path(max_length=32)],
    done: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Tick or untick a checklist item."""
    back = f"/voice/crises/{crisis_id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.set_checklist_item(
            db,
            voice.get_crisis(db, crisis_id),
            item,
            done=done == "1",
            note=note,
            actor=user_actor(user),
        ),
    )
    return outcome if isinstance(outcome, Response) else RedirectResponse(back, status_code=303)


@router.post("/voice/crises/{crisis_id}/notes", dependencies=_CSRF)
def add_note(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    crisis_id: Id,
    text: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Add a note to the timeline."""
    back = f"/voice/crises/{crisis_id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.add_crisis_note(
            db, voice.get_crisis(db, crisis_id), text, actor=user_actor(user)
        ),
    )
    return outcome if isinstance(outcome, Response) else RedirectResponse(back, status_code=303)


@router.post("/voice/crises/{crisis_id}/responses", dependencies=_CSRF)
def respond(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    crisis_id: Id,
    text: Annotated[str, Form(max_length=4000)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a public response (the first stops the clock)."""
    back = f"/voice/crises/{crisis_id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.record_public_response(
            db, voice.get_crisis(db, crisis_id), text=text, url=url, actor=user_actor(user)
        ),
    )
    if isinstance(outcome, Response):
        return outcome
    flash(request, "success", "Public response recorded.")
    return RedirectResponse(back, status_code=303)


@router.post("/voice/crises/{crisis_id}/close", dependencies=_CSRF)
def close_crisis(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    crisis_id: Id,
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Close a crisis."""
    back = f"/voice/crises/{crisis_id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.close_crisis(
            db, voice.get_crisis(db, crisis_id), note=note, actor=user_actor(user)
        ),
    )
    return outcome if isinstance(outcome, Response) else RedirectResponse(back, status_code=303)


@router.get("/voice/demand", dependencies=[Depends(current_user)])
def demand_page(
    request: Request,
    db: DbSession,
    attribute: Annotated[str, Query(max_length=64)] = "colour",
    product: Annotated[str | None, Query(max_length=200)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    """Mentions of an attribute's variants per day, and the dictionaries."""
    series = voice.mention_series(db, attribute=attribute, product_key=product or None, days=days)
    return render(
        request,
        "voice/demand.html",
        {
            "series": series,
            "chart": {"days": series.days, "series": series.series},
            "attribute": attribute,
            "attributes": voice.list_attributes(db) or ["colour", "size", "feature"],
            "product": product or "",
            "days": days,
            "terms": voice.list_terms(db, attribute),
            "nav": "voice",
        },
    )


@router.post("/voice/demand/terms", dependencies=_CSRF)
def add_term(
    request: Request,
    db: DbSession,
    user: Manager,
    attribute: Annotated[str, Form(max_length=64)] = "",
    value: Annotated[str, Form(max_length=100)] = "",
    term: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add a word to a dictionary (admins and managers)."""
    back = f"/voice/demand?attribute={attribute.strip().lower() or 'colour'}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.add_term(
            db, attribute=attribute, value=value, term=term, actor=user_actor(user)
        ),
    )
    return outcome if isinstance(outcome, Response) else RedirectResponse(back, status_code=303)


@router.post("/voice/demand/terms/{term_id}/delete", dependencies=_CSRF)
def delete_term(request: Request, db: DbSession, user: Manager, term_id: Id) -> Response:
    """Remove a word from a dictionary (admins and managers)."""
    outcome = attempt(
        request,
        db,
        "/voice/demand",
        lambda: voice.delete_term(db, term_id, actor=user_actor(user)),
    )
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse("/voice/demand", status_code=303)


@router.get("/voice/polls", dependencies=[Depends(current_user)])
def polls_page(request: Request, db: DbSession) -> Response:
    """Design polls with their tallies."""
    rows, total = voice.list_polls(db, limit=100)
    return render(
        request,
        "voice/polls.html",
        {"rows": [voice.poll_public(db, p) for p in rows], "total": total, "nav": "voice"},
    )


@router.post("/voice/polls", dependencies=_CSRF)
def create_poll(
    request: Request,
    db: DbSession,
    user: Manager,
    question: Annotated[str, Form(max_length=500)] = "",
    options: Annotated[str, Form(max_length=5000)] = "",
    product_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create a poll; options one per line (admins and managers)."""
    labels = [line for line in options.splitlines() if line.strip()]
    outcome = attempt(
        request,
        db,
        "/voice/polls",
        lambda: voice.create_poll(
            db,
            question=question,
            options=labels,
            product_key=product_key,
            actor=user_actor(user),
        ),
    )
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse(f"/voice/polls/{outcome.id}", status_code=303)


@router.get("/voice/polls/{poll_id}", dependencies=[Depends(current_user)])
def poll_page(request: Request, db: DbSession, poll_id: Id) -> Response:
    """Show a poll: tallies, their growth per day, and a form to record a vote."""
    poll = voice.poll_public(db, voice.get_poll(db, poll_id))
    chart = {"days": poll.days, "series": {o.label: o.cumulative for o in poll.options}}
    return render(request, "voice/poll.html", {"poll": poll, "chart": chart, "nav": "voice"})


@router.post("/voice/polls/{poll_id}/votes", dependencies=_CSRF)
def vote(
    request: Request,
    db: DbSession,
    poll_id: Id,
    user: CurrentUser,
    option_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
    voter: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Record a voter's vote."""
    del user
    back = f"/voice/polls/{poll_id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.cast_vote(db, voice.get_poll(db, poll_id), option_id=option_id, voter=voter),
    )
    return outcome if isinstance(outcome, Response) else RedirectResponse(back, status_code=303)


@router.post("/voice/polls/{poll_id}/close", dependencies=_CSRF)
def close_poll(request: Request, db: DbSession, user: Manager, poll_id: Id) -> Response:
    """Close a poll (admins and managers)."""
    back = f"/voice/polls/{poll_id}"
    outcome = attempt(
        request,
        db,
        back,
        lambda: voice.close_poll(db, voice.get_poll(db, poll_id), actor=user_actor(user)),
    )
    return outcome if isinstance(outcome, Response) else RedirectResponse(back, status_code=303)
