"""The relationship-health analysis: stages, churn risk, cohorts, retention value, alerts.

Order lines, service contacts and account contacts → :func:`kehu.analytics.health.compute_signals`
→ stages (:func:`~kehu.analytics.health.assign_stages`) → churn risk → stored per customer,
with tasks for owners. Runs after the value analysis (``kehu analyze``), whose P(alive), tiers,
VIP owners and CLV it reads.

Decisions (also in the run's ``metrics``):

- **Churn risk** is :class:`~kehu.analytics.health.ChurnRiskModel` fitted on the business's
  own history: features at ``as_of - window``, label "no purchase in ``(as_of - window,
  as_of]``". It is checked the same way one window earlier (fitted at ``as_of - 2 window``,
  validated on the next window): AUC of the model against AUC of ``1 - P(alive)`` alone and
  of recency alone. With too little history, or a training period where everyone (or no one)
  churned, the risk is ``1 - P(alive)`` of the value analysis, and the run says so.
- **Alerts.** A VIP whose risk reaches ``health_alert_risk`` having been below it (or with no
  earlier risk), or rising by at least 0.10 above it, gets a ``churn_risk`` task for their
  owner; a customer who moves into *price-driven* or *at risk* gets a ``stage_change`` task
  (on the first run only VIPs, so a new installation is not flooded). Tasks are opened through
  :func:`kehu.relations.open_task`, idempotent by key while open.
- **Retention value** applies the geometric retention model to the value analysis's total
  CLV (see :func:`kehu.analytics.health.retention_value`).
"""

import datetime as dt
import logging
import math
import time
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.analytics import InvalidDataError
from kehu.analytics.health import (
    ChurnRiskModel,
    StageThresholds,
    assign_stages,
    cohort_curves,
    cohort_retention,
    compute_signals,
    health_features,
    next_period,
    normalise_lines,
    p_alive_or_ones,
    period_retention,
    retention_value,
    roc_auc,
    stage_outcomes,
)
from kehu.commerce import Order, OrderKind, OrderLine, Product
from kehu.core import Actor, InvalidInputError, KehuError, get_settings, utcnow
from kehu.customers import Contact, Customer
from kehu.engagement import Interaction
from kehu.health import (
    HealthErrorCode,
    HealthRun,
    HealthRunStatus,
    HealthStage,
    finish_health_run,
    previous_health,
    replace_customer_health,
    start_health_run,
)
from kehu.privacy import opted_out_ids
from kehu.relations import open_task
from kehu.service import Ticket
from kehu.value import CustomerValue, ValueTier, latest_value_run

log = logging.getLogger(__name__)

#: A VIP's risk rising by this much (and above the alert level) opens a task again.
RISK_RISE = 0.10
#: Fewer customers with a sale than this and the churn model is not fitted.
MIN_CUSTOMERS = 10
#: Days an owner gets to act on a health task.
TASK_DUE_DAYS = 7
WARNING_STAGES = (HealthStage.PRICE_DRIVEN.value, HealthStage.AT_RISK.value)


class HealthAnalysisError(KehuError):
    """The analysis cannot run on these data; the message says why and what to do."""

    status_code = 422


# ------------------------------------------------------------------ tables from the store


def _rows_to_table(rows: list[Any], names: list[str], types: list[pa.DataType]) -> pa.Table:
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table(
        {
            name: pa.array(list(col), type_)
            for name, col, type_ in zip(names, columns, types, strict=True)
        }
    )


def load_health_lines(session: Session, *, until: dt.datetime) -> pa.Table:
    """Return the order lines (sales and returns) of known, active customers before ``until``.

    Returns
    -------
    pyarrow.Table
        ``customer_id``, ``order_id``, ``timestamp`` (UTC), ``item_id`` (SKU), ``quantity``,
        ``unit_price`` and ``discount`` (the line's discount amount).
    """
    rows = session.execute(
        select(
            Order.customer_id,
            Order.external_id,
            Order.ordered_at,
            Product.sku,
            OrderLine.quantity,
            OrderLine.unit_price,
            OrderLine.discount,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.ordered_at < until,
            Customer.merged_into_id.is_(None),
            Customer.is_active.is_(True),
        )
    ).all()
    return _rows_to_table(
        [(c, o, t, s, q, float(p), float(d or 0)) for c, o, t, s, q, p, d in rows],
        ["customer_id", "order_id", "timestamp", "item_id", "quantity", "unit_price", "discount"],
        [
            pa.int64(),
            pa.string(),
            pa.timestamp("us", tz="UTC"),
            pa.string(),
            pa.int64(),
            pa.float64(),
            pa.float64(),
        ],
    )


def _service_tables(session: Session, until: dt.datetime) -> tuple[pa.Table, pa.Table]:
    interactions = session.execute(
        select(Interaction.customer_id, Interaction.occurred_at).where(
            Interaction.occurred_at < until
        )
    ).all()
    tickets = session.execute(
        select(Ticket.customer_id, Ticket.opened_at).where(
            Ticket.customer_id.is_not(None), Ticket.opened_at < until
        )
    ).all()
    stamp = pa.timestamp("us", tz="UTC")
    return (
        _rows_to_table(list(interactions), ["customer_id", "occurred_at"], [pa.int64(), stamp]),
        _rows_to_table(list(tickets), ["customer_id", "opened_at"], [pa.int64(), stamp]),
    )


def _contacts_table(session: Session) -> pa.Table:
    rows = session.execute(
        select(Contact.account_id, Contact.role, Contact.started_on, Contact.ended_on)
    ).all()
    return _rows_to_table(
        [(a, str(r), s, e) for a, r, s, e in rows],
        ["customer_id", "role", "started_on", "ended_on"],
        [pa.int64(), pa.string(), pa.date32(), pa.date32()],
    )


def _last_order_day(session: Session) -> dt.date | None:
    newest = session.scalar(
        select(func.max(Order.ordered_at))
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Customer.merged_into_id.is_(None),
            Customer.is_active.is_(True),
            Order.kind == OrderKind.SALE,
        )
    )
    return None if newest is None else newest.date()


class HealthSource(Protocol):
    """Where the analysis gets what it needs from the order lines (the store, or an engine).

    :class:`StoreLines` reads the lines into Arrow and computes in DuckDB;
    :class:`kehu.batch.EngineHealth` has a batch engine compute the same aggregates over
    Parquet (``kehu analyze --engine E --input DIR``), so only they reach this process.
    """

    def last_sale_day(self) -> dt.date | None:
        """Day of the newest sale of a known customer."""

    def first_day(self, as_of: dt.date) -> dt.date | None:
        """Day of the oldest line up to ``as_of`` (``None``: no line)."""

    def signals(self, as_of: dt.date, window_days: int, **common: Any) -> pa.Table:
        """:func:`~kehu.analytics.health.compute_signals` at ``as_of``."""

    def p_alive(self, as_of: dt.date, ids: pa.Array) -> tuple[np.ndarray, str]:
        """:func:`~kehu.analytics.health.p_alive_or_ones` at ``as_of``."""

    def next_period(self, ids: pa.Array, as_of: dt.date, days: int) -> pa.Table:
        """:func:`~kehu.analytics.health.next_period` after ``as_of``."""

    def cohorts(self, as_of: dt.date) -> pa.Table:
        """:func:`~kehu.analytics.health.cohort_retention` of the sale lines."""


class StoreLines:
    """The analysis's inputs from the store's order lines (read once, up to ``as_of``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.lines: pa.Table | None = None

    def last_sale_day(self) -> dt.date | None:
        """See :class:`HealthSource`."""
        return _last_order_day(self.session)

    def first_day(self, as_of: dt.date) -> dt.date | None:
        """See :class:`HealthSource`."""
        until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        self.lines = normalise_lines(load_health_lines(self.session, until=until))
        return pc.min(self.lines.column("day")).as_py() if self.lines.num_rows else None

    def _lines(self) -> pa.Table:
        if self.lines is None:
            raise RuntimeError("first_day() reads the lines first")
        return self.lines

    def signals(self, as_of: dt.date, window_days: int, **common: Any) -> pa.Table:
        """See :class:`HealthSource`."""
        return compute_signals(self._lines(), as_of=as_of, window_days=window_days, **common)

    def p_alive(self, as_of: dt.date, ids: pa.Array) -> tuple[np.ndarray, str]:
        """See :class:`HealthSource`."""
        return p_alive_or_ones(self._lines(), as_of, ids)

    def next_period(self, ids: pa.Array, as_of: dt.date, days: int) -> pa.Table:
        """See :class:`HealthSource`."""
        return next_period(self._lines(), ids, as_of=as_of, days=days)

    def cohorts(self, as_of: dt.date) -> pa.Table:
        """See :class:`HealthSource`."""
        lines = self._lines()
        return cohort_retention(
            pa.table(
                {
                    "customer_id": lines.column("customer_id"),
                    "date": lines.column("day"),
                    "quantity": lines.column("quantity"),
                }
            ),
            as_of=as_of,
        )


# ------------------------------------------------------------------ the analysis


def _align(ids: pa.Array, values: dict[str, float], default: float) -> np.ndarray:
    return np.array([values.get(str(c), default) for c in ids.to_pylist()], dtype=np.float64)


def _churn_model(
    source: HealthSource,
    signals: pa.Table,
    p_alive_now: np.ndarray,
    *,
    as_of: dt.date,
    window: int,
    first_day: dt.date,
    common: dict[str, Any],
    thresholds: StageThresholds,
    figures: dict[str, Any],
) -> np.ndarray | None:
    """Fit the churn model one window back and score now; check it one more window back."""
    step = dt.timedelta(days=window)
    train_day = as_of - step
    if signals.num_rows < MIN_CUSTOMERS:
        figures["churn"] = {
            "skipped": f"Only {signals.num_rows} customer(s) bought something: the churn model "
            f"needs at least {MIN_CUSTOMERS}; churn risk is 1 - P(alive) until then."
        }
        return None
    if train_day <= first_day:
        figures["churn"] = {
            "skipped": f"The history starts on {first_day}: the churn model needs more than "
            f"{window} days of it; churn risk is 1 - P(alive) until then."
        }
        return None

    cache: dict[dt.date, tuple[pa.Table, np.ndarray, pa.Table]] = {}

    def history_at(day: dt.date) -> tuple[pa.Table, np.ndarray, pa.Table]:
        """Signals, P(alive) and next-window outcome at ``day``, each computed once."""
        if day not in cache:
            sig = source.signals(day, window, **common)
            ids = sig.column("customer_id").combine_chunks()
            cache[day] = (
                sig,
                source.p_alive(day, ids)[0],
                source.next_period(ids, day, window),
            )
        return cache[day]

    def fit_at(day: dt.date) -> ChurnRiskModel:
        sig, p, outcome = history_at(day)
        return ChurnRiskModel().fit(health_features(sig, p), outcome.column("churned"))

    try:
        model = fit_at(train_day)
    except KehuError as exc:
        figures["churn"] = {
            "skipped": f"The churn model could not be fitted: {exc.message} Churn risk is "
            "1 - P(alive) until then."
        }
        return None
    check: dict[str, Any] = {}
    if train_day - step > first_day:
        try:
            earlier = fit_at(train_day - step)
            sig, p, outcome = history_at(train_day)
            y = outcome.column("churned").to_numpy(zero_copy_only=False).astype(bool)
            risk = earlier.predict_risk(health_features(sig, p))
            stages = [r.stage for r in assign_stages(sig, thresholds)]
            check = {
                "fitted_at": (train_day - step).isoformat(),
                "validated_at": train_day.isoformat(),
                "n_customers": len(y),
                "churn_rate": float(y.mean()) if len(y) else None,
                "auc_model": roc_auc(y, risk),
                "auc_p_alive": roc_auc(y, 1.0 - p),
                "auc_recency": roc_auc(y, sig.column("recency_days").to_numpy()),
                "stages": stage_outcomes(stages, y, outcome.column("next_spend").to_numpy()),
            }
        except KehuError as exc:
            check = {"skipped": f"The held-out check could not run: {exc.message}"}
    else:
        check = {"skipped": "The history is too short for a held-out check (three windows)."}
    figures["churn"] = {
        "fitted_at": train_day.isoformat(),
        "n_train": model.n_customers_,
        "train_churn_rate": model.base_rate_,
        "coefficients": model.coefficients(),
        "check": check,
    }
    return model.predict_risk(health_features(signals, p_alive_now))


def _retention(
    session: Session, signals: pa.Table, window: int
) -> tuple[dict[str, Any] | None, str, str]:
    """Return (retention value, note, currency) from the value analysis's CLV."""
    run = latest_value_run(session)
    r = period_retention(
        signals.column("orders_then").to_numpy(), signals.column("orders_now").to_numpy()
    )
    if r is None:
        return None, "No customer bought in two successive windows: retention is unknown.", ""
    if run is None:
        return None, "Run the value analysis first: the retention value needs its CLV.", ""
    total = float(session.scalar(select(func.coalesce(func.sum(CustomerValue.clv), 0))) or 0)
    periods = max(1, math.ceil(run.horizon_weeks * 7 / window))
    per_period = (1.0 + run.discount_rate_annual) ** (window / 365.25) - 1.0
    value = retention_value(
        retention=r,
        base_value=total,
        periods=periods,
        period_days=window,
        discount_rate_per_period=per_period,
    )
    return value.as_dict(), "", run.currency


def _open_tasks(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    first_run: bool,
    alert_risk: float,
    actor: Actor,
) -> int:
    ids = [row["customer_id"] for row in rows]
    info: dict[int, tuple[int | None, str | None]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found: list[Any] = list(
            session.execute(
                select(Customer.id, Customer.owner_id, CustomerValue.tier)
                .outerjoin(CustomerValue, CustomerValue.customer_id == Customer.id)
                .where(Customer.id.in_(chunk))
            )
        )
        for cid, owner, tier in found:
            info[int(cid)] = (owner, None if tier is None else str(tier))
    due = utcnow() + dt.timedelta(days=TASK_DUE_DAYS)
    alerts: list[tuple[int, int | None, str, str, dict[str, Any], str]] = []
    for row in rows:
        customer_id = row["customer_id"]
        owner, tier_code = info.get(customer_id, (None, None))
        is_vip = tier_code == ValueTier.VIP.value
        risk, before = row["churn_risk"], row["previous_risk"]
        evidence = {**row["evidence"], "churn_risk": risk, "previous_risk": before}
        if (
            is_vip
            and risk >= alert_risk
            and (before is None or before < alert_risk or risk - before >= RISK_RISE)
        ):
            was_risk = "" if before is None else f" (was {before:.0%})"
            title = f"VIP churn risk {risk:.0%}{was_risk}"
            alerts.append((customer_id, owner, "churn_risk", title, evidence, ""))
        stage, was = row["stage"], row["previous_stage"]
        moved = was is not None and was != stage
        if stage in WARNING_STAGES and (moved or (first_run and is_vip)):
            title = f"Now {stage.replace('_', ' ')}" + (
                "" if was is None else f" (was {was.replace('_', ' ')})"
            )
            evidence = {**evidence, "stage": stage, "previous_stage": was}
            alerts.append((customer_id, owner, "stage_change", title, evidence, f":{stage}"))
    for customer_id, owner, kind, title, evidence, key in alerts:
        open_task(
            session,
            customer_id=customer_id,
            kind=kind,
            title=title,
            owner_id=owner,
            due_at=due,
            evidence=evidence,
            dedupe_key=f"health:{kind}:{customer_id}{key}",
            actor=actor,
        )
    return len(alerts)


def _analyse(
    session: Session,
    run: HealthRun,
    *,
    actor: Actor,
    figures: dict[str, Any],
    as_of: dt.date | None,
    window: int,
    thresholds: StageThresholds,
    alert_risk: float,
    source: HealthSource,
) -> None:
    started = time.perf_counter()
    as_of = as_of or source.last_sale_day()
    if as_of is None:
        raise HealthAnalysisError(
            "There are no orders of known customers to analyse; import orders first "
            "(`kehu import orders FILE`).",
            code=HealthErrorCode.NO_ORDERS,
        )
    figures["as_of"] = as_of
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    first_day = source.first_day(as_of)
    if first_day is None:
        raise HealthAnalysisError(
            f"There are no order lines of known customers on or before {as_of}.",
            code=HealthErrorCode.NO_ORDERS,
        )
    interactions, tickets = _service_tables(session, until)
    common = {
        "interactions": interactions,
        "tickets": tickets,
        "contacts": _contacts_table(session),
    }
    timings = {"load_s": time.perf_counter() - started}
    signals = source.signals(as_of, window, **common)
    results = assign_stages(signals, thresholds)
    ids = signals.column("customer_id").combine_chunks()
    timings["signals_s"] = time.perf_counter() - started

    stored = {
        str(cid): float(p)
        for cid, p in session.execute(select(CustomerValue.customer_id, CustomerValue.p_alive))
    }
    if stored:
        p_alive = _align(ids, stored, 1.0)
        p_source = "value analysis"
    else:
        # Stages need no P(alive); without one every customer gets the same (1).
        p_alive, why = source.p_alive(as_of, ids)
        p_source = f"none ({why})" if why else "BG/NBD fitted here (no value analysis yet)"
    risk = _churn_model(
        source,
        signals,
        p_alive,
        as_of=as_of,
        window=window,
        first_day=first_day,
        common=common,
        thresholds=thresholds,
        figures=figures,
    )
    risk_source = "churn model"
    if risk is None:
        risk = 1.0 - p_alive
        risk_source = "1 - P(alive)"
    timings["churn_s"] = time.perf_counter() - started

    before = previous_health(session)
    excluded = opted_out_ids(session)  # no automated stage or risk for them (kehu.privacy)
    rows = []
    for i, result in enumerate(results):
        cid = int(result.customer_id)
        if cid in excluded:
            continue
        prev = before.get(cid)
        rows.append(
            {
                "customer_id": cid,
                "stage": result.stage,
                "previous_stage": None if prev is None else prev[0],
                "churn_risk": float(np.clip(risk[i], 0.0, 1.0)),
                "previous_risk": None if prev is None else prev[1],
                "p_alive": float(p_alive[i]),
                "evidence": result.evidence_dict(),
            }
        )
    replace_customer_health(session, run, rows, actor=actor)
    n_tasks = _open_tasks(session, rows, first_run=not before, alert_risk=alert_risk, actor=actor)
    timings["store_s"] = time.perf_counter() - started

    cohorts = cohort_curves(source.cohorts(as_of))
    value, note, currency = _retention(session, signals, window)
    timings["cohorts_s"] = time.perf_counter() - started
    churn = figures.pop("churn", {})
    counts = {stage.value: 0 for stage in HealthStage}
    for result in results:
        counts[result.stage] += 1
    figures.update(
        n_customers=len(rows),
        n_tasks=n_tasks,
        metrics={
            "churn": churn,
            "thresholds": thresholds.model_dump(),
            "stages": counts,
            "risk_source": risk_source,
            "p_alive_source": p_source,
            "alert_risk": alert_risk,
            "discount_basis": (signals.schema.metadata or {})
            .get(b"kehu.discount_basis", b"")
            .decode(),
            "cohorts": cohorts,
            "retention_value": value,
            "retention_value_note": note,
            "currency": currency,
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
        },
        message="" if risk_source == "churn model" else str(churn.get("skipped", "")),
    )


def run_health_analysis(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date | None = None,
    window_days: int | None = None,
    thresholds: StageThresholds | None = None,
    alert_risk: float | None = None,
    source: HealthSource | None = None,
) -> HealthRun:
    """Stage every customer, score churn risk, alert owners and record the run.

    The caller owns the transaction and commits. Data the analysis cannot use give a run with
    status ``failed`` and a message a person can act on; only bad arguments raise.

    Parameters
    ----------
    as_of
        Observation end (inclusive); by default the day of the newest sale.
    window_days
        Days of each signal window and of the churn period (default: the setting).
    thresholds
        Stage rules (default :class:`~kehu.analytics.health.StageThresholds`).
    alert_risk
        Churn risk that alerts a VIP's owner (default: the setting).
    source
        Where the order lines' aggregates come from (default :class:`StoreLines`: the
        store; ``kehu analyze --engine`` passes a batch engine's).

    Raises
    ------
    InvalidInputError
        An argument out of range.
    """
    settings = get_settings()
    window = window_days if window_days is not None else settings.health_window_days
    alert = alert_risk if alert_risk is not None else settings.health_alert_risk
    if not 7 <= window <= 730 or not 0 < alert <= 1:
        raise InvalidInputError(
            "window_days must be between 7 and 730 and alert_risk above 0 and at most 1.",
            code=HealthErrorCode.BAD_PARAMETER,
        )
    run = start_health_run(session, actor=actor, window_days=window)
    figures: dict[str, Any] = {}
    try:
        with session.begin_nested():
            _analyse(
                session,
                run,
                actor=actor,
                figures=figures,
                as_of=as_of,
                window=window,
                thresholds=thresholds or StageThresholds(),
                alert_risk=alert,
                source=source or StoreLines(session),
            )
    except (KehuError, InvalidDataError) as exc:
        message = getattr(exc, "message", str(exc))
        log.warning("health analysis %s failed: %s", run.id, message)
        return finish_health_run(
            session,
            run,
            actor=actor,
            status=HealthRunStatus.FAILED,
            message=f"The health analysis failed: {message}",
            metrics={"error_code": getattr(exc, "code", HealthErrorCode.UNEXPECTED.value)},
            **{k: figures[k] for k in ("as_of",) if k in figures},
        )
    except Exception as exc:  # a run must end recorded, whatever broke
        log.exception("health analysis %s failed unexpectedly", run.id)
        return finish_health_run(
            session,
            run,
            actor=actor,
            status=HealthRunStatus.FAILED,
            message=(
                f"The health analysis failed unexpectedly ({type(exc).__name__}: {exc}); "
                "please report this with the server log."
            )[:2000],
            metrics={"error_code": HealthErrorCode.UNEXPECTED.value},
        )
    message = figures.pop("message")
    return finish_health_run(
        session, run, actor=actor, status=HealthRunStatus.SUCCEEDED, message=message, **figures
    )
