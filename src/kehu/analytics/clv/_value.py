"""Discounted customer lifetime value from a purchase-count model and a spend model."""

from typing import Any

import numpy as np

from kehu.analytics._base import FloatArray, InvalidDataError
from kehu.analytics.clv._common import PurchaseCountModel, read_rft
from kehu.analytics.clv._gammagamma import GammaGammaModel

DAYS_PER_MONTH = 365.25 / 12


def customer_lifetime_value(
    purchases: PurchaseCountModel,
    spend: GammaGammaModel,
    X: Any,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    unit_days: float = 7.0,
) -> FloatArray:
    """Discounted value of each customer's purchases over the next ``months`` months.

    ``CLV = sum_{i=1..months} spend * (E[purchases by month i] - E[by month i-1]) /
    (1 + discount_rate)^i`` -- the cash-flow sum of lifetimes' ``customer_lifetime_value``,
    with calendar months of 365.25/12 days (lifetimes uses 4.345 weeks). The purchase part is
    computed once per distinct (frequency, recency, T) tuple and joined back.

    Parameters
    ----------
    purchases
        A fitted BG/NBD, MBG/NBD or Pareto/NBD model.
    spend
        A fitted Gamma-Gamma model.
    X
        Customer summary (frequency, recency, T, monetary_value[, n_monetary]).
    months
        Horizon in months.
    discount_rate
        Discount rate per month (0.01 per month is about 12.7 % a year).
    unit_days
        Days per time unit of the summary (7: weeks).

    Returns
    -------
    numpy.ndarray
        One value per row of ``X``, in the currency of ``monetary_value``.
    """
    if months < 1 or not discount_rate > -1 or not unit_days > 0:
        raise InvalidDataError(
            "months must be >= 1, discount_rate > -1 and unit_days > 0.",
            code="analytics.bad_horizon",
        )
    theta = purchases._theta
    spend._check_fitted("params_")
    d = read_rft(X)
    month = DAYS_PER_MONTH / unit_days
    steps = np.arange(1, months + 1, dtype=np.float64)
    with np.errstate(all="ignore"):
        factor = purchases._discounted_purchases(
            theta, d, steps * month, 1.0 / (1.0 + discount_rate) ** steps
        )
    # Per customer only now, one array at a time (peak memory at a million customers).
    value = d.expand(factor)
    del factor
    # A fresh array either way (joined back, or the per-tuple sums themselves): multiplied by
    # the expected spends in place, block by block.
    spend._multiply_by_expected_spend(X, value)
    return np.asarray(value, dtype=np.float64)
