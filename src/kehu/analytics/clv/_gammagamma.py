"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; Colombo & Jiang 1999)."""

from numbers import Integral, Real
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from kehu.analytics._base import (
    ConvergenceError,
    Estimator,
    FloatArray,
    Interval,
    InvalidDataError,
    float_column,
    numpy_values,
    require_columns,
    to_arrow,
)
from kehu.analytics.clv._common import ONE_PASS_MIN_TUPLES, factorize, factorize_int
from kehu.analytics.clv._mle import MLEResult, ValueAndGradient, fit_log_params, one_blas_thread
from kehu.analytics.clv._special import digamma, gammaln

#: Mean spends are rounded to this many steps of their log range for the starting fit.
_COARSE_SPEND_CELLS = 256


#: Pairs per block of the one-pass likelihood (work buffers of 512 kB each).
_PAIRS_PER_BLOCK = 1 << 16


def _read_spend(data: Any) -> tuple[npt.NDArray[Any], FloatArray]:
    """Return (number of transactions behind the mean, mean spend) per row.

    The count is float64, or the column's own integers (read in place) when it holds integers.
    """
    table = to_arrow(data)
    require_columns(table, ("frequency", "monetary_value"), what="The customer summary")
    if table.num_rows == 0:
        raise InvalidDataError("The customer summary is empty.", code="analytics.empty")
    count_column = "n_monetary" if "n_monetary" in table.column_names else "frequency"
    return _count_column(table, count_column), float_column(table, "monetary_value")


def _count_column(table: pa.Table, name: str) -> npt.NDArray[Any]:
    """Read a count column as stored when it holds integers (no float copy), else as float64.

    Integers convert to float64 exactly where they are used (``numpy.where``, ``astype``), so
    the results are those of a float copy, without its 8 bytes per customer.
    """
    column = table.column(name)
    if pa.types.is_integer(column.type) and not column.null_count:
        return np.asarray(numpy_values(column))
    return float_column(table, name)


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

    n = len(xm)
    # The per-pair terms over blocks of pairs with two small work buffers (no temporaries of
    # every pair at each evaluation: ~13 MB less at a million customers).
    size = max(1, min(n, _PAIRS_PER_BLOCK))
    shifted, logs = np.empty(size), np.empty(size)

    def value_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = (float(value) for value in theta)
        pxs = p * xs
        wx_log = w_log = wx_inv = w_inv = 0.0
        for lo in range(0, n, size):
            hi = min(lo + size, n)
            xm_v, log_xm_v = shifted[: hi - lo], logs[: hi - lo]
            np.add(xm[lo:hi], v, out=xm_v)
            np.log(xm_v, out=log_xm_v)
            wx_log += float(wx[lo:hi] @ log_xm_v)
            w_log += float(weight[lo:hi] @ log_xm_v)
            inv_xm_v = np.divide(1.0, xm_v, out=xm_v)
            wx_inv += float(wx[lo:hi] @ inv_xm_v)
            w_inv += float(weight[lo:hi] @ inv_xm_v)
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


def _weighted_correlation(x: FloatArray, m: FloatArray, weight: FloatArray) -> float:
    """Pearson correlation of the customers' (count, mean spend), from the distinct pairs."""
    total = float(weight.sum())
    dx = x - float(weight @ x) / total
    dm = m - float(weight @ m) / total
    var_x, var_m = float(weight @ (dx * dx)), float(weight @ (dm * dm))
    if not (var_x > 0 and var_m > 0):
        return 0.0
    return float(weight @ (dx * dm)) / float(np.sqrt(var_x * var_m))


def _distinct_pairs(columns: list[npt.NDArray[Any]]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distinct (count, mean spend) pairs, sorted, with how many customers share each.

    ``columns`` is ``[count, mean]`` per customer, emptied on the way (their memory goes as
    soon as they are sorted). Mean spends are nearly all distinct, so a sort (and a look at
    neighbours) is cheaper here than hashing; sorted pairs also make the sums, and the fit,
    independent of the order of the customers.
    """
    m = columns.pop()
    x = columns.pop()
    # Whole counts below 2^15 as int16: numpy's stable sort is then a radix sort (and the
    # float counts need not be kept meanwhile).
    small = None
    whole = np.issubdtype(x.dtype, np.integer) or np.array_equal(x, np.rint(x))
    if len(x) and float(x.max()) < 2**15 and float(x.min()) >= 0 and whole:
        small = x.astype(np.int16)
        del x
    # Sort by spend, then (stably) by count: twice as fast as numpy.lexsort on both.
    # The permutations are kept as int32 (below 2^31 customers): ~5 MB less at the peak, a
    # million customers.
    wide = len(m) >= 2**31
    order = np.argsort(m)
    if not wide:
        order = order.astype(np.int32)
    keys = small[order] if small is not None else x[order]
    perm = np.argsort(keys, kind="stable")
    del keys
    order = order[perm]
    del perm
    # Sorted counts stay int16 until the distinct pairs are found.
    x = small[order] if small is not None else x[order].astype(np.float64)
    del small
    m = m[order]
    del order
    new = np.ones(len(x), dtype=bool)
    new[1:] = (x[1:] != x[:-1]) | (m[1:] != m[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(x))).astype(np.float64)
    return np.asarray(x[starts], dtype=np.float64), np.asarray(m[starts], dtype=np.float64), counts


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
        # The per-pair paths (tests, small data) on scipy.
        from scipy.special import gammaln

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
        from scipy.special import digamma  # as in _log_lik

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
        # The per-customer arrays go as soon as they are compressed, and the coarse fit's
        # temporaries before the full fit's buffers exist (peak memory, a million customers).
        n_customers = int(usable.sum())
        n_excluded = len(usable) - n_customers
        fitted = [count[usable], mean[usable]]
        del count, mean, usable
        # The correlation's and the one-pass terms' dot products too (see one_blas_thread).
        with one_blas_thread():
            return self._fit_pairs(fitted, n_customers, n_excluded)

    def _fit_pairs(self, fitted: list[npt.NDArray[Any]], n_customers: int, n_excluded: int) -> Self:
        x, m, weight = _distinct_pairs(fitted)
        correlation = _weighted_correlation(x, m, weight)
        n_distinct = len(x)
        warm = self._coarse_fit(x, m, weight) if len(x) >= ONE_PASS_MIN_TUPLES else None
        value_and_grad = _prepare_total(x, m, weight)
        del x, m  # the one-pass terms hold what the fit needs

        def neg_log_lik(theta: FloatArray) -> float:
            return value_and_grad(theta)[0]

        def gradient(theta: FloatArray) -> FloatArray:
            return value_and_grad(theta)[1]

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
        self.n_customers_ = n_customers
        self.n_excluded_ = n_excluded
        self.n_distinct_ = n_distinct
        self.n_iter_ = result.n_iter
        self.frequency_spend_correlation_ = correlation
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
        count, mean = self._spend_inputs(X)
        return self._expected_spend(count, mean)

    def _spend_inputs(self, X: Any) -> tuple[npt.NDArray[Any], FloatArray]:
        self._check_fitted("params_")
        q = self.params_["q"]
        if q <= 1:
            raise InvalidDataError(
                f"Gamma-Gamma q = {q:.3g} <= 1: the expected spend is infinite; the spend data "
                "are too heavy-tailed for this model.",
                code="analytics.infinite_mean",
            )
        return _read_spend(X)

    def _expected_spend(self, count: npt.NDArray[Any], mean: FloatArray) -> FloatArray:
        p, q, v = (self.params_[name] for name in self.param_names)
        usable = (count > 0) & (mean > 0)
        x = np.where(usable, count, 0.0)  # float64 (an integer count converts here)
        value = np.where(usable, mean, 0.0)
        del usable
        # p * (v + x * m) / (p * x + q - 1), in place (the same operations, to the bit).
        np.multiply(x, value, out=value)
        np.add(value, v, out=value)
        np.multiply(value, p, out=value)
        np.multiply(x, p, out=x)
        np.add(x, q, out=x)
        np.subtract(x, 1.0, out=x)
        return np.asarray(np.divide(value, x, out=x), dtype=np.float64)

    def _multiply_by_expected_spend(self, X: Any, out: FloatArray) -> None:
        """Multiply ``out`` by :meth:`expected_spend` of ``X`` in place, in blocks of customers.

        The same values to the bit, without the expected spends of every customer (and their
        work arrays) held at once.
        """
        count, mean = self._spend_inputs(X)
        if len(count) != len(out):
            raise InvalidDataError(
                "The summary's rows do not match the values to multiply.",
                code="analytics.bad_summary",
            )
        for lo in range(0, len(out), _PAIRS_PER_BLOCK):
            hi = lo + _PAIRS_PER_BLOCK
            np.multiply(out[lo:hi], self._expected_spend(count[lo:hi], mean[lo:hi]), out=out[lo:hi])

    def predict(self, X: Any) -> FloatArray:
        """Alias of :meth:`expected_spend`."""
        return self.expected_spend(X)
