"""How well a fitted model predicts the holdout period: totals, per-customer error, by frequency."""

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kehu.analytics._base import float_column, require_columns, to_arrow
from kehu.analytics.clv._common import PurchaseCountModel


@dataclass(frozen=True)
class FrequencyBucket:
    """Customers with the same calibration frequency (the last bucket is "this many or more")."""

    frequency: int
    n_customers: int
    mean_predicted: float
    mean_actual: float


@dataclass(frozen=True)
class HoldoutReport:
    """Predicted vs actual repeat purchases in the holdout period."""

    n_customers: int
    duration: float
    total_predicted: float
    total_actual: int
    mae: float
    rmse: float
    by_frequency: list[FrequencyBucket]

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return asdict(self)


def holdout_report(
    model: PurchaseCountModel, summary: Any, *, max_bucket: int = 7
) -> HoldoutReport:
    """Compare a model's holdout predictions with what customers actually did.

    Parameters
    ----------
    model
        A fitted purchase-count model.
    summary
        Output of :func:`summarize_transactions` with a holdout (``frequency_holdout`` and
        ``duration_holdout``).
    max_bucket
        Calibration frequencies at or above this are pooled (FHL 2005, Figure 4 uses 7+).

    Returns
    -------
    HoldoutReport
        Totals, per-customer MAE and RMSE, and mean predicted vs actual by frequency.
    """
    table = to_arrow(summary)
    require_columns(
        table, ("frequency_holdout", "duration_holdout"), what="The summary (with a holdout)"
    )
    duration = float(float_column(table, "duration_holdout")[0])
    actual = float_column(table, "frequency_holdout")
    predicted = model.expected_purchases(table, horizon=duration)
    error = predicted - actual
    frequency = np.minimum(float_column(table, "frequency"), max_bucket).astype(np.int64)
    buckets = []
    for value in np.unique(frequency):
        rows = frequency == value
        buckets.append(
            FrequencyBucket(
                frequency=int(value),
                n_customers=int(rows.sum()),
                mean_predicted=float(predicted[rows].mean()),
                mean_actual=float(actual[rows].mean()),
            )
        )
    return HoldoutReport(
        n_customers=len(actual),
        duration=duration,
        total_predicted=float(predicted.sum()),
        total_actual=int(actual.sum()),
        mae=float(np.mean(np.abs(error))),
        rmse=float(np.sqrt(np.mean(error * error))),
        by_frequency=buckets,
    )
