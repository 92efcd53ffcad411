"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; Colombo & Jiang 1999)."""

from numbers import Integral, Real
from typing import Any, ClassVar, Self

import numpy as np
from scipy.special import digamma, gammaln

from kehu.analytics._base import (
    ConvergenceError,
    Estimator,
    FloatArray,
    Interval,
    InvalidDataError,
    float_column,
    require_columns,
    to_arrow,
)
from kehu.analytics.clv._common import ONE_PASS_MIN_TUPLES, factorize, factorize_int
from kehu.analytics.clv._mle import MLEResult, ValueAndGradient, fit_log_params

#: Mean spends are rounded to this many steps of their log range for the starting fit.
_COARSE_SPEND_CELLS = 256


def _read_spend(data: Any) -> tuple[FloatArray, FloatArray]:
    """Return (number of transactions behind the mean, mean spend) per row."""
    table = to_arrow(data)
    require_columns(table, ("frequency", "monetary_value"), what="The customer summary")
    if table.num_rows == 0:
        raise InvalidDataError("The customer summary is empty.", code="analytics.empty")
    count_column = "n_monetary" if "n_monetary" in table.column_names else "frequency"
    return float_column(table, count_column), float_column(table, "monetary_value")


def _prepare_total(x: FloatArray, m: FloatArray, weight: FloatArray) -> ValueAndGradient:
    """Total negative log-likelihood and gradient, data-only terms precomputed.

    Per pair, ``log L = gammaln(px+q) - gammaln(px) - gammaln(q) + q log v + (px-1) log m +
    px log x - (px+q) log(xm + v)``: the gamma functions need only the distinct counts ``x``,
    the ``log m`` and ``log x`` terms are constants times ``p``, so one log per pair remains.
    """
    xs, xi = factorize(x)
    w_x = np.bincount(xi, weights=weight, minlength=len(xs))
    total = float(weight.sum())
    wx = weight * x
    xm = x * m
    s_logm = float(weight @ np.log(m))
    s_xlogmx = float(wx @ (np.log(m) + np.log(x)))

    def value_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = (float(value) for value in theta)
        pxs = p * xs
        log_xm_v = np.log(xm + v)
        inv_xm_v = 1.0 / (xm + v)
        wx_log, w_log = float(wx @ log_xm_v), float(weight @ log_xm_v)
        wx_inv, w_inv = float(wx @ inv_xm_v), float(weight @ inv_xm_v)
        value = (
            w_x @ (gammaln(pxs + q) - gammaln(pxs))
            + total * (q * np.log(v) - gammaln(q))
            + p * s_xlogmx
            - s_logm
            - p * wx_log
            - q * w_log
        )
        psi = digamma(pxs + q)
        grad = np.array(
            [
                (w_x * xs) @ (psi - digamma(pxs)) + s_xlogmx - wx_log,
                w_x @ psi + total * (np.log(v) - digamma(q)) - w_log,
                total * q / v - p * wx_inv - q * w_inv,
            ]
        )
        return -float(value), -grad

    return value_and_grad


def _distinct_pairs(x: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distinct (count, mean spend) pairs, sorted, with how many customers share each.

    Mean spends are nearly all distinct, so a sort (and a look at neighbours) is cheaper
    here than hashing; sorted pairs also make the sums, and the fit, independent of the
    order of the customers.
    """
    # Sort by spend, then (stably) by count: twice as fast as numpy.lexsort on both.
    order = np.argsort(m)
    counts = x[order]
    if len(counts) and float(counts.max()) < 2**15 and np.array_equal(counts, np.rint(counts)):
        # Whole counts below 2^15 as int16: numpy's stable sort is then a radix sort.
        counts = counts.astype(np.int16)
    order = order[np.argsort(counts, kind="stable")]
    x, m = x[order], m[order]
    new = np.ones(len(x), dtype=bool)
    new[1:] = (x[1:] != x[:-1]) | (m[1:] != m[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(x))).astype(np.float64)
    return x[starts], m[starts], counts


class GammaGammaModel(Estimator):
    """Average spend per transaction, pooled across customers (the Gamma-Gamma model).

    Each transaction's value is Gamma(p, nu) around a customer's mean; ``nu ~ Gamma(q, v)``
    across customers. Fitted on customers with at least one repeat transaction of positive
    value (``n_monetary`` repeat days behind ``monetary_value``, or ``frequency`` when the
    summary has no ``n_monetary``); the others are left out and counted in
    ``n_excluded_``. As in the papers, it assumes spend does not depend on how often a
    customer buys; ``frequency_spend_correlation_`` reports the correlation to check it.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters; 0 gives the plain MLE.
    tol
        Gradient tolerance of the optimiser on the mean negative log-likelihood.
    max_iter
        Iteration cap of the optimiser.

    Attributes
    ----------
    params_ : dict[str, float]
        ``p``, ``q``, ``v``.
    standard_errors_ : dict[str, float]
        From the inverse observed information in log-parameters and the delta method.
    covariance_ : numpy.ndarray
        Covariance of the parameters.
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    n_customers_, n_excluded_, n_distinct_, n_iter_ : int
        Customers fitted, customers left out, distinct (count, mean) pairs, iterations.
    frequency_spend_correlation_ : float
        Pearson correlation of ``frequency`` and ``monetary_value`` among fitted customers.
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    model_name: ClassVar[str] = "Gamma-Gamma"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "penalizer": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-7, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    @staticmethod
    def _log_lik(theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        p, q, v = theta
        px = p * x
        return np.asarray(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(x * m + v),
            dtype=np.float64,
        )

    @staticmethod
    def _log_lik_grad(theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        p, q, v = theta
        px = p * x
        log_xm_v = np.log(x * m + v)
        g = np.empty((len(x), 3))
        g[:, 0] = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_xm_v)
        g[:, 1] = digamma(px + q) - digamma(q) + np.log(v) - log_xm_v
        g[:, 2] = q / v - (px + q) / (x * m + v)
        return g

    def fit(self, X: Any, y: None = None) -> Self:
        """Fit by maximum likelihood on the distinct (count, mean spend) pairs.

        Parameters
        ----------
        X
            Customer summary with ``frequency`` and ``monetary_value`` (and ``n_monetary``
            when it comes from :func:`summarize_transactions`).
        y
            Ignored.

        Returns
        -------
        Self
            The fitted model.

        Raises
        ------
        InvalidDataError
            No customer has a repeat transaction with a positive value.
        ConvergenceError
            The likelihood has no interior maximum on these data (e.g. every customer spends
            the same: the spread parameters are not identified).
        """
        del y
        self._validate_params()
        count, mean = _read_spend(X)
        usable = (count > 0) & (mean > 0)
        if not np.any(usable):
            raise InvalidDataError(
                "No customer has a repeat purchase with a positive amount, so spend per "
                "transaction cannot be estimated.",
                code="analytics.no_repeat",
            )
        x, m, weight = _distinct_pairs(count[usable], mean[usable])

        def neg_log_lik(theta: FloatArray) -> float:
            return -float(weight @ self._log_lik(theta, x, m))

        value_and_grad = _prepare_total(x, m, weight)

        def gradient(theta: FloatArray) -> FloatArray:
            return value_and_grad(theta)[1]

        warm = self._coarse_fit(x, m, weight) if len(x) >= ONE_PASS_MIN_TUPLES else None

        result = fit_log_params(
            neg_log_lik,
            gradient,
            names=self.param_names,
            total_weight=float(weight.sum()),
            penalizer=float(self.penalizer),
            tol=float(self.tol),
            max_iter=int(self.max_iter),
            model_name=self.model_name,
            value_and_grad=value_and_grad,
            warm_start=warm,
        )
        self.params_ = dict(zip(self.param_names, result.params.tolist(), strict=True))
        self.standard_errors_ = dict(
            zip(self.param_names, result.standard_errors.tolist(), strict=True)
        )
        self.covariance_ = result.covariance
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = int(usable.sum())
        self.n_excluded_ = int((~usable).sum())
        self.n_distinct_ = len(x)
        self.n_iter_ = result.n_iter
        fitted_counts, fitted_means = count[usable], mean[usable]
        spread = float(np.std(fitted_counts)) * float(np.std(fitted_means))
        self.frequency_spend_correlation_ = (
            float(np.corrcoef(fitted_counts, fitted_means)[0, 1]) if spread > 0 else 0.0
        )
        return self

    def _coarse_fit(self, x: FloatArray, m: FloatArray, weight: FloatArray) -> MLEResult | None:
        """Fit on the pairs with mean spend rounded to 1/256 of its log range, or ``None``.

        Only a start (parameters and curvature) for the fit on the full pairs, which alone
        decides the parameters and the verdicts.
        """
        log_m = np.log(m)
        low, high = float(log_m.min()), float(log_m.max())
        if not high > low:
            return None
        step = (high - low) / _COARSE_SPEND_CELLS
        xs, xi = factorize(x)
        size = _COARSE_SPEND_CELLS + 1
        codes = xi.astype(np.int64) * size + np.rint((log_m - low) / step).astype(np.int64)
        distinct, index = factorize_int(codes)
        coarse_x, cell = np.divmod(distinct, size)
        coarse_m = np.exp(low + cell.astype(np.float64) * step)
        coarse_w = np.bincount(index, weights=weight, minlength=len(distinct)).astype(np.float64)
        value_and_grad = _prepare_total(xs[coarse_x], coarse_m, coarse_w)

        def neg_log_lik(theta: FloatArray) -> float:
            return value_and_grad(theta)[0]

        def gradient(theta: FloatArray) -> FloatArray:
            return value_and_grad(theta)[1]

        try:
            return fit_log_params(
                neg_log_lik,
                gradient,
                names=self.param_names,
                total_weight=float(coarse_w.sum()),
                penalizer=float(self.penalizer),
                tol=float(self.tol),
                max_iter=int(self.max_iter),
                model_name=self.model_name,
                value_and_grad=value_and_grad,
            )
        except ConvergenceError:
            return None

    def expected_spend(self, X: Any) -> FloatArray:
        """Return the expected mean spend per future transaction, per customer.

        Customers without a usable repeat purchase get the population mean ``p v / (q - 1)``.

        Parameters
        ----------
        X
            Customer summary with ``frequency`` and ``monetary_value`` (and ``n_monetary``).

        Returns
        -------
        numpy.ndarray
            One value per row of ``X``.

        Raises
        ------
        InvalidDataError
            ``q <= 1``: the population mean spend is infinite under the fitted parameters.
        """
        self._check_fitted("params_")
        p, q, v = (self.params_[name] for name in self.param_names)
        if q <= 1:
            raise InvalidDataError(
                f"Gamma-Gamma q = {q:.3g} <= 1: the expected spend is infinite; the spend data "
                "are too heavy-tailed for this model.",
                code="analytics.infinite_mean",
            )
        count, mean = _read_spend(X)
        usable = (count > 0) & (mean > 0)
        x = np.where(usable, count, 0.0)
        m = np.where(usable, mean, 0.0)
        return np.asarray(p * (v + x * m) / (p * x + q - 1), dtype=np.float64)

    def predict(self, X: Any) -> FloatArray:
        """Alias of :meth:`expected_spend`."""
        return self.expected_spend(X)
