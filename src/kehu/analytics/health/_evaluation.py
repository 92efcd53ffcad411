"""Check the health stages and the churn model on a business's own history (temporal split).

At ``as_of`` every customer gets signals and a stage from the data up to that day only; the
next ``window_days`` days tell who churned (bought nothing) and what they spent. The stage
table reports each stage's churn rate and its **lift** (stage churn rate over the overall
rate) and the next-period spend against the mean.

The churn model is fitted one window earlier -- features at ``as_of - window``, labels from
``(as_of - window, as_of]`` -- and validated on the held-out period after ``as_of``: the AUC of
its risk against the AUC of ``1 - P(alive)`` alone (BG/NBD fitted on the data up to the
respective day) and of recency alone.
"""

import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kehu.analytics._base import InvalidDataError
from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    summarize_transactions,
)
from kehu.analytics.health._churn import ChurnRiskModel, health_features, next_period, roc_auc
from kehu.analytics.health._cohorts import (
    cohort_curves,
    cohort_retention,
    period_retention,
    retention_value,
)
from kehu.analytics.health._signals import as_date, compute_signals, normalise_lines
from kehu.analytics.health._stages import STAGES, StageThresholds, assign_stages, stage_table
from kehu.core import KehuError


def _transactions(lines: pa.Table) -> pa.Table:
    amount = pc.subtract(
        pc.multiply(lines.column("quantity"), lines.column("unit_price")), lines.column("discount")
    )
    return pa.table(
        {"customer_id": lines.column("customer_id"), "date": lines.column("day"), "amount": amount}
    )


def value_models(lines: Any, as_of: dt.date) -> tuple[pa.Table, Any, Any]:
    """Fit BG/NBD (dropout kept when not identified) and Gamma-Gamma on data up to ``as_of``.

    Returns the RFM summary and the two fitted models.
    """
    summary = summarize_transactions(_transactions(normalise_lines(lines)), calibration_end=as_of)
    purchases = BetaGeoModel(unidentified_dropout="keep").fit(summary)
    spend = GammaGammaModel().fit(summary)
    return summary, purchases, spend


def p_alive_for(lines: Any, as_of: dt.date, ids: pa.Array) -> np.ndarray:
    """Return BG/NBD P(alive) at ``as_of`` for each of ``ids`` (1 where not in the summary)."""
    summary = summarize_transactions(_transactions(normalise_lines(lines)), calibration_end=as_of)
    values = BetaGeoModel(unidentified_dropout="keep").fit(summary).probability_alive(summary)
    index = pc.index_in(ids, value_set=summary.column("customer_id")).to_numpy(zero_copy_only=False)
    found = ~np.isnan(index.astype(np.float64))
    out = np.ones(len(ids))
    out[found] = values[index[found].astype(np.int64)]
    return out


def p_alive_or_ones(lines: Any, as_of: dt.date, ids: pa.Array) -> tuple[np.ndarray, str]:
    """Return :func:`p_alive_for`, or 1 for everyone and why when BG/NBD cannot be fitted.

    On some histories the BG/NBD optimum is flat (the data do not identify the model, so the
    fit raises): health needs no P(alive) to stage customers, and the churn model then leans
    on the signals alone (a constant rank carries no weight). The second value is ``""`` or
    the reason, for the run's notes.
    """
    try:
        return p_alive_for(lines, as_of, ids), ""
    except KehuError as exc:
        return np.ones(len(ids)), f"BG/NBD could not be fitted at {as_of}: {exc.message}"


def _rate(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def stage_outcomes(
    stages: list[str], churned: np.ndarray, next_spend: np.ndarray
) -> list[dict[str, Any]]:
    """Return per stage: customers, churn rate and its lifts, and next-period spend.

    The lifts are the stage's churn rate over the overall rate and over the mature stage's;
    the spend index is the stage's mean next-period spend over the overall mean.
    """
    stage_arr = np.array(stages)
    overall_churn = float(churned.mean()) if churned.size else math.nan
    overall_spend = float(next_spend.mean()) if next_spend.size else math.nan
    mature = stage_arr == "mature"
    mature_churn = float(churned[mature].mean()) if mature.any() else math.nan
    rows = []
    for stage in STAGES:
        mask = stage_arr == stage
        n = int(mask.sum())
        churn = _rate(churned[mask])
        spend = _rate(next_spend[mask])
        rows.append(
            {
                "stage": stage,
                "n_customers": n,
                "share": n / len(stages) if stages else 0.0,
                "churn_rate": churn,
                "churn_lift": None
                if churn is None or not overall_churn > 0
                else churn / overall_churn,
                # Against the settled customers: the overall rate mixes in one-time buyers,
                # who churn most and are never "at risk" of anything but lapsing.
                "churn_vs_mature": None
                if churn is None or not mature_churn > 0
                else churn / mature_churn,
                "mean_next_spend": spend,
                "spend_index": None
                if spend is None or not overall_spend > 0
                else spend / overall_spend,
            }
        )
    return rows


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def evaluate_health(
    lines: Any,
    *,
    as_of: dt.date | str,
    window_days: int = 90,
    thresholds: StageThresholds | None = None,
    interactions: Any = None,
    tickets: Any = None,
    contacts: Any = None,
    uplift: float = 0.05,
    discount_rate_annual: float = 0.10,
    horizon_weeks: int = 52,
) -> dict[str, Any]:
    """Evaluate stages and churn risk at ``as_of`` against the ``window_days`` after it.

    Parameters
    ----------
    lines
        Order lines (see :func:`~kehu.analytics.health.compute_signals`); they must reach
        ``window_days`` days past ``as_of``, and ``2 x window_days`` before ``as_of - window``.
    as_of
        The split: everything used for stages and risk is on or before this day.
    window_days
        Length of each signal window and of the outcome period.
    thresholds
        Stage rules.
    interactions, tickets, contacts
        Optional service contacts and account contacts (see ``compute_signals``).
    uplift
        Relative retention rise to value (0.05 = +5 %).
    discount_rate_annual, horizon_weeks
        CLV settings of the retention value.

    Returns
    -------
    dict
        JSON-ready: ``stages`` (per-stage churn rate, lift, next spend), ``churn`` (AUCs of
        the model, P(alive) and recency on the held-out period, coefficients), ``cohorts``
        and ``retention_value``.
    """
    day = as_date(as_of, "as_of")
    table = normalise_lines(lines)
    if table.num_rows == 0:
        raise InvalidDataError("There are no usable order lines.", code="analytics.empty")
    last_day = pc.max(table.column("day")).as_py()
    first_day = pc.min(table.column("day")).as_py()
    end = day + dt.timedelta(days=window_days)
    if end > last_day:
        raise InvalidDataError(
            f"The data end on {last_day}; the outcome period after {day} needs data up to "
            f"{end}. Choose an earlier --as-of (at most "
            f"{last_day - dt.timedelta(days=window_days)}).",
            code="analytics.bad_date",
        )
    train_day = day - dt.timedelta(days=window_days)
    if train_day - dt.timedelta(days=window_days) <= first_day:
        raise InvalidDataError(
            f"The data start on {first_day}; the churn model needs {2 * window_days} days of "
            f"history before {day}. Choose a later --as-of or a shorter window.",
            code="analytics.bad_date",
        )
    th = thresholds or StageThresholds()
    common = {"interactions": interactions, "tickets": tickets, "contacts": contacts}

    signals = compute_signals(table, as_of=day, window_days=window_days, **common)
    ids = signals.column("customer_id").combine_chunks()
    results = assign_stages(signals, th)
    stages = [r.stage for r in results]
    outcome = next_period(table, ids, as_of=day, days=window_days)
    churned = outcome.column("churned").to_numpy(zero_copy_only=False).astype(bool)
    next_spend = outcome.column("next_spend").to_numpy()
    fired = stage_table(results)

    train_signals = compute_signals(table, as_of=train_day, window_days=window_days, **common)
    train_ids = train_signals.column("customer_id").combine_chunks()
    train_outcome = next_period(table, train_ids, as_of=train_day, days=window_days)
    train_p, train_note = p_alive_or_ones(table, train_day, train_ids)
    model = ChurnRiskModel().fit(
        health_features(train_signals, train_p), train_outcome.column("churned")
    )
    test_p, test_note = p_alive_or_ones(table, day, ids)
    risk = model.predict_risk(health_features(signals, test_p))
    recency = signals.column("recency_days").to_numpy()
    active = recency <= th.lapsed_days

    def aucs(mask: np.ndarray) -> dict[str, Any]:
        return {
            "n_customers": int(mask.sum()),
            "churn_rate": _rate(churned[mask]),
            "auc_model": roc_auc(churned[mask], risk[mask]),
            "auc_p_alive": roc_auc(churned[mask], 1.0 - test_p[mask]),
            "auc_recency": roc_auc(churned[mask], recency[mask]),
        }

    clv_months = max(1, round(horizon_weeks * 7 / (365.25 / 12)))
    monthly = (1.0 + discount_rate_annual) ** (1 / 12) - 1.0
    value_note = ""
    try:
        summary, purchases, spend = value_models(table, day)
        clv_total: float | None = float(
            np.sum(
                customer_lifetime_value(
                    purchases, spend, summary, months=clv_months, discount_rate=monthly
                )
            )
        )
    except KehuError as exc:
        clv_total = None
        value_note = f"The CLV models could not be fitted, so retention has no value: {exc.message}"
    r = period_retention(
        signals.column("orders_then").to_numpy(), signals.column("orders_now").to_numpy()
    )
    periods = max(1, math.ceil(horizon_weeks * 7 / window_days))
    if r is None and not value_note:
        value_note = "No customer bought in two successive windows: retention is unknown."
    value = (
        None
        if r is None or clv_total is None
        else retention_value(
            retention=r,
            base_value=clv_total,
            periods=periods,
            period_days=window_days,
            discount_rate_per_period=(1.0 + discount_rate_annual) ** (window_days / 365.25) - 1.0,
            uplift=uplift,
        ).as_dict()
    )
    signal_rates = {
        name: _rate(churned[fired.column(name).to_numpy(zero_copy_only=False).astype(bool)])
        for name in fired.column_names[2:]
    }
    signal_counts = {
        name: int(pc.sum(fired.column(name)).as_py() or 0) for name in fired.column_names[2:]
    }
    report: dict[str, Any] = _clean(
        {
            "as_of": day.isoformat(),
            "window_days": window_days,
            "data_from": first_day.isoformat(),
            "data_to": last_day.isoformat(),
            "discount_basis": (signals.schema.metadata or {})
            .get(b"kehu.discount_basis", b"")
            .decode(),
            "n_customers": signals.num_rows,
            "churn_rate": _rate(churned),
            "mean_next_spend": _rate(next_spend),
            "thresholds": th.model_dump(),
            "stages": stage_outcomes(stages, churned, next_spend),
            "signals": {
                name: {"n_fired": signal_counts[name], "churn_rate": signal_rates[name]}
                for name in signal_counts
            },
            "churn": {
                "train_as_of": train_day.isoformat(),
                "n_train": model.n_customers_,
                "train_churn_rate": model.base_rate_,
                "coefficients": model.coefficients(),
                "all": aucs(np.ones(len(churned), dtype=bool)),
                "active": aucs(active),
                "mean_p_alive": float(np.mean(test_p)),
                "p_alive_note": " ".join(n for n in (train_note, test_note) if n),
            },
            "cohorts": cohort_curves(
                cohort_retention(
                    pa.table(
                        {
                            "customer_id": table["customer_id"],
                            "date": table["day"],
                            "quantity": table["quantity"],
                        }
                    ),
                    as_of=last_day,
                )
            ),
            "retention_value": value,
            "retention_value_note": value_note,
            "clv_total": clv_total,
            "clv_months": clv_months,
        }
    )
    return report
