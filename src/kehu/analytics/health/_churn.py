"""Churn risk: a logistic model over P(alive) and the health signals, fitted on own history.

The model follows the estimator contract (STYLE.md §8): keyword hyperparameters, ``fit``
returns ``self``, learned state in trailing-underscore attributes, ``predict_proba`` refuses to
run before ``fit``. Inputs are the feature table :func:`health_features` builds from
:func:`~kehu.analytics.health.compute_signals` (plus P(alive) where the value analysis gave
one); the label is "no purchase in the next period" (:func:`next_period`).
"""

import datetime as dt
from numbers import Integral, Real
from typing import Any, ClassVar, Self

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from kehu.analytics._base import FloatArray, InvalidDataError, require_columns, to_arrow
from kehu.analytics.health._signals import SIGNAL_COLUMNS, as_date, normalise_lines

#: Features derived from the signals (always present).
SIGNAL_FEATURES = (
    "log_recency_days",
    "log_tenure_days",
    "log_purchase_days",
    "log_orders_now",
    "log_orders_then",
    "log_spend_now",
    "log_spend_then",
    "gap_ratio",
    "discount_share_change",
    "price_index_change",
    "items_ratio",
    "interactions_change",
    "procurement_change",
)
#: Every feature :class:`ChurnRiskModel` uses by default (P(alive) first).
FEATURES = ("p_alive_rank", *SIGNAL_FEATURES)


def _col(table: pa.Table, name: str) -> FloatArray:
    values = table.column(name).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def health_features(signals: Any, p_alive: Any = None) -> pa.Table:
    """Turn health signals (and P(alive)) into the numeric features of :class:`ChurnRiskModel`.

    Missing values get neutral numbers: no change for a window without sales, a gap ratio
    of recency over 365 days for a single purchase day.

    Parameters
    ----------
    signals
        The table :func:`~kehu.analytics.health.compute_signals` returns.
    p_alive
        Optional sequence of P(alive), aligned with ``signals``' rows; adds ``p_alive_rank``,
        its percentile rank among these customers (ties share the mean rank).

    Returns
    -------
    pyarrow.Table
        ``customer_id`` and the columns of :data:`SIGNAL_FEATURES` (and ``p_alive_rank``).
    """
    table = to_arrow(signals)
    require_columns(table, SIGNAL_COLUMNS, what="The health signals")
    recency = _col(table, "recency_days")
    gap = _col(table, "mean_gap_days")
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_ratio = np.where(np.isfinite(gap) & (gap > 0), recency / gap, recency / 365.0)
        share = np.nan_to_num(_col(table, "discount_share_now")) - np.nan_to_num(
            _col(table, "discount_share_then")
        )
        index_then, index_now = _col(table, "price_index_then"), _col(table, "price_index_now")
        index_change = np.where(
            np.isfinite(index_then) & np.isfinite(index_now), index_now - index_then, 0.0
        )
        items_then, items_now = _col(table, "items_then"), _col(table, "items_now")
        items_ratio = np.where(items_then > 0, items_now / np.maximum(items_then, 1.0), 1.0)
    columns: dict[str, Any] = {
        "customer_id": table.column("customer_id"),
        "log_recency_days": np.log1p(recency),
        "log_tenure_days": np.log1p(_col(table, "tenure_days")),
        "log_purchase_days": np.log1p(_col(table, "n_purchase_days")),
        "log_orders_now": np.log1p(_col(table, "orders_now")),
        "log_orders_then": np.log1p(_col(table, "orders_then")),
        "log_spend_now": np.log1p(np.maximum(_col(table, "spend_now"), 0.0)),
        "log_spend_then": np.log1p(np.maximum(_col(table, "spend_then"), 0.0)),
        "gap_ratio": np.minimum(gap_ratio, 50.0),
        "discount_share_change": share,
        "price_index_change": np.clip(index_change, -2.0, 2.0),
        "items_ratio": np.minimum(items_ratio, 10.0),
        "interactions_change": np.log1p(_col(table, "interactions_now"))
        - np.log1p(_col(table, "interactions_then")),
        # No contacts on record (NaN) is no change.
        "procurement_change": np.nan_to_num(
            _col(table, "procurement_share_now") - _col(table, "procurement_share_then")
        ),
    }
    if p_alive is not None:
        values = np.asarray(p_alive, dtype=np.float64)
        if values.shape != (table.num_rows,):
            raise InvalidDataError(
                f"p_alive has {values.size} values for {table.num_rows} customers.",
                code="analytics.bad_shape",
            )
        # The rank, not the probability: BG/NBD fits on different dates put P(alive) on very
        # different scales (all within 1e-8 of 1 when the data do not identify dropout, down
        # to 0.35 three months later on Online Retail II), so a coefficient learnt on one
        # date means nothing on the next; the order of customers carries over.
        from scipy.stats import rankdata

        filled = np.nan_to_num(values, nan=1.0)
        columns["p_alive_rank"] = rankdata(filled) / max(len(filled), 1)
    return pa.table(columns)


def next_period(lines: Any, customer_ids: Any, *, as_of: dt.date | str, days: int) -> pa.Table:
    """Return each customer's orders and spend in the ``days`` days after ``as_of``.

    Parameters
    ----------
    lines
        Order lines, as :func:`~kehu.analytics.health.compute_signals` takes them.
    customer_ids
        The customers to report (text ids, e.g. a signal table's ``customer_id``).
    as_of
        Last day before the period.
    days
        Length of the period.

    Returns
    -------
    pyarrow.Table
        ``customer_id``, ``next_orders``, ``next_spend`` and ``churned`` (no order), in the
        order of ``customer_ids``.
    """
    day = as_date(as_of, "as_of")
    if days < 1:
        raise InvalidDataError("days must be >= 1.", code="analytics.bad_window")
    table = normalise_lines(lines)
    con = ibis.duckdb.connect()
    try:
        t = ibis.memtable(table)
        t = t.filter(
            (t.quantity > 0)
            & (t.unit_price > 0)
            & (t.day > ibis.date(day))
            & (t.day <= ibis.date(day + dt.timedelta(days=days)))
        )
        t = t.mutate(net=t.quantity * t.unit_price - t.discount)
        per = con.to_pyarrow(
            t.group_by("customer_id").aggregate(orders=t.order_id.nunique(), spend=t.net.sum())
        )
    finally:
        con.disconnect()
    ids = pa.chunked_array([pa.array(customer_ids, pa.string())]).combine_chunks()
    index = pc.index_in(ids, value_set=per.column("customer_id")).to_numpy(zero_copy_only=False)
    found = ~np.isnan(index.astype(np.float64))
    orders = np.zeros(len(ids))
    spend = np.zeros(len(ids))
    take = index[found].astype(np.int64)
    orders[found] = per.column("orders").to_numpy()[take]
    spend[found] = per.column("spend").to_numpy()[take]
    return pa.table(
        {
            "customer_id": ids,
            "next_orders": orders,
            "next_spend": spend,
            "churned": orders == 0,
        }
    )


class ChurnRiskModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn ships no stubs
    """Probability that a customer buys nothing in the next period (standardised logistic model).

    Parameters
    ----------
    features
        Feature columns to use (default :data:`FEATURES`); each must be in ``X``.
    C
        Inverse L2 regularisation strength of the logistic regression.
    max_iter
        Iterations of the L-BFGS solver.

    Attributes
    ----------
    features_ : tuple of str
        The columns used, in order.
    mean_, scale_ : ndarray
        Standardisation of each feature.
    coef_ : ndarray
        Coefficients on the standardised features (positive: more risk).
    intercept_ : float
    classes_ : ndarray
        ``[False, True]`` (True = churned).
    n_customers_ : int
    base_rate_ : float
        Share of churned customers in the training data.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> X = pa.table({"customer_id": [str(i) for i in range(200)], "a": x})
    >>> model = ChurnRiskModel(features=("a",)).fit(X, x + rng.normal(size=200) > 0)
    >>> bool(model.coef_[0] > 0)
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "features": [tuple, list, None],
        "C": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"lbfgs"})],
    }

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        C: float = 1.0,
        max_iter: int = 1000,
        solver: str = "lbfgs",
    ) -> None:
        self.features = features
        self.C = C
        self.max_iter = max_iter
        self.solver = solver

    def _matrix(self, X: Any, names: tuple[str, ...]) -> FloatArray:
        table = to_arrow(X)
        require_columns(table, names, what="The churn features")
        matrix = np.column_stack([_col(table, name) for name in names]) if names else None
        if matrix is None or not np.all(np.isfinite(matrix)):
            raise InvalidDataError(
                "The churn features hold missing or non-finite values; build them with "
                "health_features().",
                code="analytics.not_finite",
            )
        return matrix

    def fit(self, X: Any, y: Any) -> Self:
        """Fit on features ``X`` and labels ``y`` (True = no purchase in the next period)."""
        self._validate_params()
        names = tuple(self.features) if self.features is not None else FEATURES
        matrix = self._matrix(X, names)
        labels = np.asarray(y, dtype=bool).reshape(-1)
        if labels.shape[0] != matrix.shape[0]:
            raise InvalidDataError(
                f"y has {labels.shape[0]} labels for {matrix.shape[0]} customers.",
                code="analytics.bad_shape",
            )
        if labels.all() or not labels.any():
            raise InvalidDataError(
                "Every customer in the training period churned, or none did: the churn model "
                "needs both outcomes; choose a longer history or another date.",
                code="analytics.one_class",
            )
        mean = matrix.mean(axis=0)
        scale = matrix.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=self.C, max_iter=self.max_iter, solver=self.solver)
        model.fit((matrix - mean) / scale, labels)
        self.features_ = names
        self.mean_ = mean
        self.scale_ = scale
        self.coef_ = np.asarray(model.coef_[0], dtype=np.float64)
        self.intercept_ = float(model.intercept_[0])
        self.classes_ = np.array([False, True])
        self.n_customers_ = int(matrix.shape[0])
        self.base_rate_ = float(labels.mean())
        return self

    def predict_risk(self, X: Any) -> FloatArray:
        """Return each customer's probability of buying nothing in the next period."""
        check_is_fitted(self, "coef_")
        matrix = self._matrix(X, self.features_)
        z = ((matrix - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def predict_proba(self, X: Any) -> FloatArray:
        """Return ``[P(stays), P(churns)]`` per customer."""
        risk = self.predict_risk(X)
        return np.column_stack([1.0 - risk, risk])

    def predict(self, X: Any) -> Any:
        """Return True where the churn risk is at least one half."""
        return self.predict_risk(X) >= 0.5

    def coefficients(self) -> dict[str, float]:
        """Return ``{feature: coefficient}`` on standardised features (for reports)."""
        check_is_fitted(self, "coef_")
        return {name: float(c) for name, c in zip(self.features_, self.coef_, strict=True)}


def roc_auc(labels: Any, scores: Any) -> float | None:
    """Return the area under the ROC curve (ties count half), or None with one class only."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
