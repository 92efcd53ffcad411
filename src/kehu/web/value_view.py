"""Shape analysis results (customer value, relationship health) for the console's charts.

No queries here; :func:`run_now` is the "run the analysis now" form handler the value and
health pages share.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kehu.analytics.segments import SEGMENTS
from kehu.value import HistogramBin, ParetoPoint, TierSize, ValueTier
from kehu.web.rendering import attempt, flash

#: RFM segment codes, from the most to the least valuable relationship.
SEGMENT_CODES: tuple[str, ...] = tuple(SEGMENTS)

#: Calibration frequencies at or above this are pooled in the holdout report ("7+").
HOLDOUT_MAX_BUCKET = 7

#: Models shown in the parameter table, in this order, with their display names.
MODEL_NAMES: dict[str, str] = {
    "bgnbd": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "paretonbd": "Pareto/NBD",
    "pareto_nbd": "Pareto/NBD",
    "gamma_gamma": "Gamma-Gamma",
}


@dataclass(frozen=True)
class TierCard:
    """One tier's card on the dashboard (shares in per cent)."""

    tier: str
    n_customers: int
    clv: Decimal
    customer_pct: float
    value_pct: float


@dataclass(frozen=True)
class ModelFit:
    """A fitted model's parameters with standard errors, for the parameter table."""

    name: str
    parameters: list[tuple[str, float | None, float | None]]
    log_likelihood: float | None
    extra: dict[str, Any]


def _pct(share: float) -> float:
    return round(100.0 * float(share), 1)


def tier_cards(sizes: Iterable[TierSize]) -> list[TierCard]:
    """Return one card per tier, VIP first, with zero cards for tiers nobody is in."""
    by_tier = {size.tier.value: size for size in sizes}
    cards = []
    for tier in ValueTier:
        size = by_tier.get(tier.value)
        if size is None:
            cards.append(TierCard(tier.value, 0, Decimal("0.00"), 0.0, 0.0))
        else:
            cards.append(
                TierCard(
                    tier.value,
                    size.n_customers,
                    size.clv,
                    _pct(size.customer_share),
                    _pct(size.value_share),
                )
            )
    return cards


def pareto_chart(
    points: Sequence[ParetoPoint], at: float = 0.2, share_at: float | None = None
) -> dict[str, Any] | None:
    """Return the Pareto chart's data in per cent, with the point at ``at`` of customers marked.

    ``share_at`` is the exact value share of the top ``at`` customers when known; otherwise it
    is interpolated linearly between the two nearest points. ``None`` when there are no points.
    """
    if not points:
        return None
    xs = [float(p.customer_share) for p in points]
    ys = [float(p.value_share) for p in points]
    if xs[0] > 0:
        xs, ys = [0.0, *xs], [0.0, *ys]
    mark_y = ys[-1] if share_at is None else share_at
    for (x0, y0), (x1, y1) in zip(
        zip(xs, ys, strict=True), zip(xs[1:], ys[1:], strict=True), strict=False
    ):
        if share_at is None and x0 <= at <= x1:
            mark_y = y0 if x1 == x0 else y0 + (y1 - y0) * (at - x0) / (x1 - x0)
            break
    return {
        "customers_pct": [_pct(x) for x in xs],
        "value_pct": [_pct(y) for y in ys],
        "mark": {"x": _pct(at), "y": _pct(mark_y)},
    }


def _compact(value: Decimal) -> str:
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.3g}{suffix}"
    return f"{number:.0f}" if abs(number) >= 10 else f"{number:.3g}"


def histogram_chart(bins: Sequence[HistogramBin]) -> dict[str, Any] | None:
    """Return the CLV histogram's bar labels (lower to upper) and counts; ``None`` when empty."""
    if not bins:
        return None
    return {
        "labels": [f"{_compact(b.lower)}\u2013{_compact(b.upper)}" for b in bins],
        "counts": [b.n_customers for b in bins],
    }


def _holdout(run: Any) -> Mapping[str, Any]:
    metrics = getattr(run, "metrics", None) or {}
    holdout = metrics.get("holdout") if isinstance(metrics, Mapping) else None
    return holdout if isinstance(holdout, Mapping) else {}


def holdout_skipped(run: Any) -> str:
    """Return why the run's holdout check did not run ("" when it ran or nothing is known)."""
    skipped = _holdout(run).get("skipped")
    return skipped if isinstance(skipped, str) else ""


def calibration_chart(run: Any) -> dict[str, Any] | None:
    """Return mean predicted vs actual holdout purchases per calibration frequency.

    Reads ``run.metrics["holdout"]["by_frequency"]`` (a holdout report); the last bucket is
    labelled "n+". ``None`` when the run had no holdout check.
    """
    holdout = _holdout(run)
    buckets = holdout.get("by_frequency") or []
    if not isinstance(buckets, list) or not buckets:
        return None
    rows = [b for b in buckets if isinstance(b, Mapping)]
    last = len(rows) - 1
    labels = []
    for i, b in enumerate(rows):
        freq = int(b.get("frequency", i))
        pooled = i == last and freq >= int(holdout.get("max_bucket", HOLDOUT_MAX_BUCKET))
        labels.append(f"{freq}+" if pooled else str(freq))
    return {
        "labels": labels,
        "predicted": [round(float(b.get("mean_predicted", 0.0)), 3) for b in rows],
        "actual": [round(float(b.get("mean_actual", 0.0)), 3) for b in rows],
        "n_customers": [int(b.get("n_customers", 0)) for b in rows],
        "total_predicted": holdout.get("total_predicted"),
        "total_actual": holdout.get("total_actual"),
        "mae": holdout.get("mae"),
        "rmse": holdout.get("rmse"),
    }


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str | Decimal):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def model_parameters(run: Any) -> list[ModelFit]:
    """Return each fitted model of ``run.parameters`` with its parameters and standard errors."""
    parameters = getattr(run, "parameters", None) or {}
    if not isinstance(parameters, Mapping):
        return []
    fits = []
    for key, fitted in parameters.items():
        if not isinstance(fitted, Mapping) or not isinstance(fitted.get("params"), Mapping):
            continue
        errors = fitted.get("standard_errors")
        errors = errors if isinstance(errors, Mapping) else {}
        rows = [
            (str(name), _number(value), _number(errors.get(name)))
            for name, value in fitted["params"].items()
        ]
        extra = {
            k: v
            for k, v in fitted.items()
            if k not in {"model", "params", "standard_errors", "log_likelihood"}
            and isinstance(v, int | float | str)
            and not isinstance(v, bool)
        }
        name = fitted.get("model")
        fits.append(
            ModelFit(
                str(name) if name else MODEL_NAMES.get(str(key), str(key)),
                rows,
                _number(fitted.get("log_likelihood")),
                extra,
            )
        )
    return fits


__all__ = [
    "SEGMENT_CODES",
    "ModelFit",
    "TierCard",
    "calibration_chart",
    "histogram_chart",
    "holdout_skipped",
    "model_parameters",
    "pareto_chart",
    "tier_cards",
]


#: Cohorts drawn on the retention chart (the most recent ones, oldest first).
MAX_COHORTS = 12


def cohort_chart(curves: Sequence[Any], max_cohorts: int = MAX_COHORTS) -> dict[str, Any] | None:
    """Return retention curves (per cent by month since the first order) of the last cohorts.

    ``curves`` have ``cohort`` (a date), ``n_customers`` and ``retention`` (shares, ``None``
    for months not observed yet). ``None`` when there are none.
    """
    if not curves:
        return None
    shown = list(curves)[-max_cohorts:]
    n_months = max(len(c.retention) for c in shown)
    return {
        "months": list(range(n_months)),
        "series": [
            {
                "name": f"{c.cohort:%Y-%m} (n={c.n_customers})",
                "data": [None if v is None else _pct(v) for v in c.retention],
            }
            for c in shown
        ],
    }


def run_now(
    request: Request,
    db: Session,
    *,
    back: str,
    work: Callable[[], Any],
    failure: str,
    success: str,
    failed: str,
    fields: Callable[[Any], Mapping[str, Any]],
) -> Response:
    """Run an analysis from a form, commit, flash how it went and go back to ``back``.

    ``work`` returns the run (``status``, ``message``); a kehu error is flashed inside
    ``failure`` (``{reason}``); a succeeded run flashes ``success`` formatted with
    ``fields(run)``; a failed one its own message, or ``failed``.
    """
    run = attempt(request, db, back, work, failure=failure)
    if isinstance(run, Response):
        return run
    db.commit()
    if run.status == "succeeded":
        flash(request, "success", success, **fields(run))
    else:
        # The job's message already says that the run failed, and why.
        flash(request, "error", run.message or failed)
    return RedirectResponse(back, status_code=303)
