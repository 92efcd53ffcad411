"""Writes for interactions and recommendation feedback events."""

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kehu.audit import record
from kehu.commerce import Product
from kehu.core import Actor, ConflictError, InvalidInputError, as_utc, utcnow
from kehu.customers import Customer
from kehu.engagement.models import (
    Direction,
    Interaction,
    RecommendationEvent,
    RecommendationEventKind,
)
from kehu.engagement.schemas import (
    EventOutcome,
    RecommendationEventIn,
    RecommendationEventResult,
    RecommendationEventsResult,
)

_T = TypeVar("_T")


def log_interaction(
    session: Session,
    *,
    customer_id: int,
    channel: str,
    direction: Direction | str,
    occurred_at: datetime,
    actor: Actor,
    subject: str = "",
    text: str = "",
    user_id: int | None = None,
    external_id: str | None = None,
) -> Interaction:
    """Record a contact with a customer (a call, a message, a visit...)."""
    try:
        direction = Direction(direction)
    except ValueError as exc:
        raise InvalidInputError(
            f"Direction must be inbound or outbound, not {direction!r}.",
            code="engagement.bad_direction",
        ) from exc
    if external_id and session.scalar(
        select(Interaction.id).where(Interaction.external_id == external_id)
    ):
        raise ConflictError(
            f"An interaction with external id {external_id!r} already exists.",
            code="engagement.duplicate_interaction",
        )
    interaction = Interaction(
        customer_id=customer_id,
        channel=channel.strip().lower(),
        direction=direction,
        occurred_at=occurred_at,
        subject=subject,
        text=text,
        user_id=user_id,
        external_id=external_id,
    )
    session.add(interaction)
    session.flush()
    record(
        session,
        actor=actor,
        action="interaction.create",
        object_type="customer",
        object_id=customer_id,
        summary=f"{direction.value} {interaction.channel}: {subject}"[:500],
    )
    return interaction


#: Most events in one batch.
MAX_EVENTS_PER_BATCH = 1000
#: How far in the future an event's time may be (the sender's clock may run a little fast).
CLOCK_SKEW = timedelta(minutes=5)
_SAME = ("kind", "customer_id", "product_id", "channel", "occurred_at")


def _chunks(values: Sequence[_T], size: int = 500) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve_customers(session: Session, ids: set[int]) -> dict[int, int]:
    """Return each known customer id mapped to the id in force (a merged one to its winner)."""
    found: dict[int, int | None] = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.execute(
            select(Customer.id, Customer.merged_into_id).where(Customer.id.in_(chunk))
        ).all()
        found.update({row.id: row.merged_into_id for row in rows})
    return {i: (merged or i) for i, merged in found.items()}


def _resolve_products(session: Session, skus: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(skus)):
        rows = session.execute(select(Product.sku, Product.id).where(Product.sku.in_(chunk))).all()
        found.update({row.sku: row.id for row in rows})
    return found


def _problems(
    events: Sequence[RecommendationEventIn],
    customers: dict[int, int],
    products: dict[str, int],
    now: datetime,
) -> list[dict[str, Any]]:
    problems = []
    latest = now + CLOCK_SKEW
    for index, event in enumerate(events):
        reasons = []
        if event.customer_id not in customers:
            reasons.append(f"there is no customer {event.customer_id}")
        if event.item_id not in products:
            reasons.append(f"there is no product with SKU {event.item_id!r}")
        if as_utc(event.occurred_at) > latest:
            reasons.append(
                f"occurred_at {as_utc(event.occurred_at).isoformat()} is in the future "
                f"(the server's time is {now.isoformat(timespec='seconds')})"
            )
        if reasons:
            problems.append({"index": index, "event_id": event.event_id, "problems": reasons})
    return problems


def _describe(problems: list[dict[str, Any]]) -> str:
    shown = "; ".join(
        f"event {p['index']} ({p['event_id']!r}): {', '.join(p['problems'])}" for p in problems[:5]
    )
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return (
        f"{len(problems)} event(s) cannot be recorded, so none of the batch was: {shown}{more}. "
        "Fix or drop them and send the batch again (events already stored are not duplicated)."
    )


def _attribution(session: Session, event: RecommendationEvent, window: timedelta) -> str | None:
    return session.scalar(
        select(RecommendationEvent.event_id)
        .where(
            RecommendationEvent.customer_id == event.customer_id,
            RecommendationEvent.product_id == event.product_id,
            RecommendationEvent.kind.in_(
                [RecommendationEventKind.IMPRESSION, RecommendationEventKind.CLICK]
            ),
            RecommendationEvent.occurred_at >= event.occurred_at - window,
            RecommendationEvent.occurred_at <= event.occurred_at,
        )
        .order_by(RecommendationEvent.occurred_at.desc(), RecommendationEvent.id.desc())
        .limit(1)
    )


def record_recommendation_events(
    session: Session,
    events: Sequence[RecommendationEventIn],
    *,
    actor: Actor,
    now: datetime | None = None,
    attribution_days: float = 7.0,
) -> RecommendationEventsResult:
    """Store a batch of feedback events, each once (idempotent by ``event_id``).

    The batch is all or nothing: an event naming an unknown customer or SKU, or dated after
    ``now`` plus a few minutes of clock skew, refuses the whole batch with every problem
    listed. Events may come in any order and late; an event id already stored (or repeated in
    the batch) is reported as a duplicate and not stored again. A purchase is attributed to the
    newest impression or click of the same item by the same customer within
    ``attribution_days`` before it.

    Raises
    ------
    InvalidInputError
        Too many events, or events that cannot be recorded (``details`` lists them).
    """
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise InvalidInputError(
            f"A batch holds at most {MAX_EVENTS_PER_BATCH} events, not {len(events)}; split it.",
            code="engagement.batch_too_large",
        )
    now = now or utcnow()
    customers = _resolve_customers(session, {e.customer_id for e in events})
    products = _resolve_products(session, {e.item_id for e in events})
    problems = _problems(events, customers, products, now)
    if problems:
        raise InvalidInputError(_describe(problems), code="engagement.bad_events", details=problems)
    stored: dict[str, RecommendationEvent] = {}
    for chunk in _chunks(sorted({e.event_id for e in events})):
        stored.update(
            (row.event_id, row)
            for row in session.scalars(
                select(RecommendationEvent).where(RecommendationEvent.event_id.in_(chunk))
            )
        )
    results: list[RecommendationEventResult] = []
    new: list[RecommendationEvent] = []
    for event in events:
        row = RecommendationEvent(
            event_id=event.event_id,
            kind=event.kind,
            customer_id=customers[event.customer_id],
            product_id=products[event.item_id],
            channel=event.channel.lower(),
            occurred_at=as_utc(event.occurred_at),
            serve_id=event.serve_id,
            position=event.position,
            source=actor.kind,
        )
        earlier = stored.get(event.event_id)
        if earlier is not None:
            same = all(getattr(earlier, name) == getattr(row, name) for name in _SAME)
            results.append(
                RecommendationEventResult(
                    event_id=event.event_id,
                    status=EventOutcome.DUPLICATE,
                    message=None
                    if same
                    else "An event with this id but different content is stored; it is kept.",
                )
            )
            continue
        stored[event.event_id] = row
        new.append(row)
        results.append(
            RecommendationEventResult(event_id=event.event_id, status=EventOutcome.RECORDED)
        )
    session.add_all(new)
    session.flush()
    window = timedelta(days=attribution_days)
    for result, event in zip(results, events, strict=True):
        row = stored[event.event_id]
        if result.status is EventOutcome.RECORDED and row.kind == RecommendationEventKind.PURCHASE:
            result.attributed_to = _attribution(session, row, window)
    if new:
        record(
            session,
            actor=actor,
            action="recommendation_events.record",
            object_type="recommendation_event",
            summary=f"{len(new)} feedback event(s) recorded, "
            f"{len(events) - len(new)} duplicate(s) ignored",
        )
    n_recorded = len(new)
    return RecommendationEventsResult(
        n_recorded=n_recorded, n_duplicates=len(events) - n_recorded, results=results
    )


def _insert_new_events(insert: Any) -> Any:
    table = RecommendationEvent.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.id)


#: INSERT of events whose id is not stored yet, (SQLite, PostgreSQL); built once, and its rows
#: passed apart so that its compiled form is cached (SQLAlchemy still sends one multi-row
#: INSERT).
_INSERT_NEW_IMPRESSIONS = (_insert_new_events(sqlite_insert), _insert_new_events(pg_insert))


def record_impressions(
    session: Session,
    *,
    customer_id: int,
    channel: str,
    serve_id: str,
    shown: Sequence[tuple[int, float]],
    at: datetime,
    source: str = "serve",
) -> int:
    """Record that a served list was shown: one impression per (product id, score), in order.

    Idempotent: event ids are ``<serve_id>:<product id>``, so recording the same served list
    again adds nothing. No audit row: feedback events are high-volume telemetry and each row
    already says where it came from (``source``). Returns the number of impressions added.
    """
    rows = impression_rows(
        customer_id=customer_id,
        channel=channel,
        serve_id=serve_id,
        shown=shown,
        at=at,
        source=source,
        stamp=utcnow(),
    )
    if not rows:
        return 0
    session.flush()  # the products and customer may be new in this transaction
    return insert_impression_rows(session, rows)


def impression_rows(
    *,
    customer_id: int,
    channel: str,
    serve_id: str,
    shown: Sequence[tuple[int, float]],
    at: datetime,
    source: str,
    stamp: datetime,
) -> list[dict[str, Any]]:
    """Return the rows of a served list's impressions (event id ``<serve_id>:<product id>``)."""
    ids = {
        f"{serve_id}:{product_id}": (position, product_id, score)
        for position, (product_id, score) in enumerate(shown, start=1)
    }
    return [
        {
            "event_id": event_id,
            "kind": RecommendationEventKind.IMPRESSION.value,
            "customer_id": customer_id,
            "product_id": product_id,
            "channel": channel,
            "occurred_at": at,
            "serve_id": serve_id,
            "position": position,
            "score": score,
            "source": source,
            "created_at": stamp,
            "updated_at": stamp,
        }
        for event_id, (position, product_id, score) in ids.items()
    ]


def insert_impression_rows(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT impression rows whose event id is not stored yet; return how many were added.

    One INSERT that skips the event ids already stored, instead of a SELECT of them and an
    ORM flush: serving records a list on every request, and a retry racing the original then
    records nothing twice rather than failing on the unique key.
    """
    if not rows:
        return 0
    statement = _INSERT_NEW_IMPRESSIONS[session.get_bind().dialect.name == "postgresql"]
    return len(session.connection().execute(statement, list(rows)).all())
