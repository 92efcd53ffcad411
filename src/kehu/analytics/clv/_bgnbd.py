"""BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way"."""

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1
from typing_extensions import override

from kehu.analytics._base import FloatArray
from kehu.analytics.clv._common import CompressedRFT, PurchaseCountModel


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
    def _p_alive(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
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

    @override
    def _expected(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        r, alpha, a, b = theta
        x, T, k = d.x, d.T, self._shift
        if t == 0:
            return np.zeros_like(x)
        # FHL (2005) eq. 10 (Batislam et al. 2007 for MBG). The factor
        # ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+k; a+b+x-1+k; z) overflows for large x;
        # Euler's transformation turns it into (1-z)^(a-1) 2F1(a+b-1+k-r, a-1; a+b+x-1+k; z),
        # z = t / (alpha + T + t), whose parameters stay small.
        z = t / (alpha + T + t)
        c = a + b + x - 1 + k
        term = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 + k - r, a - 1, c, z)
        return np.asarray(
            (c / (a - 1)) * (1.0 - term) * self._p_alive(theta, d, 0.0), dtype=np.float64
        )


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
