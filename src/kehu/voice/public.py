"""Turning rows into the public contracts (shared by the API and the console)."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.customers import Customer, get_customer
from kehu.value import CustomerValue
from kehu.voice.crises import crisis_clock, list_crisis_events
from kehu.voice.models import Alert, Crisis, Poll, Post
from kehu.voice.polls import poll_tallies
from kehu.voice.queries import posts_by_id, sentiment_label
from kehu.voice.schemas import (
    AlertPublic,
    CrisisDetail,
    CrisisEventPublic,
    CrisisPublic,
    CustomerBrief,
    PollOptionPublic,
    PollPublic,
    PostPublic,
)


def post_public(post: Post) -> PostPublic:
    """Return a post as the API shows it."""
    public = PostPublic.model_validate(post)
    public.sentiment_label = sentiment_label(post.sentiment)
    return public


def customer_brief(session: Session, customer_id: int | None) -> CustomerBrief | None:
    """Return the customer's name, owner and value tier (None when there is no customer)."""
    if customer_id is None:
        return None
    get_customer(session, customer_id)  # a customer that is gone raises NotFoundError
    return customer_briefs(session, [customer_id])[customer_id]


def customer_briefs(session: Session, customer_ids: Sequence[int]) -> dict[int, CustomerBrief]:
    """Return :func:`customer_brief` of many customers in two queries; unknown ids are left out.

    The alert lists name the author's tier on every row: one value query per author was an N+1.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    customers = session.execute(
        select(Customer.id, Customer.name, Customer.owner_id).where(Customer.id.in_(ids))
    ).all()
    values = {
        row.customer_id: row
        for row in session.execute(
            select(CustomerValue.customer_id, CustomerValue.tier, CustomerValue.clv).where(
                CustomerValue.customer_id.in_(ids)
            )
        )
    }
    briefs: dict[int, CustomerBrief] = {}
    for customer_id, name, owner_id in customers:
        value = values.get(customer_id)
        briefs[customer_id] = CustomerBrief(
            id=customer_id,
            name=name,
            owner_id=owner_id,
            tier=None if value is None else str(value.tier),
            clv=None if value is None else str(value.clv),
        )
    return briefs


def alert_public(session: Session, alert: Alert) -> AlertPublic:
    """Return an alert with its post and the author's customer record and tier."""
    return alerts_public(session, [alert])[0]


def alerts_public(session: Session, alerts: Sequence[Alert]) -> list[AlertPublic]:
    """Return alerts as :func:`alert_public` does, loading posts and customers in three queries."""
    posts = posts_by_id(session, [a.post_id for a in alerts])
    briefs = customer_briefs(session, [a.customer_id for a in alerts if a.customer_id is not None])
    public = []
    for alert in alerts:
        item = AlertPublic.model_validate(alert)
        post = posts.get(alert.post_id)
        item.post = None if post is None else post_public(post)
        item.customer = None if alert.customer_id is None else briefs.get(alert.customer_id)
        public.append(item)
    return public


def crisis_public(crisis: Crisis, now: datetime | None = None) -> CrisisPublic:
    """Return a crisis with its clock."""
    public = CrisisPublic.model_validate(crisis)
    clock = crisis_clock(crisis, now)
    public.seconds_left = clock.seconds_left
    public.is_overdue = clock.is_overdue
    public.responded_after_minutes = clock.responded_after_minutes
    return public


def crisis_detail(session: Session, crisis: Crisis) -> CrisisDetail:
    """Return a crisis with its timeline and post."""
    post = session.get(Post, crisis.post_id) if crisis.post_id is not None else None
    return CrisisDetail(
        crisis=crisis_public(crisis),
        timeline=[
            CrisisEventPublic.model_validate(e) for e in list_crisis_events(session, crisis.id)
        ],
        post=None if post is None else post_public(post),
    )


def poll_public(session: Session, poll: Poll) -> PollPublic:
    """Return a poll with its tallies over time."""
    tallies = poll_tallies(session, poll)
    return PollPublic(
        id=poll.id,
        question=poll.question,
        product_key=poll.product_key,
        is_open=poll.is_open,
        created_at=poll.created_at,
        n_votes=tallies.n_votes,
        days=tallies.days,
        options=[
            PollOptionPublic(
                option_id=o.option_id,
                label=o.label,
                votes=o.votes,
                share=o.share,
                cumulative=o.cumulative,
            )
            for o in tallies.options
        ],
    )


__all__ = [
    "alert_public",
    "alerts_public",
    "crisis_detail",
    "crisis_public",
    "customer_brief",
    "customer_briefs",
    "poll_public",
    "post_public",
]
