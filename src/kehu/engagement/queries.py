"""Reads for interactions and recommendation feedback events."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session

from kehu.commerce import Product
from kehu.engagement.models import Interaction, RecommendationEvent, RecommendationEventKind


def list_interactions(
    session: Session,
    *,
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    where: ColumnElement[bool] | None = None,
) -> tuple[Sequence[Interaction], int]:
    """Return one page of interactions, newest first, and the number matching.

    ``where`` is an extra predicate on ``interactions`` (a caller's scope, ``kehu.access``).
    """
    query = select(Interaction)
    if where is not None:
        query = query.where(where)
    if customer_id is not None:
        query = query.where(Interaction.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


@dataclass(frozen=True)
class FeedbackEvent:
    """A feedback event with its item's SKU (what serving and the console need)."""

    event_id: str
    kind: RecommendationEventKind
    item_id: str
    item_name: str
    channel: str
    occurred_at: datetime
    serve_id: str | None
    position: int | None


def list_feedback_events(
    session: Session,
    customer_id: int,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[FeedbackEvent]:
    """Return a customer's feedback events, newest first (optionally only those after ``since``)."""
    query = (
        select(
            RecommendationEvent.event_id,
            RecommendationEvent.kind,
            Product.sku,
            Product.name,
            RecommendationEvent.channel,
            RecommendationEvent.occurred_at,
            RecommendationEvent.serve_id,
            RecommendationEvent.position,
        )
        .join(Product, Product.id == RecommendationEvent.product_id)
        .where(RecommendationEvent.customer_id == customer_id)
    )
    if since is not None:
        query = query.where(RecommendationEvent.occurred_at >= since)
    query = query.order_by(
        RecommendationEvent.occurred_at.desc(), RecommendationEvent.id.desc()
    ).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [
        FeedbackEvent(
            event_id=row[0],
            kind=RecommendationEventKind(row[1]),
            item_id=row[2],
            item_name=row[3],
            channel=row[4],
            occurred_at=row[5],
            serve_id=row[6],
            position=row[7],
        )
        for row in session.execute(query)
    ]


class ServingFeedback(NamedTuple):
    """A feedback event as serving needs it, with its product's id, name and category."""

    kind: str
    item_id: str
    occurred_at: datetime
    channel: str
    serve_id: str | None
    product_id: int
    item_name: str
    category: str


def _serving_feedback_query() -> Select[Any]:
    events = RecommendationEvent.__table__.c
    products = Product.__table__.c
    return (
        select(
            events.kind,
            products.sku,
            events.occurred_at,
            events.channel,
            events.serve_id,
            products.id,
            products.name,
            products.category,
        )
        .join_from(
            RecommendationEvent.__table__, Product.__table__, products.id == events.product_id
        )
        .where(
            events.customer_id == bindparam("customer_id"),
            events.occurred_at >= bindparam("since"),
        )
        .order_by(events.occurred_at.desc(), events.id.desc())
    )


#: Built once: building the statement and its cache key per request cost more than running it.
_SERVING_FEEDBACK = _serving_feedback_query()


def list_serving_feedback(
    session: Session, customer_id: int, *, since: datetime
) -> list[ServingFeedback]:
    """Return a customer's feedback events since ``since``, newest first, with their products.

    The hot path of serving: one statement on the session's connection (no ORM entities), and
    the products come with it, so serving need not look up the items in the history again.
    """
    rows = session.connection().execute(
        _SERVING_FEEDBACK, {"customer_id": customer_id, "since": since}
    )
    return [ServingFeedback._make(row) for row in rows]


def count_feedback_events(session: Session, customer_id: int) -> dict[str, int]:
    """Return how many feedback events of each kind a customer has."""
    rows = session.execute(
        select(RecommendationEvent.kind, func.count())
        .where(RecommendationEvent.customer_id == customer_id)
        .group_by(RecommendationEvent.kind)
    ).all()
    return {str(kind): int(n) for kind, n in rows}
