"""Pareto/NBD: Schmittlein, Morrison & Colombo (1987), as in Fader & Hardie's notes."""

import functools
from typing import ClassVar

import numpy as np
from typing_extensions import override

from kehu.analytics._base import FloatArray
from kehu.analytics.clv._common import CompressedRFT, PurchaseCountModel


@functools.cache
def _gauss_legendre() -> tuple[FloatArray, FloatArray]:
    """64 Gauss-Legendre nodes and weights (numpy.polynomial loads on first use only)."""
    nodes, weights = np.polynomial.legendre.leggauss(64)
    return np.asarray(nodes, dtype=np.float64), np.asarray(weights, dtype=np.float64)


_LOG_TAIL = 60.0  # e^-60 ~ 1e-26: the part of the integral beyond is below double precision


class ParetoNBDModel(PurchaseCountModel):
    """The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``
    and stays alive for an exponential time with rate ``mu ~ Gamma(s, beta)``.

    Numerics: the likelihood's second part, ``s/(r+s+x) A0`` in Fader & Hardie's note (a
    difference of two Gauss hypergeometric ``2F1`` terms, which overflows or cancels once
    ``x`` reaches a few hundred), is computed as the integral it stands for -- the density
    of dropping out at ``tau`` in ``(t_x, T]`` -- in log space: with ``k = r + s + x`` and
    ``v = k log((alpha + t_x) / (alpha + tau))`` the integrand becomes ``e^v`` times a bounded
    smooth factor, integrated by 64-point Gauss-Legendre on ``[max(v_T, -60), 0]``. The
    result is finite for any frequency and age (tested for ``x > 300``, ``T > 1000``) and
    agrees with the ``2F1`` closed form where that can be evaluated.

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

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha``, ``s``, ``beta``.
    standard_errors_ : dict[str, float]
        From the inverse observed information in log-parameters and the delta method
        (``inf`` for a parameter listed in ``unidentified_params_``).
    unidentified_params_ : list[str]
        Dropout parameters the data do not identify (only with ``unidentified_dropout="keep"``).
    covariance_ : numpy.ndarray
        Covariance of the parameters.
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    n_customers_, n_distinct_, n_iter_ : int
        Customers, distinct tuples, optimiser iterations.
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    dropout_params: ClassVar[tuple[str, ...]] = ("s", "beta")
    model_name: ClassVar[str] = "Pareto/NBD"

    def _log_parts(self, theta: FloatArray, d: CompressedRFT) -> tuple[FloatArray, FloatArray]:
        """Log of (alive through T) and (dropped out in (t_x, T]) parts of the likelihood."""
        # scipy.special here only: importing it costs BG/NBD users ~0.25 s (see _special).
        from scipy.special import gammaln

        r, alpha, s, beta = theta
        x, t_x, T = d.x, d.t_x, d.T
        log_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        log_alive = log_c - (r + x) * np.log(alpha + T) + s * (np.log(beta) - np.log(beta + T))
        k = r + s + x
        v_low = np.maximum(-k * (np.log(alpha + T) - np.log(alpha + t_x)), -_LOG_TAIL)
        # Gauss-Legendre nodes mapped onto [v_low, 0] for every tuple (tuples x nodes).
        nodes, weights = _gauss_legendre()
        half = (-v_low / 2.0)[:, None]
        v = half * (nodes[None, :] - 1.0)
        log_tau_alpha = np.log(alpha + t_x)[:, None] - v / k[:, None]  # log(alpha + tau)
        tau = np.exp(log_tau_alpha) - alpha
        log_g = (s + 1) * (log_tau_alpha - np.log(beta + tau))
        log_integrand = v + log_g
        peak = np.max(log_integrand, axis=1, keepdims=True)
        integral = np.log(np.sum(weights[None, :] * np.exp(log_integrand - peak), axis=1)) + (
            peak[:, 0] + np.log(np.where(half[:, 0] > 0, half[:, 0], 1.0))
        )
        log_dropped = (
            log_c + np.log(s) + s * np.log(beta) - k * np.log(alpha + t_x) - np.log(k) + integral
        )
        log_dropped = np.where(t_x < T, log_dropped, -np.inf)
        return log_alive, log_dropped

    @override
    def _log_lik(self, theta: FloatArray, d: CompressedRFT) -> FloatArray:
        log_alive, log_dropped = self._log_parts(theta, d)
        return np.asarray(np.logaddexp(log_alive, log_dropped), dtype=np.float64)

    @override
    def _p_alive(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        from scipy.special import expit  # see _log_parts

        _, _, s, beta = theta
        log_alive, log_dropped = self._log_parts(theta, d)
        now = expit(log_alive - log_dropped)
        # Given alive at T, mu | data ~ Gamma(s, beta + T): survival over t more units.
        return np.asarray(now * np.exp(-s * np.log1p(t / (beta + d.T))), dtype=np.float64)

    @override
    def _expected(self, theta: FloatArray, d: CompressedRFT, t: float) -> FloatArray:
        r, alpha, s, beta = theta
        if t == 0:
            return np.zeros_like(d.x)
        log_ratio = -np.log1p(t / (beta + d.T))  # log((beta + T) / (beta + T + t)) < 0
        share = -log_ratio if abs(s - 1.0) < 1e-09 else -np.expm1((s - 1.0) * log_ratio) / (s - 1.0)
        rate = (r + d.x) * (beta + d.T) / (alpha + d.T)
        return np.asarray(rate * share * self._p_alive(theta, d, 0.0), dtype=np.float64)
