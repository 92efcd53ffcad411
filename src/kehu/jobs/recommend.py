"""Recommendations: train the recommender on the store's order lines, and serve it with restraint.

- **Training** pulls the sale lines of known, active customers into Arrow, fits
  :class:`kehu.analytics.recommend.Recommender` and saves it (JSON + ``.npz``, never a pickle)
  in ``<model dir>/recommender``, replacing the previous one only once the new one is
  complete.
- **Serving** loads that model once per process and again whenever the saved one changes
  (its ``params.json`` is rewritten by every training). Before any training the popular items
  by number of orders in the last 90 days of data are served, with the reason ``popular``, so
  a new installation answers something useful rather than an error.
- **Restraint** (:mod:`kehu.playbooks.restraint`) is applied on top of the model's candidates
  from the customer's feedback events and the consent in force for the channel. In channels
  that show the list to the customer (all but ``console``) serving records one impression per
  item shown, unless the caller says ``record=False``; the impressions carry the ``serve_id``,
  and their event ids are ``<serve_id>:<product id>``, so a request retried with the same
  ``serve_id`` gets the same list and records nothing twice. ``kehu serve`` queues the
  impressions of web/app lists with a new serve id and stores them in batches behind the
  request (:class:`kehu.engagement.ImpressionWriter`, :attr:`Served.may_write_behind`).
"""

import datetime as dt
import functools
import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from kehu.analytics.persistence import load_model, save_model
from kehu.analytics.recommend import Reason, Recommendation, Recommender
from kehu.commerce import Order, OrderKind, OrderLine, Product
from kehu.core import InvalidInputError, KehuError, Settings, utcnow
from kehu.customers import Consent, Customer, current_consents
from kehu.engagement import ImpressionWriter, list_serving_feedback, record_impressions
from kehu.jobs._paths import _model_dir, model_dir
from kehu.jobs.outreach import OUTREACH_CHANNELS, spend_for_served
from kehu.playbooks.restraint import (
    Candidate,
    ChannelStatus,
    Event,
    RestraintPolicy,
    Withheld,
    apply_restraint,
    channel_status,
    stopped_items,
)
from kehu.privacy import AutomatedDecisionOptOut

log = logging.getLogger(__name__)

MODEL_NAME = "recommender"
#: Candidates asked of the model per item wanted, so that withheld items can be replaced.
CANDIDATE_FACTOR = 3
#: Most items one request may ask for.
MAX_K = 100
#: Window of the popularity fallback (before any model is trained).
POPULAR_DAYS = 90


# ------------------------------------------------------------------ data


def load_order_lines(session: Session, *, until: dt.datetime | None = None) -> pa.Table:
    """Return the sale lines of known, active customers (before ``until``, UTC) as Arrow.

    Returns
    -------
    pyarrow.Table
        ``customer_id`` (int64), ``order_id`` (the order's id, int64, as a batch engine's
        Parquet has it: :func:`kehu.batch.purchases_expr`), ``item_id`` (the product's SKU),
        ``timestamp`` (UTC) and ``quantity`` (int64), the columns
        :class:`kehu.analytics.recommend.Recommender` takes.
    """
    query = (
        select(Order.customer_id, Order.id, Product.sku, Order.ordered_at, OrderLine.quantity)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.kind == OrderKind.SALE,
            OrderLine.quantity > 0,
            Customer.merged_into_id.is_(None),
            Customer.is_active.is_(True),
        )
    )
    if until is not None:
        query = query.where(Order.ordered_at < until)
    rows = session.execute(query).all()
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return pa.table(
        {
            "customer_id": pa.array(columns[0], pa.int64()),
            "order_id": pa.array(columns[1], pa.int64()),
            "item_id": pa.array(columns[2], pa.string()),
            "timestamp": pc.cast(
                pa.array(columns[3], pa.timestamp("us", tz="UTC")),
                pa.timestamp("us", tz="UTC"),
            ),
            "quantity": pa.array(columns[4], pa.int64()),
        }
    )


# ------------------------------------------------------------------ where models live


def recommender_path(settings: Settings) -> Path:
    """Return the folder the trained recommender is saved in."""
    return model_dir(settings) / MODEL_NAME


# ------------------------------------------------------------------ training


@dataclass
class TrainingReport:
    """What :func:`train_recommender` did."""

    trained: bool
    message: str
    path: Path | None = None
    n_lines: int = 0
    n_customers: int = 0
    n_items: int = 0
    seconds: float = 0.0


def _replace_folder(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``; a reader sees the old or the new model, never half of one."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


class OrderLineSource(Protocol):
    """Where training gets its order lines: the store, or a batch engine over Parquet.

    :class:`kehu.batch.EnginePurchases` has the engine join and fold the lines
    (``kehu analyze --engine E --input DIR``), so only the purchases reach this process.
    """

    def order_lines(self, *, until: dt.datetime | None = None) -> pa.Table:
        """Return :func:`load_order_lines`'s columns (``quantity`` may be left out).

        A row may stand for several lines of one item in one order: the optional ``n_lines``
        column counts them (the report's line count).
        """


def train_recommender(
    session: Session,
    *,
    settings: Settings,
    until: dt.datetime | None = None,
    source: OrderLineSource | None = None,
    **params: Any,
) -> TrainingReport:
    """Fit the recommender on the sale lines and save it for serving.

    The lines come from the store, or from ``source`` (a batch engine's,
    ``kehu analyze --engine``); the same lines give the same model either way.
    Data that cannot train a model (no sale lines) give a report with ``trained=False`` and
    the reason, not an exception; serving then keeps the previous model (or the popular items).
    """
    started = time.perf_counter()
    if source is None:
        lines = load_order_lines(session, until=until)
        n_lines = lines.num_rows
    else:
        lines = source.order_lines(until=until)
        n_lines = lines.num_rows
        if "n_lines" in lines.column_names:
            n_lines = int(pc.sum(lines.column("n_lines")).as_py() or 0)
            lines = lines.drop_columns(["n_lines"])
    if lines.num_rows == 0:
        return TrainingReport(
            trained=False,
            message="There are no sale lines of known customers to learn from; import orders "
            "first (`kehu import orders FILE`). Until then the popular items are served.",
        )
    try:
        model = Recommender(**params).fit(lines)
        target = recommender_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.new-{uuid.uuid4().hex[:8]}")
        save_model(
            model,
            staging,
            metrics={"n_lines": float(n_lines), "trained_at": time.time()},
        )
        _replace_folder(staging, target)
    except (KehuError, OSError, ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, KehuError) else f"{type(exc).__name__}: {exc}"
        log.warning("recommender training failed: %s", message)
        return TrainingReport(
            trained=False,
            message=f"The recommender could not be trained: {message}",
            n_lines=n_lines,
        )
    return TrainingReport(
        trained=True,
        message="",
        path=target,
        n_lines=n_lines,
        n_customers=len(model.customer_ids_),
        n_items=len(model.item_ids_),
        seconds=time.perf_counter() - started,
    )


# ------------------------------------------------------------------ loading for serving


#: Lists of proposals remembered per process for the loaded model (least recently used go
#: first; about 10 KB each at the default candidate count).
MAX_REMEMBERED_PROPOSALS = 4096


class _ModelCache:
    """The loaded recommender, reloaded when its saved ``params.json`` changes.

    It also remembers the model's proposals per (customer, count): they depend on nothing but
    the model, and computing them (reasons included) was a quarter of a served request. They
    are forgotten with the model they came from.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, int, int] | None = None
        self._model: Recommender | None = None
        self._trained_at: dt.datetime | None = None
        self._proposals: OrderedDict[tuple[int, int], list[Recommendation]] = OrderedDict()

    def get(self, path: Path) -> tuple[Recommender | None, dt.datetime | None]:
        marker = path / "params.json"
        try:
            stat = marker.stat()
        except OSError:
            return None, None
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key != self._key:
                try:
                    model = load_model(path)
                except (KehuError, OSError, ValueError) as exc:
                    # Being replaced right now, or unreadable: keep serving what we have.
                    log.warning("recommender at %s not loaded: %s", path, exc)
                    return self._model, self._trained_at
                if not isinstance(model, Recommender):
                    return self._model, self._trained_at
                self._model, self._key = model, key
                self._proposals.clear()
                self._trained_at = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
            return self._model, self._trained_at

    def proposals(self, model: Recommender, customer_id: int, k: int) -> list[Recommendation]:
        """Return ``model.recommend(customer_id, k=k)``, remembered while ``model`` is loaded."""
        key = (customer_id, k)
        with self._lock:
            found = self._proposals.get(key) if model is self._model else None
            if found is not None:
                self._proposals.move_to_end(key)
                return list(found)
        found = model.recommend(customer_id, k=k)
        with self._lock:
            if model is self._model:
                self._proposals[key] = found
                if len(self._proposals) > MAX_REMEMBERED_PROPOSALS:
                    self._proposals.popitem(last=False)
        return list(found)

    def clear(self) -> None:
        with self._lock:
            self._key, self._model, self._trained_at = None, None, None
            self._proposals.clear()


_cache = _ModelCache()


def load_recommender(settings: Settings) -> tuple[Recommender | None, dt.datetime | None]:
    """Return the trained recommender and when it was saved, or ``(None, None)``.

    Cached per process; a newer saved model (``kehu analyze`` in another process) is picked up
    on the next call.
    """
    return _cache.get(
        _recommender_path(settings.model_dir, settings.database_url, settings.data_dir)
    )


@functools.lru_cache(maxsize=16)
def _recommender_path(model_dir_setting: Path | None, database_url: str, data_dir: Path) -> Path:
    # Cached: parsing the database URL on every request cost as much as a query.
    return _model_dir(model_dir_setting, database_url, data_dir) / MODEL_NAME


def forget_loaded_recommender() -> None:
    """Drop the cached model (tests, or after deleting the model folder)."""
    _cache.clear()


def popular_items(session: Session, *, k: int, exclude: set[str]) -> list[Recommendation]:
    """Return the items in most orders over the last :data:`POPULAR_DAYS` days of data."""
    newest = session.scalar(select(func.max(Order.ordered_at)).where(Order.kind == OrderKind.SALE))
    if newest is None:
        return []
    n_orders = func.count(func.distinct(Order.id))
    rows = session.execute(
        select(Product.sku, n_orders)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.kind == OrderKind.SALE,
            Order.ordered_at >= newest - dt.timedelta(days=POPULAR_DAYS),
            Product.in_stock.is_(True),
        )
        .group_by(Product.sku)
        .order_by(n_orders.desc(), Product.sku)
        .limit(k + len(exclude))
    ).all()
    top = max((int(n) for _, n in rows), default=1)
    return [
        Recommendation(sku, int(n) / top, (Reason("popular", None, None, 1.0),))
        for sku, n in rows
        if sku not in exclude
    ][:k]


# ------------------------------------------------------------------ serving


@dataclass(frozen=True)
class ServedItem:
    """One item served: the model's recommendation after restraint."""

    item_id: str
    name: str
    score: float
    model_score: float
    discount: float
    reasons: tuple[Reason, ...]


@dataclass
class Served:
    """A served list and everything that decided it."""

    customer_id: int
    channel: str
    serve_id: str
    served_at: dt.datetime
    items: list[ServedItem]
    withheld: list[Withheld]
    channel_closed: Withheld | None
    budget: int
    n_ignored_in_a_row: int
    model: str
    model_trained_at: dt.datetime | None
    n_recorded: int = 0
    notes: list[str] = field(default_factory=list)
    #: (product id, score) of the items to record as impressions, in order; empty when the
    #: caller or the channel records nothing.
    to_record: list[tuple[int, float]] = field(default_factory=list)
    #: The customer opted out of automated decisions (kehu.privacy): nothing is served.
    opted_out: bool = False
    #: The impressions may be stored behind the request (:class:`kehu.engagement.
    #: ImpressionWriter`): the serve id is new (not a caller's retry) and the channel has
    #: neither a frequency cap nor a contact budget that the next request must see at once.
    may_write_behind: bool = False


#: The serving queries, built once: building a statement and its cache key per request cost
#: more than running it.
_CONSENT_IN_FORCE = (
    select(Consent.__table__.c.status)
    .where(
        Consent.__table__.c.customer_id == bindparam("customer_id"),
        Consent.__table__.c.channel == bindparam("channel"),
        Consent.__table__.c.purpose == bindparam("purpose"),
    )
    .order_by(Consent.__table__.c.at.desc(), Consent.__table__.c.id.desc())
    .limit(1)
)
#: The consent in force and the automated-decisions opt-out, in one round trip.
_SERVING_FLAGS = select(
    _CONSENT_IN_FORCE.scalar_subquery(),
    select(AutomatedDecisionOptOut.__table__.c.customer_id)
    .where(AutomatedDecisionOptOut.__table__.c.customer_id == bindparam("customer_id"))
    .exists(),
)
_PRODUCTS_BY_SKU = select(
    Product.__table__.c.sku,
    Product.__table__.c.id,
    Product.__table__.c.name,
    Product.__table__.c.category,
).where(Product.__table__.c.sku.in_(bindparam("skus", expanding=True)))


def _products(session: Session, skus: set[str]) -> dict[str, tuple[int, str, str]]:
    """Return (product id, name, category) per known SKU.

    Not cached across requests: ids must come from the request's own transaction (a product
    created in a transaction that was rolled back must never be referred to).
    """
    found: dict[str, tuple[int, str, str]] = {}
    ordered = sorted(skus)
    connection = session.connection()
    for start in range(0, len(ordered), 500):
        rows = connection.execute(_PRODUCTS_BY_SKU, {"skus": ordered[start : start + 500]})
        found.update({sku: (pid, name, category) for sku, pid, name, category in rows})
    return found


def item_names(session: Session, skus: set[str]) -> dict[str, str]:
    """Return the product name of each known SKU (reasons name items by SKU)."""
    return {sku: name for sku, (_, name, _) in _products(session, skus).items()}


def plan_recommendations(
    session: Session,
    customer_id: int,
    *,
    settings: Settings,
    channel: str = "web",
    k: int = 10,
    record: bool | None = None,
    serve_id: str | None = None,
    now: dt.datetime | None = None,
    policy: RestraintPolicy | None = None,
) -> Served:
    """Decide what to serve, reading only; :func:`record_served` then records the impressions.

    The parameters are those of :func:`serve_recommendations`. Reading and recording are apart
    so that a caller may end its read transaction before it writes: on SQLite a transaction
    that will write holds the single write lock from its start, and serving under load must
    hold it only for the insert, not for the whole request.

    Raises
    ------
    InvalidInputError
        An unknown channel, or ``k`` out of range.
    """
    policy = policy or RestraintPolicy.from_settings(settings)
    channel = channel.strip().lower()
    rule = policy.channel(channel)
    if rule is None:
        names = ", ".join(r.name for r in policy.channels)
        raise InvalidInputError(
            f"There is no channel {channel!r}; use one of: {names}.", code="recs.unknown_channel"
        )
    if not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be between 1 and {MAX_K}.", code="recs.bad_k")
    now = now or utcnow()
    may_write_behind = (
        serve_id is None and rule.max_occasions is None and channel not in OUTREACH_CHANNELS
    )
    serve_id = serve_id or uuid.uuid4().hex
    session.flush()  # the reads below go to the connection, past the ORM's autoflush
    status, opted_out = (
        session.connection()
        .execute(
            _SERVING_FLAGS,
            {"customer_id": customer_id, "channel": channel, "purpose": policy.consent_purpose},
        )
        .one()
    )
    consent = None if status is None else str(status)
    if opted_out:  # PIPL art. 24 / GDPR art. 22: no automated list for them (kehu.privacy)
        return Served(
            customer_id=customer_id,
            channel=channel,
            serve_id=serve_id,
            served_at=now,
            items=[],
            withheld=[],
            channel_closed=None,
            budget=0,
            n_ignored_in_a_row=0,
            model="none (opted out of automated decisions)",
            model_trained_at=None,
            opted_out=True,
        )
    feedback = [
        row
        for row in list_serving_feedback(
            session, customer_id, since=now - dt.timedelta(days=policy.lookback_days)
        )
        if row.serve_id != serve_id
    ]
    history = [Event(e.kind, e.item_id, e.occurred_at, e.channel, e.serve_id) for e in feedback]
    products = {e.item_id: (e.product_id, e.item_name, e.category) for e in feedback}
    model, trained_at = load_recommender(settings)
    # Rounded up to a power of two: a customer's history grows with every list served, and
    # the remembered proposals (per count) would otherwise never be asked for twice.
    n_candidates = min(1 << (k * CANDIDATE_FACTOR + len(products) - 1).bit_length(), 1000)
    if model is not None:
        proposals = _cache.proposals(model, customer_id, n_candidates)
        source = "recommender"
    else:
        proposals = popular_items(session, k=n_candidates, exclude=set())
        source = "popular (no model trained yet)"
    products.update(_products(session, {p.item_id for p in proposals} - products.keys()))
    # Items the store no longer knows (a model older than a deletion) are not served.
    proposals = [p for p in proposals if p.item_id in products]
    decision = apply_restraint(
        [Candidate(p.item_id, p.score, products[p.item_id][2]) for p in proposals],
        history,
        k=k,
        now=now,
        policy=policy,
        channel=rule,
        consent=consent,
        categories={sku: category for sku, (_, _, category) in products.items()},
    )
    by_id = {p.item_id: p for p in proposals}
    items = [
        ServedItem(
            item_id=s.item_id,
            name=products[s.item_id][1],
            score=s.score,
            model_score=s.model_score,
            discount=s.factor,
            reasons=by_id[s.item_id].reasons,
        )
        for s in decision.shown
    ]
    return Served(
        customer_id=customer_id,
        channel=channel,
        serve_id=serve_id,
        served_at=now,
        items=items,
        withheld=decision.withheld,
        channel_closed=decision.channel_closed,
        budget=decision.budget,
        n_ignored_in_a_row=decision.n_ignored_in_a_row,
        model=source,
        model_trained_at=trained_at,
        to_record=(
            [(products[i.item_id][0], i.score) for i in items]
            if (rule.displays if record is None else record)
            else []
        ),
        may_write_behind=may_write_behind,
    )


def record_served(
    session: Session, served: Served, *, writer: ImpressionWriter | None = None
) -> int:
    """Record the impressions a planned list is to record; return (and set) how many were new.

    Idempotent by ``serve_id`` (see :func:`kehu.engagement.record_impressions`). With a
    ``writer``, a list that :attr:`Served.may_write_behind` is queued there (no SQL; stored
    within the writer's ``flush_ms``) and counted as recorded: its serve id is new, so every
    impression is. Other lists are written in ``session``'s transaction.
    """
    spend_for_served(session, served)  # outreach lists spend the contact budget (issue 7 §5)
    if served.to_record and writer is not None and served.may_write_behind:
        served.n_recorded = writer.submit(
            customer_id=served.customer_id,
            channel=served.channel,
            serve_id=served.serve_id,
            shown=served.to_record,
            at=served.served_at,
        )
    elif served.to_record:
        served.n_recorded = record_impressions(
            session,
            customer_id=served.customer_id,
            channel=served.channel,
            serve_id=served.serve_id,
            shown=served.to_record,
            at=served.served_at,
        )
    return served.n_recorded


def serve_recommendations(
    session: Session,
    customer_id: int,
    *,
    settings: Settings,
    channel: str = "web",
    k: int = 10,
    record: bool | None = None,
    serve_id: str | None = None,
    now: dt.datetime | None = None,
    policy: RestraintPolicy | None = None,
) -> Served:
    """Return up to ``k`` recommendations for a customer in a channel, with restraint applied.

    Plans (:func:`plan_recommendations`) and records (:func:`record_served`) in the session's
    transaction.

    Parameters
    ----------
    record
        Record the items shown as impressions; default: yes in channels that show the list to
        the customer, no in ``console``.
    serve_id
        The caller's id of this request; retrying with the same one returns the same list and
        records nothing twice. Default: a new random id.

    Raises
    ------
    InvalidInputError
        An unknown channel, or ``k`` out of range.
    """
    served = plan_recommendations(
        session,
        customer_id,
        settings=settings,
        channel=channel,
        k=k,
        record=record,
        serve_id=serve_id,
        now=now,
        policy=policy,
    )
    record_served(session, served)
    return served


@dataclass
class ChannelsOverview:
    """Every channel's status for a customer, and the items stopped in all of them."""

    channels: list[ChannelStatus]
    stopped: list[Withheld]


def channels_overview(
    session: Session,
    customer_id: int,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    policy: RestraintPolicy | None = None,
) -> ChannelsOverview:
    """Return, per channel that shows the customer anything, consent and frequency cap used/left.

    The console (which shows staff) is left out. ``stopped`` lists the items withheld from the
    customer everywhere now (ignored too often, or dismissed) and until when.
    """
    policy = policy or RestraintPolicy.from_settings(settings)
    now = now or utcnow()
    session.flush()
    history = [
        Event(e.kind, e.item_id, e.occurred_at, e.channel, e.serve_id)
        for e in list_serving_feedback(
            session, customer_id, since=now - dt.timedelta(days=policy.lookback_days)
        )
    ]
    consents = current_consents(session, customer_id)
    statuses = []
    for rule in policy.channels:
        if not rule.displays:
            continue
        consent = consents.get((rule.name, policy.consent_purpose))
        statuses.append(
            channel_status(rule, None if consent is None else str(consent), history, now=now)
        )
    return ChannelsOverview(statuses, stopped_items(history, now=now, policy=policy))


__all__ = [
    "MAX_K",
    "ChannelsOverview",
    "OrderLineSource",
    "Served",
    "ServedItem",
    "TrainingReport",
    "channels_overview",
    "forget_loaded_recommender",
    "item_names",
    "load_order_lines",
    "load_recommender",
    "model_dir",
    "plan_recommendations",
    "popular_items",
    "recommender_path",
    "record_served",
    "serve_recommendations",
    "train_recommender",
]
