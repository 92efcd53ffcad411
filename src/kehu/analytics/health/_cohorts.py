"""Loyalty economics: monthly cohort retention curves and what more retention is worth.

**Cohorts.** A customer belongs to the calendar month of their first sale; the curve of a
cohort gives, for each month ``k`` after it (0 = the first month), the share of the cohort that
bought in that month. Months that end after ``as_of`` are marked incomplete.

**What +5 % retention is worth.** With ``r`` the share of customers who buy in one period
and again in the next (measured on the business's own history), a customer's expected,
discounted number of future active periods over ``H`` periods is
``S(r) = sum_{t=1..H} (r / (1 + d))^t`` (the geometric retention model of Gupta & Lehmann,
"Customers as assets", J. Interactive Marketing 17(1), 2003, p. 13). Value scales with
``S``, so raising retention to ``r'`` multiplies value by ``S(r') / S(r)``; applied to the
business's own predicted CLV (BG/NBD + Gamma-Gamma) it gives an amount of money. This is a
revenue figure: the seed's "+5 % retention raises profit 35-85 %" (Reichheld & Sasser 1990)
also counts costs that fall and spend that grows with tenure, which this model does not.
"""

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kehu.analytics._base import InvalidDataError, require_columns, to_arrow
from kehu.analytics.health._signals import as_date, customer_ids

#: The seed's claim, as a range of relative profit change, for the side-by-side.
SEED_CLAIM = (0.35, 0.85)


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def cohort_counts_expr(purchases: ir.Table, *, as_of: dt.date) -> ir.Table:
    """Active customers per (first-purchase month ``cohort``, months since ``k``): ``n_active``.

    ``purchases`` is an Ibis table with ``customer_id`` and ``day`` (the purchases that count,
    already filtered), on any engine: :func:`cohort_retention` runs it in DuckDB, the batch
    engines over Parquet. Months are numbered ``year * 12 + month - 1``.
    """
    t = purchases.filter(
        purchases.customer_id.notnull()
        & purchases.day.notnull()
        & (purchases.day <= ibis.date(as_of))
    )
    t = t.mutate(month=t.day.year() * 12 + t.day.month() - 1)
    active = t.select("customer_id", "month").distinct()
    first = active.group_by("customer_id").aggregate(cohort=active.month.min())
    joined = active.join(first, "customer_id")
    joined = joined.mutate(k=joined.month - joined.cohort)
    return joined.group_by(["cohort", "k"]).aggregate(n_active=joined.customer_id.nunique())


def retention_from_counts(counts: pa.Table, *, as_of: dt.date, max_months: int = 24) -> pa.Table:
    """Turn :func:`cohort_counts_expr`'s counts into :func:`cohort_retention`'s curves."""
    day = as_of
    if counts.num_rows == 0:
        raise InvalidDataError(
            f"No purchase on or before {day}: there are no cohorts.", code="analytics.empty"
        )
    active_by = {
        (int(c), int(k)): int(n)
        for c, k, n in zip(
            counts.column("cohort").to_pylist(),
            counts.column("k").to_pylist(),
            counts.column("n_active").to_pylist(),
            strict=True,
        )
    }
    last = _month_index(day)
    month_end_complete = (day + dt.timedelta(days=1)).day == 1
    rows: dict[str, list[Any]] = {
        key: [] for key in ("cohort", "month", "n_customers", "n_active", "retention", "complete")
    }
    for cohort in sorted({c for c, _ in active_by}):
        size = active_by[(cohort, 0)]
        for k in range(min(max_months, last - cohort) + 1):
            n = active_by.get((cohort, k), 0)
            rows["cohort"].append(dt.date(cohort // 12, cohort % 12 + 1, 1))
            rows["month"].append(k)
            rows["n_customers"].append(size)
            rows["n_active"].append(n)
            rows["retention"].append(n / size)
            rows["complete"].append(cohort + k < last or month_end_complete)
    return pa.table(
        {
            "cohort": pa.array(rows["cohort"], pa.date32()),
            "month": pa.array(rows["month"], pa.int32()),
            "n_customers": pa.array(rows["n_customers"], pa.int64()),
            "n_active": pa.array(rows["n_active"], pa.int64()),
            "retention": pa.array(rows["retention"], pa.float64()),
            "complete": pa.array(rows["complete"], pa.bool_()),
        }
    )


def cohort_retention(purchases: Any, *, as_of: dt.date | str, max_months: int = 24) -> pa.Table:
    """Return the monthly cohort retention curves of customers' purchases up to ``as_of``.

    Parameters
    ----------
    purchases
        Table with ``customer_id`` and ``timestamp`` (or ``date``); a ``quantity`` column, if
        present, keeps only rows with quantity > 0 (sales), and ``amount`` only rows >= 0.
    as_of
        Last day of data used.
    max_months
        Longest curve returned (months after the cohort's first).

    Returns
    -------
    pyarrow.Table
        ``cohort`` (first day of the month), ``month`` (0, 1, ...), ``n_customers`` (cohort
        size), ``n_active``, ``retention`` (n_active / n_customers) and ``complete``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> p = pa.table({"customer_id": ["a", "a", "b"],
    ...               "timestamp": ["2024-01-03", "2024-02-10", "2024-01-20"]})
    >>> cohort_retention(p, as_of="2024-02-29").column("retention").to_pylist()
    [1.0, 0.5]
    """
    day = as_date(as_of, "as_of")
    if not 1 <= max_months <= 240:
        raise InvalidDataError("max_months must be between 1 and 240.", code="analytics.bad_window")
    table = to_arrow(purchases)
    time_column = "date" if "date" in table.column_names else "timestamp"
    require_columns(table, ("customer_id", time_column), what="The purchases")
    from kehu.analytics.health._signals import _days

    columns: dict[str, Any] = {
        "customer_id": customer_ids(table.column("customer_id")),
        "day": _days(table.column(time_column), time_column),
    }
    data = pa.table(columns)
    con = ibis.duckdb.connect()
    try:
        t = ibis.memtable(data)
        raw = ibis.memtable(table)
        keep = None
        if "quantity" in table.column_names:
            keep = raw.quantity > 0
        elif "amount" in table.column_names:
            keep = raw.amount >= 0
        if keep is not None:
            mask = con.to_pyarrow(raw.select(keep=keep.fill_null(False))).column("keep")
            data = data.filter(mask)
            t = ibis.memtable(data)
        counts = con.to_pyarrow(cohort_counts_expr(t, as_of=day))
    finally:
        con.disconnect()
    return retention_from_counts(counts, as_of=day, max_months=max_months)


def cohort_curves(table: pa.Table) -> list[dict[str, Any]]:
    """Return the cohorts as JSON-ready curves: ``[{"cohort", "n_customers", "retention"}]``."""
    curves: dict[dt.date, dict[str, Any]] = {}
    for row in table.to_pylist():
        curve = curves.setdefault(
            row["cohort"],
            {
                "cohort": row["cohort"].isoformat(),
                "n_customers": row["n_customers"],
                "retention": [],
            },
        )
        curve["retention"].append(round(row["retention"], 4) if row["complete"] else None)
    return list(curves.values())


@dataclass(frozen=True)
class RetentionValue:
    """What raising retention is worth, beside the seed's claim."""

    retention: float
    improved_retention: float
    uplift: float
    periods: int
    period_days: int
    discount_rate_per_period: float
    base_value: float
    value_change: float
    added_value: float
    lifetime_value_change: float
    seed_claim_low: float = SEED_CLAIM[0]
    seed_claim_high: float = SEED_CLAIM[1]

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready data."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _survival(r: float, d: float, periods: int | None) -> float:
    q = r / (1.0 + d)
    if periods is None:
        return q / (1.0 - q)
    return sum(q**t for t in range(1, periods + 1))


def retention_value(
    *,
    retention: float,
    base_value: float,
    periods: int,
    period_days: int,
    discount_rate_per_period: float = 0.0,
    uplift: float = 0.05,
) -> RetentionValue:
    """Return what raising period-to-period retention by ``uplift`` (relative) is worth.

    Parameters
    ----------
    retention
        Share of a period's customers who buy again in the next period (0 < r < 1).
    base_value
        The business's predicted value over the same horizon (e.g. the sum of CLV).
    periods
        Horizon in periods (e.g. 4 quarters for a 52-week CLV).
    period_days
        Days per period (reported only).
    discount_rate_per_period
        Discount rate per period.
    uplift
        Relative rise of retention (0.05: customers kept 5 % more), capped below 1.

    Returns
    -------
    RetentionValue
        ``value_change`` (relative, over the horizon), ``added_value`` (money) and
        ``lifetime_value_change`` (relative, over an unlimited horizon).

    Examples
    --------
    >>> v = retention_value(retention=0.6, base_value=1000.0, periods=4, period_days=90)
    >>> round(v.value_change, 3), round(v.added_value, 1)
    (0.099, 98.7)
    """
    if not 0 < retention < 1:
        raise InvalidDataError(
            f"retention must be between 0 and 1 (exclusive), got {retention}.",
            code="analytics.bad_parameter",
        )
    if periods < 1 or not 0 <= discount_rate_per_period < 1 or not 0 < uplift <= 1:
        raise InvalidDataError(
            "periods must be >= 1, the discount rate in [0, 1) and the uplift in (0, 1].",
            code="analytics.bad_parameter",
        )
    improved = min(retention * (1.0 + uplift), 0.999)
    d = discount_rate_per_period
    change = _survival(improved, d, periods) / _survival(retention, d, periods) - 1.0
    lifetime = _survival(improved, d, None) / _survival(retention, d, None) - 1.0
    return RetentionValue(
        retention=retention,
        improved_retention=improved,
        uplift=uplift,
        periods=periods,
        period_days=period_days,
        discount_rate_per_period=d,
        base_value=float(base_value),
        value_change=change,
        added_value=float(base_value) * change,
        lifetime_value_change=lifetime,
    )


def period_retention(orders_then: Any, orders_now: Any) -> float | None:
    """Share of customers with an order in the earlier window who ordered in the later one."""
    import numpy as np

    then = np.asarray(orders_then, dtype=np.float64) > 0
    now = np.asarray(orders_now, dtype=np.float64) > 0
    n = int(then.sum())
    if n == 0:
        return None
    value = float((then & now).sum() / n)
    return value if 0 < value < 1 and math.isfinite(value) else None
