"""What every purchase-count model shares: input checks, compression, fit, join-back."""

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from kehu.analytics._base import (
    ConvergenceError,
    FloatArray,
    IntArray,
    InvalidDataError,
    compress_rows,
    float_column,
    require_columns,
    to_arrow,
)
from kehu.analytics.clv._mle import fit_log_params

WEIGHT_COLUMN = "n_customers"
RFT_COLUMNS = ("frequency", "recency", "T")


@dataclass(frozen=True)
class CompressedRFT:
    """Distinct (frequency, recency, T) tuples, their counts, and the map back to the rows."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray
    inverse: IntArray | None  # None: the input was already one row per distinct tuple

    def per_x(self, values: FloatArray) -> FloatArray:
        """Spread values computed once per distinct frequency back to the tuples.

        Special functions of ``param + x`` dominate the cost of a likelihood evaluation, and
        ``x`` takes few distinct values, so they are evaluated on those only.
        """
        return values[self.x_index]

    @property
    def x_values(self) -> FloatArray:
        return self._x_split()[0]

    @property
    def x_index(self) -> IntArray:
        return self._x_split()[1]

    def _x_split(self) -> tuple[FloatArray, IntArray]:
        cached = self.__dict__.get("_x_cache")
        if cached is None:
            values, index = np.unique(self.x, return_inverse=True)
            cached = (values, index.reshape(-1))
            object.__setattr__(self, "_x_cache", cached)
        return cached

    def expand(self, values: FloatArray) -> FloatArray:
        """Join per-tuple values back onto the input rows."""
        return values if self.inverse is None else values[self.inverse]


def read_rft(data: Any, *, require_repeat: bool = False) -> CompressedRFT:
    """Validate a summary table and compress it to distinct (frequency, recency, T) tuples.

    A column ``n_customers`` marks the input as already compressed: each row then stands for
    that many customers (the form Spark or DuckDB hands back at scale).
    """
    table = to_arrow(data)
    require_columns(table, RFT_COLUMNS, what="The customer summary")
    if table.num_rows == 0:
        raise InvalidDataError(
            "The customer summary is empty: there are no customers to fit or score.",
            code="analytics.empty",
        )
    x = float_column(table, "frequency")
    t_x = float_column(table, "recency")
    T = float_column(table, "T")
    problems = []
    if np.any(x < 0) or np.any(x != np.round(x)):
        problems.append("frequency must be a whole number >= 0")
    # T = 0 (first purchase on the last day observed) is allowed: such a customer adds nothing
    # to the likelihood (probability 1 of no repeat in no time) but is still scored.
    if np.any(T < 0):
        problems.append(
            "T (customer age) must be >= 0: the observation end is before a first purchase"
        )
    if np.any(t_x < 0) or np.any(t_x > T * (1 + 1e-12)):
        problems.append("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x != 0)):
        problems.append("recency must be 0 when frequency is 0")
    if problems:
        raise InvalidDataError(
            "The customer summary is inconsistent: " + "; ".join(problems) + ".",
            code="analytics.bad_summary",
        )
    if require_repeat and not np.any(x > 0):
        raise InvalidDataError(
            "No customer made a repeat purchase, so repeat-buying rates cannot be estimated.",
            code="analytics.no_repeat",
        )
    if WEIGHT_COLUMN in table.column_names:
        weight = float_column(table, WEIGHT_COLUMN)
        if np.any(weight <= 0):
            raise InvalidDataError(f"{WEIGHT_COLUMN} must be > 0.", code="analytics.bad_summary")
        return CompressedRFT(x, t_x, T, weight, None)
    (dx, dt, dT), counts, inverse = compress_rows(x, t_x, T)
    return CompressedRFT(dx, dt, dT, counts, inverse)


class PurchaseCountModel(BaseEstimator):  # type: ignore[misc]  # sklearn ships no stubs
    """Base of the BG/NBD, MBG/NBD and Pareto/NBD models (not public).

    Subclasses declare ``param_names`` and implement the per-tuple log-likelihood, expected
    purchases and P(alive); this class validates, compresses, fits and joins back.
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    model_name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "penalizer": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "unidentified_dropout": [StrOptions({"raise", "keep"})],
    }
    #: The parameters of the dropout process (set aside when ``unidentified_dropout="keep"``).
    dropout_params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        tol: float = 1e-7,
        max_iter: int = 1000,
        unidentified_dropout: str = "raise",
    ) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter
        self.unidentified_dropout = unidentified_dropout

    # -- to implement ---------------------------------------------------------------------------
    def _log_lik(self, theta: FloatArray, d: CompressedRFT) -> FloatArray:
        raise NotImplementedError

    def _log_lik_grad(self, theta: FloatArray, d: CompressedRFT) -> FloatArray | None:
        """Per-tuple gradient (tuples x params), or None to differentiate numerically."""
        del theta, d
        return None

    def _expected(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        raise NotImplementedError

    def _p_alive(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        raise NotImplementedError

    # -- the contract ---------------------------------------------------------------------------
    def fit(self, X: Any, y: None = None) -> Self:
        """Fit by maximum likelihood on the distinct (frequency, recency, T) tuples.

        Parameters
        ----------
        X
            Customer summary with columns ``frequency`` (repeat purchases), ``recency`` (time
            from first to last purchase) and ``T`` (time from first purchase to the end of the
            calibration period), in one time unit; optionally ``n_customers`` when each row is
            already a distinct tuple with its count.
        y
            Ignored.

        Returns
        -------
        Self
            The fitted model.

        Raises
        ------
        InvalidDataError
            Missing columns, an empty or inconsistent summary, no repeat purchases at all.
        ConvergenceError
            The likelihood has no interior maximum on these data (with the reason).
        """
        del y
        self._validate_params()
        d = read_rft(X, require_repeat=True)

        def neg_log_lik(theta: FloatArray) -> float:
            return -float(d.weight @ self._log_lik(theta, d))

        gradient = None
        if self._log_lik_grad(np.ones(len(self.param_names)), d) is not None:

            def gradient(theta: FloatArray) -> FloatArray:
                per_tuple = self._log_lik_grad(theta, d)
                assert per_tuple is not None  # noqa: S101 - checked above
                return -(d.weight @ per_tuple)

        result = fit_log_params(
            neg_log_lik,
            gradient,
            names=self.param_names,
            total_weight=float(d.weight.sum()),
            penalizer=float(self.penalizer),
            tol=float(self.tol),
            max_iter=int(self.max_iter),
            model_name=self.model_name,
            allow_unidentified=self.dropout_params if self.unidentified_dropout == "keep" else (),
        )
        self.params_ = dict(zip(self.param_names, result.params.tolist(), strict=True))
        self.unidentified_params_ = list(result.unidentified)
        self.standard_errors_ = dict(
            zip(self.param_names, result.standard_errors.tolist(), strict=True)
        )
        self.covariance_ = result.covariance
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = round(float(d.weight.sum()))
        self.n_distinct_ = len(d.x)
        self.n_iter_ = result.n_iter
        return self

    @property
    def _theta(self) -> FloatArray:
        check_is_fitted(self, "params_")
        return np.array([self.params_[name] for name in self.param_names])

    def expected_purchases(self, X: Any, *, horizon: float) -> FloatArray:
        """Return the expected number of purchases in the next ``horizon`` time units.

        Parameters
        ----------
        X
            Customer summary (as for :meth:`fit`).
        horizon
            Length of the future period, in the summary's time unit.

        Returns
        -------
        numpy.ndarray
            One value per row of ``X``, computed once per distinct tuple.
        """
        theta = self._theta
        _check_horizon(horizon)
        d = read_rft(X)
        with np.errstate(all="ignore"):
            values = self._expected(theta, d, float(horizon))
        return d.expand(_finite(values, "expected purchases", self.model_name))

    def predict(self, X: Any, *, horizon: float = 52.0) -> FloatArray:
        """Alias of :meth:`expected_purchases` (default horizon 52 units: a year in weeks)."""
        return self.expected_purchases(X, horizon=horizon)

    def probability_alive(self, X: Any, *, at: float = 0.0) -> FloatArray:
        """Probability that each customer is still active ``at`` time units after the end.

        Parameters
        ----------
        X
            Customer summary (as for :meth:`fit`).
        at
            0 for now (the end of the calibration period), or a later point, in time units.

        Returns
        -------
        numpy.ndarray
            One probability per row of ``X``.
        """
        theta = self._theta
        _check_horizon(at)
        d = read_rft(X)
        with np.errstate(all="ignore"):
            values = self._p_alive(theta, d, float(at))
        return d.expand(np.clip(_finite(values, "P(alive)", self.model_name), 0.0, 1.0))

    def log_likelihood(self, X: Any) -> float:
        """Total log-likelihood of a summary under the fitted parameters."""
        theta = self._theta
        d = read_rft(X)
        return float(d.weight @ self._log_lik(theta, d))


def _check_horizon(value: float) -> None:
    if not np.isfinite(value) or value < 0:
        raise InvalidDataError(
            f"A horizon must be a finite number >= 0, got {value}.", code="analytics.bad_horizon"
        )


def _finite(values: FloatArray, what: str, model_name: str) -> FloatArray:
    if not np.all(np.isfinite(values)):
        raise ConvergenceError(
            f"{model_name}: {what} came out non-finite for some customers; please report this "
            "with the summary that caused it.",
            code="analytics.numeric",
        )
    return values
