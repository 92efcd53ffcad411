"""A seeded generator of transactions from known BG/NBD and Gamma-Gamma parameters."""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kehu.analytics._base import FloatArray, IntArray, InvalidDataError


def simulate_transactions(
    n_customers: int,
    *,
    r: float = 0.5,
    alpha: float = 5.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.25,
    q: float = 3.75,
    v: float = 15.0,
    first_purchase_weeks: float = 52.0,
    window_weeks: float = 104.0,
    start: dt.date = dt.date(2020, 1, 1),
    random_state: "int | np.random.Generator | None" = None,
) -> pa.Table:
    """Draw a transaction log from the BG/NBD and Gamma-Gamma models.

    Each customer's first purchase is uniform over the first ``first_purchase_weeks``; while
    alive they buy as a Poisson process with rate ``lambda ~ Gamma(r, alpha)`` per week and
    drop out after each repeat purchase with probability ``p_drop ~ Beta(a, b)``; observation
    ends ``window_weeks`` after ``start``. Each transaction's value is ``Gamma(p, nu)`` with
    ``nu ~ Gamma(q, v)`` per customer. Purchase times are rounded to whole days, so two purchases
    on one day (rare at these rates) become one occasion in the summary. The calibration end
    that matches the simulation is the window's last day, ``start + window_weeks * 7 - 1``.

    Parameters
    ----------
    n_customers
        Number of customers.
    r, alpha, a, b
        BG/NBD parameters (time unit: weeks).
    p, q, v
        Gamma-Gamma parameters.
    first_purchase_weeks
        First purchases are spread uniformly over this many weeks from ``start``.
    window_weeks
        Length of the whole observation window from ``start``.
    start
        Date of the window's first day.
    random_state
        Seed or generator (the only source of randomness).

    Returns
    -------
    pyarrow.Table
        ``customer_id`` (int64), ``date`` (date32), ``amount`` (float64), ordered by
        customer and date; every customer has at least the first purchase.
    """
    if n_customers < 1 or not 0 < first_purchase_weeks <= window_weeks:
        raise InvalidDataError(
            "n_customers must be >= 1 and 0 < first_purchase_weeks <= window_weeks.",
            code="analytics.bad_simulation",
        )
    draws = _draw(
        int(n_customers),
        (r, alpha, a, b),
        (p, q, v),
        first_purchase_weeks,
        window_weeks,
        np.random.default_rng(random_state),
    )
    first_day, owner, repeat_time, nu, rng = (
        draws.first_day,
        draws.owner,
        draws.repeat_time,
        draws.nu,
        draws.rng,
    )
    n = int(n_customers)
    repeat_day = first_day[owner] + np.rint(repeat_time * 7).astype(np.int64)
    customer = np.concatenate((np.arange(n), owner))
    day = np.concatenate((first_day, repeat_day))
    order = np.lexsort((day, customer))
    customer, day = customer[order], day[order]
    amount = rng.gamma(p, 1.0 / nu[customer])
    epoch = (start - dt.date(1970, 1, 1)).days
    return pa.table(
        {
            "customer_id": pa.array(customer, type=pa.int64()),
            "date": pa.array((day + epoch).astype(np.int32), type=pa.int32()).cast(pa.date32()),
            "amount": pa.array(np.round(amount, 2), type=pa.float64()),
        }
    )


@dataclass(frozen=True)
class _Draws:
    first_day: IntArray
    age: FloatArray
    n_repeat: IntArray
    owner: IntArray
    repeat_time: FloatArray
    nu: FloatArray
    rng: "np.random.Generator"  # quoted: numpy.random loads on first use, not on import


def _draw(
    n: int,
    bgnbd: tuple[float, float, float, float],
    gamma_gamma: tuple[float, float, float],
    first_purchase_weeks: float,
    window_weeks: float,
    rng: "np.random.Generator",
) -> _Draws:
    r, alpha, a, b = bgnbd
    _, q, v = gamma_gamma
    first_day = rng.integers(0, round(first_purchase_weeks * 7), size=n)
    last_day = round(window_weeks * 7) - 1
    age = (last_day - first_day) / 7.0  # weeks from the first purchase to the last day
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    drop = rng.beta(a, b, size=n)
    n_arrivals = rng.poisson(rate * age)
    # The customer drops out right after repeat purchase number `lifetime` (geometric).
    lifetime = rng.geometric(np.clip(drop, 1e-12, 1.0))
    n_repeat = np.minimum(n_arrivals, lifetime)
    # The first n_repeat of n_arrivals uniform order statistics on (0, age):
    # U_(j) = S_j / S_(n+1) with S the partial sums of unit exponentials.
    owner = np.repeat(np.arange(n), n_repeat)
    gaps = rng.exponential(size=len(owner))
    partial = np.cumsum(gaps)
    group_start = np.concatenate(([0], np.cumsum(n_repeat)[:-1]))
    offset = np.concatenate(([0.0], partial))[group_start]
    partial -= np.repeat(offset, n_repeat)
    last = np.zeros(n)
    has = n_repeat > 0
    last[has] = partial[np.cumsum(n_repeat)[has] - 1]
    total = last + rng.gamma(np.maximum(n_arrivals - n_repeat + 1, 1).astype(float))
    repeat_time = partial / total[owner] * age[owner]
    nu = rng.gamma(q, 1.0 / v, size=n)
    return _Draws(first_day, age, n_repeat, owner, repeat_time, nu, rng)


def simulate_summary(
    n_customers: int,
    *,
    r: float = 0.5,
    alpha: float = 5.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.25,
    q: float = 3.75,
    v: float = 15.0,
    first_purchase_weeks: float = 52.0,
    window_weeks: float = 104.0,
    random_state: "int | np.random.Generator | None" = None,
) -> pa.Table:
    """Draw the customer summary directly, in continuous time (no rounding to days).

    The same draws as :func:`simulate_transactions`, but frequency, recency and T are exact
    (weeks) and ``monetary_value`` is the mean of the repeat transactions' values, so a fit
    must recover the parameters up to sampling error only.

    Parameters
    ----------
    n_customers
        Number of customers.
    r, alpha, a, b
        BG/NBD parameters (time unit: weeks).
    p, q, v
        Gamma-Gamma parameters.
    first_purchase_weeks, window_weeks
        As for :func:`simulate_transactions`.
    random_state
        Seed or generator.

    Returns
    -------
    pyarrow.Table
        ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``.
    """
    draws = _draw(
        int(n_customers),
        (r, alpha, a, b),
        (p, q, v),
        first_purchase_weeks,
        window_weeks,
        np.random.default_rng(random_state),
    )
    n = int(n_customers)
    recency = np.zeros(n)
    np.maximum.at(recency, draws.owner, draws.repeat_time)
    values = draws.rng.gamma(p, 1.0 / draws.nu[draws.owner])
    spend = np.bincount(draws.owner, weights=values, minlength=n)
    frequency = draws.n_repeat
    monetary = np.divide(spend, frequency, out=np.zeros(n), where=frequency > 0)
    return pa.table(
        {
            "customer_id": np.arange(n),
            "frequency": frequency.astype(np.int64),
            "recency": recency,
            "T": draws.age,
            "monetary_value": monetary,
        }
    )
