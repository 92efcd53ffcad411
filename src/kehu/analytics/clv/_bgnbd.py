"""BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way"."""

from typing import Any, ClassVar

import numpy as np
from typing_extensions import override

from kehu.analytics._base import FloatArray
from kehu.analytics.clv._common import CompressedRFT, PurchaseCountModel
from kehu.analytics.clv._mle import ValueAndGradient
from kehu.analytics.clv._special import digamma, expit, gammaln, hyp2f1

#: Tuples per block of the one-pass likelihood (work buffers of 512 kB each).
_TUPLES_PER_BLOCK = 1 << 16


class BetaGeoModel(PurchaseCountModel):
    """The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
    after each purchase they drop out with probability ``p ~ Beta(a, b)``. Fitted by maximum
    likelihood on the distinct (frequency, recency, T) tuples weighted by their counts; every
    prediction is computed once per distinct tuple and joined back to the customers.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (lifetimes' ``penalizer_coef``); 0 gives the plain MLE.
    tol
        Gradient tolerance of the optimiser on the mean negative log-likelihood.
    max_iter
        Iteration cap of the optimiser.
    unidentified_dropout
        What to do when the data show no dropout at all (common on a year or less of retail
        data: nobody has visibly left yet), so the likelihood is flat in the dropout parameters
        while the purchase rates are well identified. ``"raise"`` (default) raises
        :class:`~kehu.analytics.ConvergenceError`; ``"keep"`` keeps the fit, reports those
        parameters in ``unidentified_params_`` with infinite standard errors, and predicts as
        the flat likelihood implies: P(alive) near 1 (the model reduces to the NBD).

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha``, ``a``, ``b``.
    standard_errors_ : dict[str, float]
        From the inverse observed information in log-parameters and the delta method
        (``inf`` for a parameter listed in ``unidentified_params_``).
    unidentified_params_ : list[str]
        Dropout parameters the data do not identify (only with ``unidentified_dropout="keep"``).
    covariance_ : numpy.ndarray
        Covariance of the parameters (same order as ``params_``).
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    n_customers_, n_distinct_, n_iter_ : int
        Customers, distinct tuples, optimiser iterations.

    Examples
    --------
    >>> import pyarrow as pa
    >>> summary = pa.table({"frequency": [0, 2, 5, 1], "recency": [0.0, 20.0, 30.0, 4.0],
    ...                     "T": [39.0, 35.0, 38.0, 10.0]})
    >>> model = BetaGeoModel().fit(summary)  # doctest: +SKIP
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    dropout_params: ClassVar[tuple[str, ...]] = ("a", "b")
    model_name: ClassVar[str] = "BG/NBD"
    # 1 for MBG/NBD, where a customer may also drop out right at the first purchase: it shifts
    # b + x to b + x + 1 in the Beta terms and applies the dropout term to x = 0 as well.
    _shift: ClassVar[int] = 0

    def _terms(self, theta: FloatArray, d: CompressedRFT) -> tuple[Any, ...]:
        r, alpha, a, b = theta
        x, t_x, T = d.x, d.t_x, d.T
        k = self._shift
        can_be_dead = (x > 0) | (k == 1)
        bxk = np.where(can_be_dead, b + x - 1 + k, 1.0)
        a3 = -(r + x) * np.log(alpha + T)
        a4 = np.where(can_be_dead, np.log(a) - np.log(bxk) - (r + x) * np.log(alpha + t_x), -np.inf)
        return can_be_dead, bxk, a3, a4

    @override
    def _log_lik(self, theta: FloatArray, d: CompressedRFT) -> FloatArray:
        # The per-tuple paths (small data, the log-likelihood of a fitted model) on scipy.
        from scipy.special import gammaln

        r, alpha, a, b = theta
        xs, k = d.x_values, self._shift
        _, _, a3, a4 = self._terms(theta, d)
        a12 = (
            gammaln(r + xs)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + xs + k)
            - gammaln(b)
            - gammaln(a + b + xs + k)
        )
        return np.asarray(d.per_x(a12) + np.logaddexp(a3, a4), dtype=np.float64)

    @override
    def _log_lik_grad(self, theta: FloatArray, d: CompressedRFT) -> FloatArray:
        from scipy.special import digamma, expit  # as in _log_lik

        r, alpha, a, b = theta
        x, t_x, T, k = d.x, d.t_x, d.T, self._shift
        xs = d.x_values
        can_be_dead, bxk, a3, a4 = self._terms(theta, d)
        w4 = np.where(can_be_dead, expit(a4 - a3), 0.0)
        w3 = 1.0 - w4
        log_at = np.log(alpha + T)
        log_atx = np.log(alpha + t_x)
        g = np.empty((len(x), 4))
        g[:, 0] = d.per_x(digamma(r + xs) - digamma(r) + np.log(alpha)) - (
            w3 * log_at + w4 * log_atx
        )
        g[:, 1] = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
        g[:, 2] = d.per_x(digamma(a + b) - digamma(a + b + xs + k)) + w4 / a
        g[:, 3] = (
            d.per_x(digamma(a + b) + digamma(b + xs + k) - digamma(b) - digamma(a + b + xs + k))
            - w4 / bxk
        )
        return g

    @override
    def _prepare_total(self, d: CompressedRFT) -> ValueAndGradient:
        """Return the total log-likelihood and gradient, data-only terms precomputed.

        Per tuple, ``log L = A(x) + a3 + softplus(a4 - a3)``. The sums of ``A(x)`` and ``a3``
        need only the weights per distinct ``x`` and per distinct ``T``; only the softplus term
        (for tuples that can be dead) is evaluated per tuple, on logs of ``alpha + T`` and
        ``alpha + t_x`` taken once per distinct value and gathered.
        """
        k = self._shift
        xs, xi = d.split("x")
        txs, txi = d.split("t_x")
        Ts, Ti = d.split("T")
        w = d.weight
        total = float(w.sum())
        w_x = np.bincount(xi, weights=w, minlength=len(xs))
        w_T = np.bincount(Ti, weights=w, minlength=len(Ts))
        wx_T = np.bincount(Ti, weights=w * d.x, minlength=len(Ts))
        dead = (d.x > 0) | (k == 1)
        xi_d, txi_d, Ti_d = xi[dead], txi[dead], Ti[dead]
        w_d, x_d = w[dead], d.x[dead]
        xs_k = xs + k

        n_dead = len(x_d)
        # The per-tuple work runs over blocks of tuples with small work buffers, reused at
        # every evaluation: a few hundred kB instead of five arrays of every tuple (~20 MB at
        # a million customers), and the blocks stay in cache.
        size = max(1, min(n_dead, _TUPLES_PER_BLOCK))
        spread, diff, e, tmp, tmp2 = (np.empty(size) for _ in range(5))
        positive = np.empty(size, dtype=bool)
        # Indices as intp, block by block (numpy's take would convert int32 ones every call).
        ti_buffer, txi_buffer, xi_buffer = (np.empty(size, dtype=np.intp) for _ in range(3))

        def value_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, a, b = (float(value) for value in theta)
            log_aT = np.log(alpha + Ts)
            log_atx = np.log(alpha + txs)
            inv_aT = 1.0 / (alpha + Ts)
            inv_atx = 1.0 / (alpha + txs)
            log_a = np.log(a)
            with np.errstate(invalid="ignore", divide="ignore"):  # b + x - 1 < 0 at x = 0
                log_bx = np.log(b + xs_k - 1)
            softplus_sum = sum_w4 = g_r = g_alpha = 0.0
            w4_x = np.zeros(len(xs))
            for lo in range(0, n_dead, size):
                hi = min(lo + size, n_dead)
                n = hi - lo
                sp, df, ex, t1, t2 = spread[:n], diff[:n], e[:n], tmp[:n], tmp2[:n]
                pos = positive[:n]
                ti, txi_b, xi_b = ti_buffer[:n], txi_buffer[:n], xi_buffer[:n]
                ti[:] = Ti_d[lo:hi]
                txi_b[:] = txi_d[lo:hi]
                xi_b[:] = xi_d[lo:hi]
                w_b = w_d[lo:hi]
                np.take(log_aT, ti, out=sp, mode="clip")
                np.subtract(sp, np.take(log_atx, txi_b, out=t1, mode="clip"), out=sp)
                # diff = a4 - a3 = log(a) - log(b + x - 1 + k) + (r + x) * spread
                np.take(log_bx, xi_b, out=df, mode="clip")
                np.subtract(log_a, df, out=df)
                np.add(x_d[lo:hi], r, out=t2)  # r + x
                np.multiply(t2, sp, out=t1)
                np.add(df, t1, out=df)
                # softplus(diff) and expit(diff) from one exp (np.log1p / logaddexp are 3x
                # slower): log(1 + e) with e <= 1 loses nothing that matters in a sum of
                # millions; expit(diff) is e / (1 + e) for diff < 0, 1 - e / (1 + e) else.
                np.abs(df, out=ex)
                np.negative(ex, out=ex)
                np.exp(ex, out=ex)
                np.add(ex, 1.0, out=t1)
                np.divide(ex, t1, out=ex)
                np.log(t1, out=t1)
                softplus_sum += float(w_b @ t1)
                np.greater_equal(df, 0.0, out=pos)
                softplus_sum += float(w_b @ np.maximum(df, 0.0, out=t1))
                np.subtract(1.0, ex, out=ex, where=pos)
                w4 = np.multiply(ex, w_b, out=df)
                w4_x += np.bincount(xi_b, weights=w4, minlength=len(xs))
                sum_w4 += float(w4.sum())
                g_r += float(w4 @ sp)
                np.take(inv_aT, ti, out=sp, mode="clip")
                np.subtract(sp, np.take(inv_atx, txi_b, out=t1, mode="clip"), out=sp)
                np.multiply(t2, w4, out=t2)  # (r + x) * w4
                g_alpha += float(t2 @ sp)
            # Per distinct x first (as the per-tuple formula): the gamma-function differences
            # stay small where a and b run large, instead of cancelling between big sums.
            a12 = (
                gammaln(r + xs)
                - gammaln(r)
                + r * np.log(alpha)
                + gammaln(a + b)
                + gammaln(b + xs_k)
                - gammaln(b)
                - gammaln(a + b + xs_k)
            )
            value = w_x @ a12 - (r * w_T + wx_T) @ log_aT + softplus_sum
            psi_ab = digamma(a + b) - digamma(a + b + xs_k)
            seen = w4_x > 0
            grad = np.array(
                [
                    w_x @ (digamma(r + xs) - digamma(r) + np.log(alpha)) - w_T @ log_aT + g_r,
                    total * r / alpha - (r * w_T + wx_T) @ inv_aT + g_alpha,
                    w_x @ psi_ab + sum_w4 / a,
                    w_x @ (psi_ab + digamma(b + xs_k) - digamma(b))
                    - w4_x[seen] @ (1.0 / (b + xs_k[seen] - 1)),
                ]
            )
            return -float(value), -grad

        return value_and_grad

    @override
    def _p_alive(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        # Per tuple, over blocks of tuples: the same values, without the terms' temporaries
        # for every tuple at once (~20 MB less at the peak, a million customers).
        n = len(d.x)
        if n <= _TUPLES_PER_BLOCK:
            return self._p_alive_block(theta, d, t)
        out = np.empty(n)
        for lo in range(0, n, _TUPLES_PER_BLOCK):
            hi = min(lo + _TUPLES_PER_BLOCK, n)
            out[lo:hi] = self._p_alive_block(theta, d.rows(lo, hi), t)
        return out

    def _p_alive_block(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        r, alpha, a, b = theta
        _, _, a3, a4 = self._terms(theta, d)
        now = expit(a3 - a4)
        if t == 0:
            return np.asarray(now, dtype=np.float64)
        # Given alive at T: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x + shift);
        # surviving the purchases in (T, T + t] has probability E[exp(-lambda p t)]
        # = 2F1(r + x, a; a + b + x + shift; -t / (alpha + T)); Pfaff's transformation keeps
        # the argument in [0, 1) and the parameters small for large x.
        k = self._shift
        w = t / (alpha + d.T + t)
        survive = np.exp(a * np.log1p(-w)) * hyp2f1(a, a + b + k - r, a + b + d.x + k, w)
        return np.asarray(now * survive, dtype=np.float64)

    def _expected_given_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: float
    ) -> FloatArray:
        """Return expected purchases in the next ``t`` units for a customer alive now.

        FHL (2005) eq. 10 (Batislam et al. 2007 for MBG) divided by P(alive); it depends on
        ``x`` and ``T`` only. The factor ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x+k; a+b+x-1+k; z) overflows for large x; Euler's transformation turns it
        into (1-z)^(a-1) 2F1(a+b-1+k-r, a-1; a+b+x-1+k; z), z = t / (alpha + T + t), whose
        parameters stay small.
        """
        r, alpha, a, b = theta
        k = self._shift
        z = t / (alpha + T + t)
        c = a + b + x - 1 + k
        term = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 + k - r, a - 1, c, z)
        return np.asarray((c / (a - 1)) * (1.0 - term), dtype=np.float64)

    @override
    def _expected(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        if t == 0:
            return np.zeros_like(d.x)
        # The hypergeometric part is computed once per distinct (x, T) pair.
        xs, Ts, pair = d.pairs_x_T()
        given_alive = self._expected_given_alive(theta, xs, Ts, t)
        return np.asarray(given_alive[pair] * self._p_alive(theta, d, 0.0), dtype=np.float64)

    @override
    def _discounted_purchases(
        self, theta: FloatArray, d: CompressedRFT, times: FloatArray, discounts: FloatArray
    ) -> FloatArray:
        xs, Ts, pair = d.pairs_x_T()
        factor = np.zeros_like(xs)
        previous = np.zeros_like(xs)
        for t, discount in zip(times.tolist(), discounts.tolist(), strict=True):
            cumulative = self._expected_given_alive(theta, xs, Ts, t) if t > 0 else previous
            factor += (cumulative - previous) * discount
            previous = cumulative
        return np.asarray(factor[pair] * self._p_alive(theta, d, 0.0), dtype=np.float64)


class ModifiedBetaGeoModel(BetaGeoModel):
    """The MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

    As :class:`BetaGeoModel`, but a customer may also drop out right after the first
    purchase, so customers with no repeat purchase are not certainly alive.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters; 0 gives the plain MLE.
    tol
        Gradient tolerance of the optimiser on the mean negative log-likelihood.
    max_iter
        Iteration cap of the optimiser.
    unidentified_dropout
        What to do when the data show no dropout at all (common on a year or less of retail
        data: nobody has visibly left yet), so the likelihood is flat in the dropout parameters
        while the purchase rates are well identified. ``"raise"`` (default) raises
        :class:`~kehu.analytics.ConvergenceError`; ``"keep"`` keeps the fit, reports those
        parameters in ``unidentified_params_`` with infinite standard errors, and predicts as
        the flat likelihood implies: P(alive) near 1 (the model reduces to the NBD).
    """

    model_name: ClassVar[str] = "MBG/NBD"
    _shift: ClassVar[int] = 1
