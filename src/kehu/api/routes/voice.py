"""Voice of the customer: posts, scoring runs, alerts, crises, demand dictionaries, polls.

Posts are imported through the import pipeline: ``POST /api/v1/imports/posts`` (dry run,
per-row error report, re-import upserts on platform and external id; see docs/voice-import.md).
Reading is open to every role; acting on alerts and crises to every role (owners receive the
alerts of their customers); settings, scoring runs, dictionaries and polls to managers.
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from kehu import access, voice
from kehu.access import customer_reference, hide_customers
from kehu.api.deps import Editor, Manager, Reader, SessionDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import MAX_ID, DbId, UtcDatetime
from kehu.jobs.voice import run_voice_scoring
from kehu.users import User

router = APIRouter(prefix="/voice", tags=["voice"], route_class=ApiRoute)

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VoiceRunPublic(BaseModel):
    """What a scoring run did."""

    as_of: datetime
    n_linked: int
    n_scored: int
    n_without_text: int
    n_mentions: int
    n_risk_scored: int
    n_alerts: int
    alert_ids: list[int]
    seconds: float


class VoiceRunRequest(_In):
    """When to judge the risk at (default now)."""

    as_of: UtcDatetime | None = None


class SettingsUpdate(_In):
    """Voice settings to change; omitted ones stay."""

    risk_threshold: float | None = Field(default=None, gt=0, le=1)
    response_target_minutes: int | None = Field(default=None, ge=1, le=10080)
    crisis_owner_id: DbId | None = None
    cluster_window_hours: int | None = Field(default=None, ge=1, le=2160)
    dedupe_window_hours: int | None = Field(default=None, ge=0, le=2160)
    weights: dict[str, float] | None = Field(
        default=None,
        description="sentiment, reach, velocity, cluster (weights); reach_scale, "
        "velocity_scale, cluster_scale, min_age_hours",
    )


class AlertDismiss(_In):
    """Why an alert needs no crisis."""

    reason: str = Field(default="", max_length=500)


class CrisisFromAlert(_In):
    """A crisis opened from an alert (title and owner default from it)."""

    title: str = Field(default="", max_length=300)
    owner_id: DbId | None = None


class CrisisCreate(_In):
    """A crisis opened by hand."""

    title: str = Field(min_length=1, max_length=300)
    owner_id: DbId | None = None
    post_id: DbId | None = None
    response_target_minutes: int | None = Field(default=None, ge=1, le=10080)


class ChecklistUpdate(_In):
    """Tick or untick a checklist item."""

    done: bool
    note: str = Field(default="", max_length=2000)


class CrisisNote(_In):
    """A note on the timeline."""

    text: str = Field(min_length=1, max_length=5000)


class CrisisResponse(_In):
    """A public response (the first stops the clock)."""

    text: str = Field(min_length=1, max_length=4000)
    url: str = Field(default="", max_length=2000)


class CrisisOwner(_In):
    """A crisis's new owner."""

    owner_id: DbId


class CrisisClose(_In):
    """Why the crisis is closed."""

    note: str = Field(default="", max_length=5000)


class TermCreate(_In):
    """A word naming a variant of an attribute."""

    attribute: str = Field(min_length=1, max_length=64, examples=["colour"])
    value: str = Field(min_length=1, max_length=100, examples=["white"])
    term: str = Field(min_length=1, max_length=100, examples=["白色"])


class PollCreate(_In):
    """A design poll."""

    question: str = Field(min_length=1, max_length=500)
    options: list[str] = Field(min_length=2, max_length=20)
    product_key: str = Field(default="", max_length=200)


class VoteIn(_In):
    """A voter's choice."""

    option_id: DbId
    voter: str = Field(min_length=1, max_length=200)
    customer_id: DbId | None = None


def _detail(session: SessionDep, crisis: voice.Crisis, user: User) -> voice.CrisisDetail:
    """Return the crisis with its post, the post's customer blanked when out of ``user``'s scope."""
    detail = voice.crisis_detail(session, crisis)
    if detail.post is not None:
        hide_customers(session, user, [detail.post])
    return detail


@router.get("/posts", response_model=voice.PostsPublic)
def read_posts(
    session: SessionDep,
    user: Reader,
    sentiment: Literal["negative", "neutral", "positive", "unscored"] | None = None,
    min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    kind: voice.PostKind | None = None,
    customer_id: DbId | None = None,
    sort: Literal["recent", "risk"] = "recent",
    limit: Limit = 50,
    offset: Offset = 0,
) -> voice.PostsPublic:
    """List posts and comments, newest (or riskiest) first, filtered by sentiment and risk."""
    if customer_id is not None and not access.is_customer_visible(session, user, customer_id):
        return voice.PostsPublic(data=[], count=0)
    rows, count = voice.list_posts(
        session,
        voice.PostFilter(
            sentiment=sentiment,
            min_risk=min_risk,
            platform=platform,
            kind=kind,
            customer_id=customer_id,
        ),
        sort=sort,
        limit=limit,
        offset=offset,
    )
    data = hide_customers(session, user, [voice.post_public(p) for p in rows])
    return voice.PostsPublic(data=data, count=count)


@router.get("/posts/{post_id}", response_model=voice.PostDetail)
def read_post(post_id: DbId, session: SessionDep, user: Reader) -> voice.PostDetail:
    """Return a post with its comments and the breakdown of its spread risk."""
    post = voice.get_post(session, post_id)
    public = hide_customers(
        session,
        user,
        [voice.post_public(p) for p in [post, *voice.list_comments(session, post.id)]],
    )
    return voice.PostDetail(
        post=public[0],
        comments=public[1:],
        n_comments=voice.count_comments(session, post.id),
    )


@router.post("/runs", response_model=VoiceRunPublic, status_code=201)
def create_voice_run(
    session: SessionDep, user: Manager, body: VoiceRunRequest | None = None
) -> VoiceRunPublic:
    """Score new posts' sentiment, refresh spread risk and raise alerts now."""
    result = run_voice_scoring(
        session, actor=api_actor(user), as_of=None if body is None else body.as_of
    )
    return VoiceRunPublic(
        as_of=result.as_of,
        n_linked=result.n_linked,
        n_scored=result.n_scored,
        n_without_text=result.n_without_text,
        n_mentions=result.n_mentions,
        n_risk_scored=result.n_risk_scored,
        n_alerts=result.n_alerts,
        alert_ids=result.alert_ids,
        seconds=result.seconds,
    )


@router.get("/settings", response_model=voice.VoiceSettingsPublic)
def read_voice_settings(session: SessionDep, user: Reader) -> voice.VoiceSettingsPublic:
    """Return the risk threshold, response target, crisis owner, windows and weights."""
    del user
    return voice.VoiceSettingsPublic.model_validate(voice.get_voice_settings(session))


@router.patch("/settings", response_model=voice.VoiceSettingsPublic)
def update_voice_settings(
    body: SettingsUpdate, session: SessionDep, user: Manager
) -> voice.VoiceSettingsPublic:
    """Change voice settings (admins and managers)."""
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name == "crisis_owner_id"
    }
    row = voice.update_voice_settings(session, actor=api_actor(user), **changes)
    return voice.VoiceSettingsPublic.model_validate(row)


@router.get("/alerts", response_model=voice.AlertsPublic)
def read_alerts(
    session: SessionDep,
    user: Reader,
    status: voice.AlertStatus | Literal["all"] = voice.AlertStatus.OPEN,
    mine: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> voice.AlertsPublic:
    """List alerts (open ones by default; ``mine`` for the caller's), highest score first."""
    rows, count = voice.list_alerts(
        session,
        status=None if status == "all" else status,
        owner_id=user.id if mine else None,
        limit=limit,
        offset=offset,
    )
    return voice.AlertsPublic(
        data=hide_customers(session, user, voice.alerts_public(session, rows)), count=count
    )


@router.get("/alerts/{alert_id}", response_model=voice.AlertPublic)
def read_alert(alert_id: DbId, session: SessionDep, user: Reader) -> voice.AlertPublic:
    """Return an alert with its post, score breakdown and the author's customer and tier."""
    alert = voice.alert_public(session, voice.get_alert(session, alert_id))
    return hide_customers(session, user, [alert])[0]  # type: ignore[no-any-return]


@router.post("/alerts/{alert_id}/dismiss", response_model=voice.AlertPublic)
def dismiss_alert(
    alert_id: DbId, session: SessionDep, user: Editor, body: AlertDismiss | None = None
) -> voice.AlertPublic:
    """Close an open alert as needing no crisis; 409 when it is not open."""
    alert = voice.dismiss_alert(
        session,
        voice.get_alert(session, alert_id),
        actor=api_actor(user),
        reason="" if body is None else body.reason,
    )
    public = voice.alert_public(session, alert)
    return hide_customers(session, user, [public])[0]  # type: ignore[no-any-return]


@router.post("/alerts/{alert_id}/crisis", response_model=voice.CrisisDetail, status_code=201)
def open_crisis_from_alert(
    alert_id: DbId, session: SessionDep, user: Editor, body: CrisisFromAlert | None = None
) -> voice.CrisisDetail:
    """Open a crisis from an open alert (the alert closes as ``crisis``)."""
    body = body or CrisisFromAlert()
    crisis = voice.open_crisis(
        session,
        actor=api_actor(user),
        title=body.title,
        owner_id=body.owner_id,
        alert=voice.get_alert(session, alert_id),
    )
    return _detail(session, crisis, user)


@router.get("/crises", response_model=voice.CrisesPublic)
def read_crises(
    session: SessionDep,
    user: Reader,
    status: voice.CrisisStatus | Literal["all"] = voice.CrisisStatus.OPEN,
    limit: Limit = 50,
    offset: Offset = 0,
) -> voice.CrisesPublic:
    """List crises (open ones by default), the most urgent first, with their clocks."""
    del user
    rows, count = voice.list_crises(
        session, status=None if status == "all" else status, limit=limit, offset=offset
    )
    return voice.CrisesPublic(data=[voice.crisis_public(c) for c in rows], count=count)


@router.post("/crises", response_model=voice.CrisisDetail, status_code=201)
def create_crisis(body: CrisisCreate, session: SessionDep, user: Editor) -> voice.CrisisDetail:
    """Open a crisis by hand (owner: the given one, the crisis owner, or the caller)."""
    crisis = voice.open_crisis(
        session,
        actor=api_actor(user),
        title=body.title,
        owner_id=body.owner_id,
        post_id=body.post_id,
        response_target_minutes=body.response_target_minutes,
    )
    return _detail(session, crisis, user)


@router.get("/crises/{crisis_id}", response_model=voice.CrisisDetail)
def read_crisis(crisis_id: DbId, session: SessionDep, user: Reader) -> voice.CrisisDetail:
    """Return a crisis with its clock, checklist, timeline and post."""
    return _detail(session, voice.get_crisis(session, crisis_id), user)


@router.put("/crises/{crisis_id}/checklist/{item}", response_model=voice.CrisisDetail)
def update_checklist(
    crisis_id: DbId,
    item: Annotated[str, Path(max_length=32)],
    body: ChecklistUpdate,
    session: SessionDep,
    user: Editor,
) -> voice.CrisisDetail:
    """Tick or untick one item: facts, cause, remedy, statement, follow_ups."""
    crisis = voice.set_checklist_item(
        session,
        voice.get_crisis(session, crisis_id),
        item,
        done=body.done,
        note=body.note,
        actor=api_actor(user),
    )
    return _detail(session, crisis, user)


@router.post("/crises/{crisis_id}/notes", response_model=voice.CrisisDetail, status_code=201)
def add_crisis_note(
    crisis_id: DbId, body: CrisisNote, session: SessionDep, user: Editor
) -> voice.CrisisDetail:
    """Add a note to the timeline."""
    crisis = voice.get_crisis(session, crisis_id)
    voice.add_crisis_note(session, crisis, body.text, actor=api_actor(user))
    return _detail(session, crisis, user)


@router.post("/crises/{crisis_id}/responses", response_model=voice.CrisisDetail, status_code=201)
def respond_to_crisis(
    crisis_id: DbId, body: CrisisResponse, session: SessionDep, user: Editor
) -> voice.CrisisDetail:
    """Record a public response; the first stops the clock and ticks "statement"."""
    crisis = voice.record_public_response(
        session,
        voice.get_crisis(session, crisis_id),
        text=body.text,
        url=body.url,
        actor=api_actor(user),
    )
    return _detail(session, crisis, user)


@router.post("/crises/{crisis_id}/owner", response_model=voice.CrisisDetail)
def assign_crisis(
    crisis_id: DbId, body: CrisisOwner, session: SessionDep, user: Editor
) -> voice.CrisisDetail:
    """Give a crisis to another owner."""
    crisis = voice.assign_crisis(
        session, voice.get_crisis(session, crisis_id), body.owner_id, actor=api_actor(user)
    )
    return _detail(session, crisis, user)


@router.post("/crises/{crisis_id}/close", response_model=voice.CrisisDetail)
def close_crisis(
    crisis_id: DbId, session: SessionDep, user: Editor, body: CrisisClose | None = None
) -> voice.CrisisDetail:
    """Close a crisis."""
    crisis = voice.close_crisis(
        session,
        voice.get_crisis(session, crisis_id),
        actor=api_actor(user),
        note="" if body is None else body.note,
    )
    return _detail(session, crisis, user)


@router.get("/demand/terms", response_model=voice.DemandTermsPublic)
def read_terms(
    session: SessionDep,
    user: Reader,
    attribute: Annotated[str | None, Query(max_length=64)] = None,
) -> voice.DemandTermsPublic:
    """Return the demand dictionaries (of one attribute, or all)."""
    del user
    rows = voice.list_terms(session, attribute)
    return voice.DemandTermsPublic(
        data=[voice.DemandTermPublic.model_validate(t) for t in rows], count=len(rows)
    )


@router.post("/demand/terms", response_model=voice.DemandTermPublic, status_code=201)
def create_term(body: TermCreate, session: SessionDep, user: Manager) -> voice.DemandTermPublic:
    """Add a word to a dictionary; 409 when the attribute already has it."""
    row = voice.add_term(
        session, attribute=body.attribute, value=body.value, term=body.term, actor=api_actor(user)
    )
    return voice.DemandTermPublic.model_validate(row)


@router.delete("/demand/terms/{term_id}", status_code=204)
def delete_term(term_id: DbId, session: SessionDep, user: Manager) -> Response:
    """Remove a word from a dictionary (mentions counted before stay)."""
    voice.delete_term(session, term_id, actor=api_actor(user))
    return Response(status_code=204)


@router.get("/demand/mentions", response_model=voice.MentionSeriesPublic)
def read_mentions(
    session: SessionDep,
    user: Reader,
    attribute: Annotated[str, Query(min_length=1, max_length=64)] = "colour",
    product: Annotated[str | None, Query(max_length=200)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    until: UtcDatetime | None = None,
) -> voice.MentionSeriesPublic:
    """Return mentions of an attribute's values per day (of one product or topic, or all)."""
    del user
    series = voice.mention_series(
        session, attribute=attribute, product_key=product, days=days, until=until
    )
    return voice.MentionSeriesPublic(
        attribute=series.attribute,
        days=series.days,
        series=series.series,
        totals=series.totals,
        products=series.products,
    )


@router.get("/polls", response_model=voice.PollsPublic)
def read_polls(
    session: SessionDep, user: Reader, limit: Limit = 50, offset: Offset = 0
) -> voice.PollsPublic:
    """List polls, newest first, with their tallies."""
    del user
    rows, count = voice.list_polls(session, limit=limit, offset=offset)
    return voice.PollsPublic(data=[voice.poll_public(session, p) for p in rows], count=count)


@router.post("/polls", response_model=voice.PollPublic, status_code=201)
def create_poll(body: PollCreate, session: SessionDep, user: Manager) -> voice.PollPublic:
    """Create a design poll with two to twenty options."""
    poll = voice.create_poll(
        session,
        question=body.question,
        options=body.options,
        product_key=body.product_key,
        actor=api_actor(user),
    )
    return voice.poll_public(session, poll)


@router.get("/polls/{poll_id}", response_model=voice.PollPublic)
def read_poll(poll_id: DbId, session: SessionDep, user: Reader) -> voice.PollPublic:
    """Return a poll with its tallies: in all and cumulative per day."""
    del user
    return voice.poll_public(session, voice.get_poll(session, poll_id))


@router.post("/polls/{poll_id}/votes", response_model=voice.PollPublic, status_code=201)
def cast_vote(poll_id: DbId, body: VoteIn, session: SessionDep, user: Editor) -> voice.PollPublic:
    """Record a voter's vote (voting again moves it); 409 on a closed poll."""
    poll = voice.get_poll(session, poll_id)
    if body.customer_id is not None:
        customer_reference(session, user, body.customer_id, field="customer_id")
    voice.cast_vote(
        session, poll, option_id=body.option_id, voter=body.voter, customer_id=body.customer_id
    )
    return voice.poll_public(session, poll)


@router.post("/polls/{poll_id}/close", response_model=voice.PollPublic)
def close_poll(poll_id: DbId, session: SessionDep, user: Manager) -> voice.PollPublic:
    """Close a poll to further votes."""
    poll = voice.close_poll(session, voice.get_poll(session, poll_id), actor=api_actor(user))
    return voice.poll_public(session, poll)
