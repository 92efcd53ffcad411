"""Recommendations with restraint, and the feedback events that teach restraint.

``GET /customers/{id}/recommendations`` serves the trained recommender's items after
restraint (impression discounting, stops after ignored impressions, fatigue, consent and
frequency caps per channel). In channels that show the list to the customer it records the
items as impressions itself (``record``; off by default in ``console``), keyed by
``serve_id`` so a retried request records nothing twice. Before any model is trained the
popular items (by orders in the last 90 days of data) are served with the reason
``popular``: a new installation answers, and ``model`` says which source answered.

``POST /events`` takes a batch of impressions, clicks, add-to-carts, purchases and dismisses;
each event once by ``event_id``.
"""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kehu import engagement
from kehu.access import access_customer_by_id, customer_references
from kehu.analytics.recommend import Reason
from kehu.api.deps import Editor, Reader, SessionDep, SettingsDep, api_actor
from kehu.api.errors import ApiRoute
from kehu.api.schemas import DbId
from kehu.jobs.outreach import count_reported_impressions
from kehu.jobs.recommend import MAX_K, Served, plan_recommendations, record_served
from kehu.playbooks.restraint import Withheld
from kehu.privacy import OPTED_OUT_REASON
from kehu.store import WRITE_OPTIONS

router = APIRouter(tags=["recommendations"], route_class=ApiRoute)


class ReasonPublic(BaseModel):
    """Why an item is recommended, as data and in words."""

    kind: str = Field(examples=["bought_before"])
    item_id: str | None = None
    at: date | None = None
    weight: float
    text: str = Field(examples=["You bought 85123A on 2010-11-02"])


class RecommendationPublic(BaseModel):
    """One recommended item after restraint."""

    item_id: str = Field(description="The product's SKU.", examples=["85123A"])
    name: str
    score: float = Field(description="The model's score times the impression discount.")
    model_score: float
    discount: float = Field(description="Impression-discount factor in (0, 1].")
    reasons: list[ReasonPublic]


class WithheldPublic(BaseModel):
    """An item (or, without ``item_id``, the whole list) held back, why and until when."""

    item_id: str | None
    reason: str = Field(
        examples=["ignored"],
        description="ignored, dismissed, category_ignored, fatigue, no_consent, frequency_cap, "
        "contact_budget (an e-mail/SMS/WeChat list the contact budget refused) or "
        "automated_decisions_opt_out (the customer opted out of automated decisions)",
    )
    until: datetime | None


class RecommendationsPublic(BaseModel):
    """A served list of recommendations."""

    model_config = ConfigDict(protected_namespaces=())

    customer_id: int
    channel: str
    serve_id: str
    served_at: datetime
    data: list[RecommendationPublic]
    count: int
    withheld: list[WithheldPublic]
    channel_closed: WithheldPublic | None = Field(
        description="Set when nothing may be shown in this channel now (consent, cap)."
    )
    budget: int = Field(description="Items this customer may get now (fewer when they ignore).")
    n_ignored_in_a_row: int
    model: str = Field(examples=["recommender"])
    model_trained_at: datetime | None
    n_recorded: int = Field(description="Impressions this request recorded.")


class EventsBatch(BaseModel):
    """A batch of feedback events."""

    model_config = ConfigDict(extra="forbid")

    events: list[engagement.RecommendationEventIn] = Field(
        max_length=engagement.MAX_EVENTS_PER_BATCH
    )


def describe_reason(reason: Reason) -> str:
    """Return a reason in English words."""
    if reason.kind == "bought_before":
        when = f" on {reason.at.isoformat()}" if reason.at else ""
        return f"You bought {reason.item_id}{when}"
    if reason.kind == "also_bought":
        return f"Customers who bought {reason.item_id} also bought this"
    if reason.kind == "bought_together":
        return f"Often bought together with {reason.item_id}"
    return "Popular with customers now"


def _withheld(item: Withheld) -> WithheldPublic:
    return WithheldPublic(item_id=item.item_id, reason=item.reason.value, until=item.until)


def served_public(served: Served) -> RecommendationsPublic:
    """Return the API view of a served list."""
    return RecommendationsPublic(
        customer_id=served.customer_id,
        channel=served.channel,
        serve_id=served.serve_id,
        served_at=served.served_at,
        data=[
            RecommendationPublic(
                item_id=item.item_id,
                name=item.name,
                score=item.score,
                model_score=item.model_score,
                discount=item.discount,
                reasons=[
                    ReasonPublic(
                        kind=r.kind,
                        item_id=r.item_id,
                        at=r.at,
                        weight=r.weight,
                        text=describe_reason(r),
                    )
                    for r in item.reasons
                ],
            )
            for item in served.items
        ],
        count=len(served.items),
        withheld=[_withheld(w) for w in served.withheld],
        channel_closed=(
            _withheld(served.channel_closed)
            if served.channel_closed is not None
            else WithheldPublic(item_id=None, reason=OPTED_OUT_REASON, until=None)
            if served.opted_out
            else None
        ),
        budget=served.budget,
        n_ignored_in_a_row=served.n_ignored_in_a_row,
        model=served.model,
        model_trained_at=served.model_trained_at,
        n_recorded=served.n_recorded,
    )


@router.get("/customers/{customer_id}/recommendations", response_model=RecommendationsPublic)
def read_recommendations(
    customer_id: DbId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    channel: Annotated[
        str,
        Query(
            min_length=1,
            max_length=32,
            description="web, app, email, sms, wechat or console (staff view; records nothing).",
        ),
    ] = "web",
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    record: Annotated[
        bool | None,
        Query(description="Record the items as impressions; default: yes except in `console`."),
    ] = None,
    serve_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="Your id of this request: a retry with the same id gets the same list "
            "and records nothing twice.",
        ),
    ] = None,
) -> RecommendationsPublic:
    """Recommend up to ``k`` items to a customer in a channel, with restraint applied.

    Nothing is served in a channel the customer has not consented to (e-mail, SMS and WeChat
    need consent granted for marketing; web and app are closed by a withdrawal) or whose
    frequency cap is reached: ``channel_closed`` says why and until when. A customer who
    opted out of automated decisions gets none (``automated_decisions_opt_out``).
    """
    customer = access_customer_by_id(session, user, customer_id)
    served = plan_recommendations(
        session,
        customer.id,
        settings=settings,
        channel=channel,
        k=k,
        record=record,
        serve_id=serve_id,
    )
    # `kehu serve` stores web/app impressions behind the request, in batches (no write
    # transaction per request: on SQLite the workers queued for the one write lock, and that
    # queue was the tail under load; kehu.engagement.impressions).
    writer: engagement.ImpressionWriter | None = getattr(
        request.app.state, "impression_writer", None
    )
    if served.to_record and writer is not None and served.may_write_behind:
        record_served(session, served, writer=writer)
    elif served.to_record:
        # The list was decided in a read transaction; the impressions are written in a short
        # one of their own, so on SQLite the single write lock is held for the insert only and
        # concurrent requests (and workers) do not queue behind each other's whole request.
        # Recording is idempotent by serve_id, so a retry after a failure here is safe.
        session.commit()
        session.connection(execution_options=WRITE_OPTIONS)
        record_served(session, served)
    return served_public(served)


@router.post("/events", response_model=engagement.RecommendationEventsResult)
def record_events(
    body: EventsBatch, session: SessionDep, settings: SettingsDep, user: Editor
) -> engagement.RecommendationEventsResult:
    """Record feedback events on recommended items; each ``event_id`` is stored once.

    All or nothing: an event naming an unknown customer or SKU, or dated in the future (beyond
    five minutes of clock skew), refuses the batch with a 422 listing every such event in
    ``details``. Duplicates (stored before, or repeated in the batch) are reported per event
    and not stored again; events may arrive late and in any order. A purchase is attributed to
    the newest impression or click of the same item within the attribution window
    (``KEHU_RECS_ATTRIBUTION_DAYS``, 7 by default).
    """
    customer_references(session, user, [e.customer_id for e in body.events], field="customer_id")
    result = engagement.record_recommendation_events(
        session,
        body.events,
        actor=api_actor(user),
        attribution_days=settings.recs_attribution_days,
    )
    # Lists another system sent out (e-mail, SMS, WeChat) count against the contact budget.
    count_reported_impressions(session, body.events, actor=api_actor(user))
    return result
