"""The customer-value analysis, from orders to scores, tiers, segments and VIP owners.

Orders → RFM summary → BG/NBD + Gamma-Gamma → P(alive), expected purchases, CLV → value tiers,
RFM segments, VIP owners, and a holdout check of the purchase model.

Decisions (also in the run's ``metrics`` so a reader of a run can tell):

- **Who is scored.** Active, not merged customers with at least one purchase day on or before
  the observation end ``as_of`` (a day with only returns is not a purchase). Others are counted
  in ``n_customers`` but get no score. Orders after ``as_of`` are ignored.
- **Gamma-Gamma** is fitted only on customers with a repeat purchase of positive value (the
  model describes spend per repeat transaction; one-time buyers carry no information on the
  spread around a customer's own mean). Everyone then gets the model's expected spend: the
  population mean for customers without such purchases.
- **CLV** is the discounted value over ``horizon_weeks`` in calendar months
  (``round(weeks * 7 / 30.44)``), at the monthly rate equivalent to ``discount_rate_annual``.
- **Tiers.** Customers are ranked by CLV (ties: lower customer id first). The top
  ``ceil(vip_share n)`` are VIP, up to ``ceil((vip_share + 0.3) n)`` high, up to
  ``ceil((vip_share + 0.6) n)`` medium, the rest low (shares rounded to 9 decimals before the
  ceiling, so 0.3 x 10 is 3, not 4).
- **Opted out.** Customers who opted out of automated decisions (``kehu.privacy``) are left
  out before the fits: no score, tier or rank (``metrics.summary.n_opted_out`` counts them).
- **RFM** uses days since the last purchase day, the number of purchase days, and the net
  total spend up to ``as_of``.
- **Fits** are unpenalised maximum likelihood; when the data do not identify a model the run
  fails with the library's reason rather than storing meaningless scores.
"""

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    holdout_report,
    summarize_transactions,
)
from kehu.analytics.segments import rfm_scores
from kehu.core import Actor, InvalidInputError, KehuError, get_settings
from kehu.jobs._tables import count_active_customers, last_order_day, load_orders
from kehu.privacy import opted_out_ids
from kehu.service import retier_open_tickets
from kehu.value import (
    ValueErrorCode,
    ValueRun,
    ValueRunStatus,
    ValueTier,
    assign_vip_owners,
    compute_dashboard_figures,
    finish_value_run,
    money,
    reassign_customers_of_inactive_owners,
    replace_customer_values,
    start_value_run,
)

log = logging.getLogger(__name__)

#: Fewer customers with a sale than this and the models (4 and 3 parameters) are not fitted.
MIN_CUSTOMERS = 10
DAYS_PER_MONTH = 365.25 / 12
#: The tiers below VIP take 30 % of customers each.
TIER_STEP = 0.30


class ValueAnalysisError(KehuError):
    """The analysis cannot run on these data; the message says why and what to do."""

    status_code = 422


@dataclass(frozen=True)
class ComputedOrders:
    """The orders' figures the analysis needs, computed by a batch engine (``kehu.batch``).

    Given to :func:`run_value_analysis`, they replace loading the orders from the store:
    ``summary`` has :func:`summarize_transactions`' columns plus ``total_spend``;
    ``summarize(calibration_end, holdout_end)`` gives the holdout check's summary.
    """

    as_of: dt.date
    n_orders: int
    currencies: list[str]
    summary: pa.Table
    summarize: Callable[[dt.date, dt.date], pa.Table]


def _check_arguments(
    horizon_weeks: int, discount_rate_annual: float, vip_share: float, holdout_weeks: int | None
) -> None:
    problems = []
    if not 1 <= horizon_weeks <= 520:
        problems.append("horizon_weeks must be between 1 and 520")
    if not 0 <= discount_rate_annual <= 1:
        problems.append("discount_rate_annual must be between 0 and 1 (0.10 = 10 % a year)")
    if not 0 < vip_share <= 1:
        problems.append("vip_share must be above 0 and at most 1 (0.2 = the top 20 %)")
    if holdout_weeks is not None and not 0 <= holdout_weeks <= 260:
        problems.append("holdout_weeks must be between 0 (no check) and 260")
    if problems:
        raise InvalidInputError("; ".join(problems) + ".", code=ValueErrorCode.BAD_PARAMETER)


def tier_bounds(n: int, vip_share: float) -> tuple[int, int, int]:
    """Return how many of ``n`` ranked customers are VIP, VIP or high, VIP to medium.

    Examples
    --------
    >>> tier_bounds(10, 0.2)
    (2, 5, 8)
    >>> tier_bounds(7, 0.2)
    (2, 4, 6)
    """

    def upto(share: float) -> int:
        return min(n, math.ceil(round(min(share, 1.0) * n, 9)))

    return upto(vip_share), upto(vip_share + TIER_STEP), upto(vip_share + 2 * TIER_STEP)


def _fit(model_type: type[Any], summary: pa.Table) -> Any:
    """Fit without a penalty: a likelihood with no interior maximum fails the run.

    A penalised retry was tried and rejected: on degenerate data (every customer alike) it
    "converges" to meaningless parameters (b ~ 1e-10) and hides that the data do not identify
    the model. The one exception kept is a purchase model whose *dropout* the data cannot
    identify while the purchase rates are well determined: a year of retail history in which
    nobody has visibly left (the bundled Online Retail II slice is such a case). That fit is
    kept, its dropout parameters are reported as not identified, and the run says so.
    """
    if model_type is GammaGammaModel:
        return model_type().fit(summary)
    return model_type(unidentified_dropout="keep").fit(summary)


def _model_figures(model: Any) -> dict[str, Any]:
    figures = {
        "model": model.model_name,
        "params": model.params_,
        "standard_errors": model.standard_errors_,
        "log_likelihood": model.log_likelihood_,
        "n_customers": model.n_customers_,
        "n_distinct": model.n_distinct_,
        "penalizer": model.penalizer,
    }
    for extra in ("n_excluded_", "frequency_spend_correlation_"):
        if hasattr(model, extra):
            figures[extra.rstrip("_")] = getattr(model, extra)
    return figures


def _holdout(
    summarize: Callable[[dt.date, dt.date], pa.Table],
    as_of: dt.date,
    first_day: dt.date,
    holdout_weeks: int | None,
) -> tuple[dt.date | None, dict[str, Any]]:
    """Fit on the data up to ``as_of - holdout`` and compare with the holdout's purchases."""
    span_days = (as_of - first_day).days
    days = min(26 * 7, span_days // 3) if holdout_weeks is None else holdout_weeks * 7
    if days < 7:
        return None, {
            "skipped": "The history is too short for a holdout check (it needs a holdout of "
            "at least a week and twice as much history before it)."
        }
    calibration_end = as_of - dt.timedelta(days=days)
    try:
        summary = summarize(calibration_end, as_of)
        model = _fit(BetaGeoModel, summary)
        report = holdout_report(model, summary).as_dict()
    except KehuError as exc:
        return calibration_end, {"skipped": f"The holdout check could not run: {exc.message}"}
    report["holdout_weeks"] = days / 7
    report["params"] = model.params_
    return calibration_end, report


def _ranks(clv: np.ndarray, customer_ids: np.ndarray) -> np.ndarray:
    """Return 1-based value ranks: highest CLV first, ties by lower customer id."""
    order = np.lexsort((customer_ids, -clv))
    ranks = np.empty(len(clv), dtype=np.int64)
    ranks[order] = np.arange(1, len(clv) + 1)
    return ranks


def _analyse(
    session: Session,
    run: ValueRun,
    *,
    actor: Actor,
    figures: dict[str, Any],
    as_of: dt.date | None,
    horizon_weeks: int,
    discount_rate_annual: float,
    vip_share: float,
    holdout_weeks: int | None,
    computed: ComputedOrders | None = None,
) -> None:
    started = time.perf_counter()
    figures["n_customers"] = count_active_customers(session)
    if computed is not None:
        as_of = computed.as_of
    as_of = as_of or last_order_day(session)
    if as_of is None:
        raise ValueAnalysisError(
            "There are no orders of known customers to analyse; import orders first "
            "(`kehu import orders FILE`).",
            code=ValueErrorCode.NO_ORDERS,
        )
    figures["observation_end"] = as_of
    if computed is None:
        until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        orders = load_orders(session, until=until)
        computed = _store_orders(orders, as_of)
    figures["n_orders"] = computed.n_orders
    timings = {"load_s": time.perf_counter() - started}
    if computed.n_orders == 0:
        raise ValueAnalysisError(
            f"There are no orders of known customers on or before {as_of}; choose a later "
            "date or import orders first.",
            code=ValueErrorCode.NO_ORDERS,
        )
    everyone = computed.summary
    # Customers whose first purchase is on the last day (T = 0) add nothing to the likelihood
    # but are scored like everyone else: a new customer's prior expectation.
    summary = _without_opted_out(session, everyone)
    n = summary.num_rows
    n_too_new = int(pc.sum(pc.equal(summary.column("T"), 0.0)).as_py() or 0)
    if n < MIN_CUSTOMERS:
        raise ValueAnalysisError(
            f"Only {n} customer(s) bought something before {as_of}; the value models need at "
            f"least {MIN_CUSTOMERS} (and give stable figures from a few hundred).",
            code=ValueErrorCode.TOO_FEW_CUSTOMERS,
        )
    timings["summary_s"] = time.perf_counter() - started

    purchases = _fit(BetaGeoModel, summary)
    spend = _fit(GammaGammaModel, summary)
    timings["fit_s"] = time.perf_counter() - started
    unit_weeks = float(horizon_weeks)
    months = max(1, round(horizon_weeks * 7 / DAYS_PER_MONTH))
    monthly_rate = (1.0 + discount_rate_annual) ** (1 / 12) - 1.0
    p_alive = purchases.probability_alive(summary)
    expected = purchases.expected_purchases(summary, horizon=unit_weeks)
    expected_spend = spend.expected_spend(summary)
    clv = customer_lifetime_value(
        purchases, spend, summary, months=months, discount_rate=monthly_rate
    )
    if not (np.all(np.isfinite(clv)) and np.all(np.isfinite(expected_spend))):
        raise ValueAnalysisError(
            "The models gave non-finite values for some customers; the data may hold extreme "
            "amounts. Check the largest orders.",
            code=ValueErrorCode.FIT_FAILED,
        )

    customer_ids = pc.cast(summary.column("customer_id"), pa.int64()).to_numpy()
    last_purchase = summary.column("last_purchase").to_pylist()
    recency_days = np.array([(as_of - day).days for day in last_purchase], dtype=np.float64)
    frequency = summary.column("frequency").to_numpy().astype(np.int64)
    total_spend = summary.column("total_spend").to_numpy().astype(np.float64)
    rfm = rfm_scores(recency_days, frequency + 1, total_spend)

    clv_cents = np.round(clv, 2)
    ranks = _ranks(clv_cents, customer_ids)
    n_vip, n_high, n_medium = tier_bounds(n, vip_share)
    tiers = np.where(
        ranks <= n_vip,
        ValueTier.VIP.value,
        np.where(
            ranks <= n_high,
            ValueTier.HIGH.value,
            np.where(ranks <= n_medium, ValueTier.MEDIUM.value, ValueTier.LOW.value),
        ),
    )
    columns = {
        "customer_id": customer_ids.tolist(),
        "frequency": frequency.tolist(),
        "recency": summary.column("recency").to_pylist(),
        "t": summary.column("T").to_pylist(),
        "monetary_value": [money(v) for v in summary.column("monetary_value").to_pylist()],
        "p_alive": p_alive.tolist(),
        "expected_purchases": expected.tolist(),
        "expected_spend": [money(v) for v in expected_spend.tolist()],
        "clv": [money(v) for v in clv_cents.tolist()],
        "value_rank": ranks.tolist(),
        "value_percentile": np.round(100.0 * (n - ranks + 1) / n, 4).tolist(),
        "tier": tiers.tolist(),
        "rfm_r": rfm.r.tolist(),
        "rfm_f": rfm.f.tolist(),
        "rfm_m": rfm.m.tolist(),
        "rfm_segment": rfm.segment.tolist(),
        "total_spend": [money(v) for v in total_spend.tolist()],
        "last_purchase_on": last_purchase,
    }
    replace_customer_values(session, run, columns, actor=actor)
    timings["scores_s"] = time.perf_counter() - started

    departed = reassign_customers_of_inactive_owners(session, actor=actor)
    owners = assign_vip_owners(session, actor=actor)
    timings["owners_s"] = time.perf_counter() - started

    first_day = min(summary.column("first_purchase").to_pylist())
    calibration_end, holdout = _holdout(computed.summarize, as_of, first_day, holdout_weeks)
    timings["holdout_s"] = time.perf_counter() - started

    # The dashboards read these instead of every score and order on each visit (issue 8 §3).
    dashboard = compute_dashboard_figures(session).model_dump(mode="json")
    timings["dashboard_s"] = time.perf_counter() - started

    total = float(clv_cents.sum())
    sorted_clv = np.sort(clv_cents)[::-1]
    tier_sizes = {tier.value: int((tiers == tier.value).sum()) for tier in ValueTier}
    currencies = computed.currencies
    warnings = [m for m in (departed.message, owners.message) if m]
    if purchases.unidentified_params_:
        warnings.append(
            "The data show no customer dropout yet (BG/NBD "
            f"{', '.join(purchases.unidentified_params_)} not identified): P(alive) is near 1 "
            "for everyone, so churn risk has to come from recency (RFM) until more history "
            "accumulates."
        )
    if len(currencies) > 1:
        warnings.append(
            f"Orders are in several currencies ({', '.join(currencies)}) and were added as "
            "they are; convert them to one currency for meaningful values."
        )
    figures.update(
        n_scored=n,
        n_vip=n_vip,
        n_owner_changes=len(departed.changes) + len(owners.changes),
        total_clv=money(total),
        calibration_end=calibration_end,
        currency=currencies[0] if len(currencies) == 1 else run.currency,
        parameters={
            "purchases": _model_figures(purchases),
            "spend": _model_figures(spend),
            "months": months,
            "monthly_discount_rate": monthly_rate,
            "time_unit": "week",
        },
        metrics={
            "holdout": holdout,
            "tiers": tier_sizes,
            "pareto": {
                "customer_share": vip_share,
                "value_share": float(sorted_clv[:n_vip].sum() / total) if total > 0 else 0.0,
            },
            "summary": {
                "n_without_sale": figures["n_customers"] - everyone.num_rows,
                "n_opted_out": everyone.num_rows - n,
                "n_first_purchase_on_last_day": n_too_new,
                "n_repeat_buyers": int((frequency > 0).sum()),
                "mean_p_alive": float(p_alive.mean()),
                "expected_purchases": float(expected.sum()),
            },
            "owners": {"departed": departed.as_dict(), "vip": owners.as_dict()},
            "currencies": currencies,
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
        },
        dashboard_figures=dashboard,
        message=" ".join(warnings),
    )


def _without_opted_out(session: Session, summary: pa.Table) -> pa.Table:
    """Drop customers who opted out of automated decisions: no score, no tier (kehu.privacy)."""
    excluded = opted_out_ids(session)
    if not excluded or summary.num_rows == 0:
        return summary
    ids = pc.cast(summary.column("customer_id"), pa.int64())
    return summary.filter(pc.invert(pc.is_in(ids, pa.array(sorted(excluded), pa.int64()))))


def _store_orders(orders: pa.Table, as_of: dt.date) -> ComputedOrders:
    """Compute :class:`ComputedOrders` from the orders loaded from the store."""
    transactions = orders.select(["customer_id", "timestamp", "amount"])

    def summarize(calibration_end: dt.date, holdout_end: dt.date) -> pa.Table:
        return summarize_transactions(
            transactions, calibration_end=calibration_end, holdout_end=holdout_end
        )

    if orders.num_rows == 0:
        summary = pa.table({"customer_id": pa.array([], pa.string())})
    else:
        summary = summarize_transactions(transactions, calibration_end=as_of)
        spent = transactions.group_by("customer_id").aggregate([("amount", "sum")])
        spent_by_id = dict(
            zip(
                spent.column("customer_id").to_pylist(),
                spent.column("amount_sum").to_pylist(),
                strict=True,
            )
        )
        ids = pc.cast(summary.column("customer_id"), pa.int64()).to_pylist()
        total = pa.array([spent_by_id[c] for c in ids], pa.float64())
        summary = summary.append_column("total_spend", total)
    return ComputedOrders(
        as_of=as_of,
        n_orders=orders.num_rows,
        currencies=sorted(set(orders.column("currency").to_pylist())),
        summary=summary,
        summarize=summarize,
    )


def _known(figures: dict[str, Any]) -> dict[str, Any]:
    """Return the figures a failed run still reports (counts gathered before it failed)."""
    return {k: figures[k] for k in ("n_customers", "n_orders", "observation_end") if k in figures}


def run_value_analysis(
    session: Session,
    *,
    actor: Actor,
    as_of: dt.date | None = None,
    horizon_weeks: int = 52,
    discount_rate_annual: float = 0.10,
    vip_share: float = 0.20,
    holdout_weeks: int | None = None,
    computed: ComputedOrders | None = None,
) -> ValueRun:
    """Score every customer's value and record the run (succeeded or failed).

    The caller owns the transaction and commits. Data that the models cannot use (no orders,
    too few customers, a fit without a maximum...) gives a run with status ``failed`` and a
    message a person can act on, never an exception; only bad arguments raise.

    Parameters
    ----------
    as_of
        Observation end (inclusive); by default the day of the newest order.
    horizon_weeks
        Horizon of expected purchases and CLV.
    discount_rate_annual
        Yearly discount rate of the CLV.
    vip_share
        Share of scored customers in the VIP tier.
    holdout_weeks
        Length of the holdout check; ``None`` picks a third of the history up to 26 weeks,
        0 skips the check.
    computed
        The orders' figures from a batch engine (``kehu analyze --engine spark``) instead of
        the orders in the store; its ``as_of`` wins over ``as_of``.

    Returns
    -------
    ValueRun
        The run, flushed.

    Raises
    ------
    InvalidInputError
        An argument out of range.
    """
    _check_arguments(horizon_weeks, discount_rate_annual, vip_share, holdout_weeks)
    run = start_value_run(
        session,
        actor=actor,
        horizon_weeks=horizon_weeks,
        discount_rate_annual=discount_rate_annual,
        vip_share=vip_share,
        currency=get_settings().default_currency,
    )
    figures: dict[str, Any] = {}
    try:
        with session.begin_nested():
            _analyse(
                session,
                run,
                actor=actor,
                figures=figures,
                as_of=as_of,
                horizon_weeks=horizon_weeks,
                discount_rate_annual=discount_rate_annual,
                vip_share=vip_share,
                holdout_weeks=holdout_weeks,
                computed=computed,
            )
            # Open tickets take their customer's new tier (a new VIP gets the VIP promise).
            retimed = retier_open_tickets(session, actor=actor)
            if retimed:
                log.info("value analysis %s re-timed %d open tickets", run.id, retimed)
    except KehuError as exc:
        log.warning("value analysis %s failed: %s", run.id, exc.message)
        message = f"The value analysis failed: {exc.message}"
        return finish_value_run(
            session,
            run,
            actor=actor,
            status=ValueRunStatus.FAILED,
            message=message,
            metrics={"error_code": exc.code},
            **_known(figures),
        )
    except Exception as exc:  # a run must end recorded, whatever broke
        log.exception("value analysis %s failed unexpectedly", run.id)
        message = (
            f"The value analysis failed unexpectedly ({type(exc).__name__}: {exc}); "
            "please report this with the server log."
        )
        return finish_value_run(
            session,
            run,
            actor=actor,
            status=ValueRunStatus.FAILED,
            message=message[:2000],
            metrics={"error_code": ValueErrorCode.UNEXPECTED.value},
            **_known(figures),
        )
    message = figures.pop("message")
    return finish_value_run(
        session, run, actor=actor, status=ValueRunStatus.SUCCEEDED, message=message, **figures
    )
