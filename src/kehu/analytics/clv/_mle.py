"""Maximum likelihood on log-parameters, with standard errors from the observed information.

Every CLV model here has positive parameters. We optimise over ``u = log(theta)`` (no bounds
needed, the same parametrisation as lifetimes), then take the numerical Hessian of the *total*
negative log-likelihood with respect to ``u`` at the optimum. Its inverse is the asymptotic
covariance of ``u`` (the inverse observed information); the delta method turns it into the
covariance of ``theta``: ``cov(theta) = D cov(u) D`` with ``D = diag(theta)``, so
``se(theta_i) = theta_i * se(u_i)``.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from kehu.analytics._base import ConvergenceError, FloatArray

NegLogLik = Callable[[FloatArray], float]
Gradient = Callable[[FloatArray], FloatArray]
#: ``theta -> (negative log-likelihood, its gradient)``, both totals, from one pass over the data.
ValueAndGradient = Callable[[FloatArray], tuple[float, FloatArray]]

_MAX_ABS_LOG_PARAM = 30.0  # exp(30) ~ 1e13: a parameter running off there is not identified
_OWN_BFGS_MAX_ABS_LOG_PARAM = 10.0  # beyond e^10 ~ 2e4 (or below e^-10), scipy's verdict


@dataclass(frozen=True)
class MLEResult:
    """The optimum of a likelihood and what we know about its precision."""

    params: FloatArray
    log_likelihood: float
    covariance: FloatArray
    standard_errors: FloatArray
    n_iter: int
    message: str
    #: Parameters the likelihood is flat in (kept where the optimiser left them; se = inf).
    unidentified: tuple[str, ...] = ()
    #: Inverse Hessian of the mean objective in log-parameters (what BFGS approximates).
    hess_inv_mean: FloatArray | None = None


@functools.cache
def _blas_controller() -> Any:
    return ThreadpoolController()


def one_blas_thread() -> Any:
    """Return a context in which BLAS runs on one thread.

    The likelihoods' dot products over a few hundred thousand tuples are memory-bound, and
    OpenBLAS's threads (spinning between calls) made them several times slower on a busy
    2-core machine. One controller for the process: finding the loaded libraries costs ~9 ms
    the first time, entering its limit ~0.02 ms (``threadpool_limits`` looks again each time).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def _numeric_gradient(
    func: Callable[[FloatArray], float], u: FloatArray, step: float
) -> FloatArray:
    grad = np.empty_like(u)
    for j in range(len(u)):
        e = np.zeros_like(u)
        e[j] = step
        grad[j] = (func(u + e) - func(u - e)) / (2.0 * step)
    return grad


def fit_log_params(
    neg_log_lik: NegLogLik,
    gradient: Gradient | None,
    *,
    names: tuple[str, ...],
    total_weight: float,
    penalizer: float,
    tol: float,
    max_iter: int,
    model_name: str,
    x0: FloatArray | None = None,
    allow_unidentified: tuple[str, ...] = (),
    value_and_grad: ValueAndGradient | None = None,
    warm_start: MLEResult | None = None,
) -> MLEResult:
    """Maximise a log-likelihood over positive parameters.

    Parameters
    ----------
    neg_log_lik
        ``theta -> -sum_i w_i log L_i(theta)`` (total, weighted by the tuple counts).
    gradient
        Its gradient with respect to ``theta``, or ``None`` to use central differences.
    names
        Parameter names (for messages).
    total_weight
        Number of customers; the optimiser works on the mean, as lifetimes does, so that the
        tolerance means the same at any data size.
    penalizer
        L2 penalty coefficient on ``theta`` (lifetimes' ``penalizer_coef``; 0 for plain MLE).
    tol
        Gradient tolerance of BFGS on the mean negative log-likelihood.
    max_iter
        Iteration cap of the optimiser.
    model_name
        Used in error messages.
    x0
        Starting parameters (default: all ones, as lifetimes).
    allow_unidentified
        Parameters that may be left unidentified: when the likelihood is flat in exactly some of
        these (and curved in every other parameter), the fit is kept, their standard errors are
        ``inf`` and they are listed in :attr:`MLEResult.unidentified`, instead of raising.
    value_and_grad
        Optional ``theta -> (neg_log_lik, gradient)`` computed together; when given, the
        optimiser evaluates the data once per point instead of twice.
    warm_start
        The fit of an approximation of the same likelihood on the same customers (e.g. on
        coarsened data): BFGS starts from its parameters with its curvature, so it needs a
        few iterations instead of twenty. The optimum and every check are the full data's.

    Returns
    -------
    MLEResult
        Parameters, log-likelihood, covariance and standard errors.

    Raises
    ------
    ConvergenceError
        The optimiser stopped away from a maximum, a parameter ran off to 0 or infinity (the
        data do not identify it), or the likelihood is flat at the optimum.
    """
    k = len(names)
    start = np.zeros(k) if x0 is None else np.log(np.asarray(x0, dtype=np.float64))
    options: dict[str, object] = {"gtol": tol, "maxiter": max_iter}
    if warm_start is not None:
        start = np.log(warm_start.params)
        if warm_start.hess_inv_mean is not None:
            options["hess_inv0"] = warm_start.hess_inv_mean
    cache: dict[bytes, tuple[float, FloatArray]] = {}
    #: The unpenalised total at the cached point: the log-likelihood reported at the optimum.
    totals: dict[bytes, float] = {}

    def evaluate(u: FloatArray) -> tuple[float, FloatArray]:
        """Mean penalised objective and gradient in log-parameters, one entry cached."""
        key = u.tobytes()
        if key in cache:
            return cache[key]
        theta = np.exp(u)
        if value_and_grad is not None:
            total, total_grad = value_and_grad(theta)
        else:
            assert gradient is not None  # noqa: S101 - only called with a gradient
            total, total_grad = neg_log_lik(theta), gradient(theta)
        value = (total + penalizer * float(theta @ theta)) / total_weight
        grad = (total_grad * theta + 2.0 * penalizer * theta * theta) / total_weight
        cache.clear()  # keep one point: BFGS asks for value and gradient at the same point
        totals.clear()
        cache[key] = (value if np.isfinite(value) else np.inf, grad)
        totals[key] = float(total)
        return cache[key]

    def objective(u: FloatArray) -> float:
        if np.any(np.abs(u) > 2 * _MAX_ABS_LOG_PARAM):
            return np.inf
        if gradient is not None:
            return evaluate(u)[0]
        theta = np.exp(u)
        value = (neg_log_lik(theta) + penalizer * float(theta @ theta)) / total_weight
        return value if np.isfinite(value) else np.inf

    def jac(u: FloatArray) -> FloatArray:
        if gradient is None:
            return _numeric_gradient(objective, u, 1e-6)
        return evaluate(u)[1]

    # One BLAS thread: the likelihoods' dot products over a few hundred thousand tuples are
    # memory-bound, and OpenBLAS's threads (spinning between calls) made every evaluation
    # three times slower on a busy 2-core machine.
    with np.errstate(all="ignore"), one_blas_thread():
        if not np.isfinite(objective(start)):
            raise ConvergenceError(
                f"{model_name}: the log-likelihood is not finite at the starting point; "
                "check the data (negative or non-finite frequency, recency or T?).",
                code="analytics.fit_failed",
            )
        # On the one-pass likelihoods (large data) our BFGS first: scipy.optimize costs a
        # sixth of a second and 26 MB to import, more than a fit of a million customers.
        # scipy's BFGS (then Nelder-Mead) as before where ours fails, ends far out (a
        # parameter beyond e^10 or below e^-10: is it identified?), and on the small data of
        # the per-tuple paths, whose verdicts on unidentified data stay scipy's.
        u, n_iter, message = start, 0, "not run"
        if value_and_grad is not None:
            u, n_iter, message = _bfgs(
                objective,
                jac,
                start,
                gtol=tol,
                max_iter=max_iter,
                hess_inv0=options.get("hess_inv0"),
            )
        result: Any = _Result(message)
        if (
            value_and_grad is None
            or np.max(np.abs(u)) > _OWN_BFGS_MAX_ABS_LOG_PARAM
            or not _at_optimum(jac, u, tol)
        ):
            from scipy import optimize  # imported only here (see above)

            result = optimize.minimize(objective, start, jac=jac, method="BFGS", options=options)
            u = np.asarray(result.x, dtype=np.float64)
            n_iter += int(result.nit)
        if not _at_optimum(jac, u, tol):
            from scipy import optimize

            polished = optimize.minimize(
                objective,
                u if np.isfinite(objective(u)) else start,
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": max_iter * 2},
            )
            result = optimize.minimize(
                objective,
                polished.x,
                jac=jac,
                method="BFGS",
                options={"gtol": tol, "maxiter": max_iter},
            )
            u = np.asarray(result.x, dtype=np.float64)
            n_iter += int(polished.nit) + int(result.nit)
        _check_converged(objective, jac, u, tol, names, model_name, str(result.message))
        theta = np.exp(u)
        # The one-pass total where there is one (equal to the per-tuple sum to 1e-12), as
        # evaluated at the optimum already where it was.
        total = totals.get(u.tobytes())
        if total is None:
            total = float(
                value_and_grad(theta)[0] if value_and_grad is not None else neg_log_lik(theta)
            )
        hessian = _hessian(neg_log_lik, gradient, u)
    flat = _flat_parameters(hessian, names, allow_unidentified)
    keep = np.array([name not in flat for name in names])
    cov_u = np.full((k, k), np.inf)
    cov_u[np.ix_(keep, keep)] = _invert_information(
        hessian[np.ix_(keep, keep)], tuple(n for n in names if n not in flat), model_name
    )
    cov_theta = cov_u * np.outer(theta, theta)
    return MLEResult(
        params=theta,
        log_likelihood=-total,
        covariance=cov_theta,
        standard_errors=np.sqrt(np.diag(cov_theta)),
        n_iter=n_iter,
        message=str(result.message),
        unidentified=flat,
        hess_inv_mean=_mean_inverse_hessian(hessian, theta, penalizer, total_weight),
    )


@dataclass(frozen=True)
class _Result:
    message: str


_C1, _C2 = 1e-4, 0.9  # the Wolfe conditions' constants (scipy's and Nocedal & Wright's)
_MAX_LINE_STEPS = 40


def _bfgs(
    objective: Callable[[FloatArray], float],
    jac: Callable[[FloatArray], FloatArray],
    x0: FloatArray,
    *,
    gtol: float,
    max_iter: int,
    hess_inv0: object = None,
) -> tuple[FloatArray, int, str]:
    """Minimise with BFGS and a strong-Wolfe line search (Nocedal & Wright, algorithm 6.1).

    The same method, update and stopping rule (largest gradient component <= ``gtol``) as
    ``scipy.optimize.minimize(method="BFGS")``, for the few parameters of these models.
    Returns the last point, the number of iterations and a message; the caller checks the
    gradient there.
    """
    n = len(x0)
    eye = np.eye(n)
    h = eye.copy() if hess_inv0 is None else np.array(hess_inv0, dtype=np.float64)
    x = np.array(x0, dtype=np.float64)
    f = objective(x)
    g = jac(x)
    f_before = f + float(np.linalg.norm(g)) / 2
    k = 0
    while k < max_iter and np.max(np.abs(g)) > gtol:
        p = -(h @ g)
        slope = float(g @ p)
        if not slope < 0:  # the curvature estimate went bad: restart along the gradient
            h = eye.copy()
            p = -g
            slope = -float(g @ g)
        first = 1.0
        if np.isfinite(f_before) and slope != 0:
            first = min(1.0, 1.01 * 2 * (f - f_before) / slope)
            if first <= 0:
                first = 1.0
        step = _line_search(objective, jac, x, p, f, slope, first)
        if step is None:
            return x, k, "line search failed"
        alpha, f_new, g_new = step
        s = alpha * p
        x = x + s
        y = g_new - g
        f_before, f, g = f, f_new, g_new
        k += 1
        sy = float(y @ s)
        rho = 1000.0 if sy == 0 else 1.0 / sy
        left = eye - rho * np.outer(s, y)
        h = left @ h @ left.T + rho * np.outer(s, s)
    if np.max(np.abs(g)) <= gtol:
        return x, k, "Optimization terminated successfully."
    return x, k, "Maximum number of iterations has been exceeded."


def _line_search(
    objective: Callable[[FloatArray], float],
    jac: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    p: FloatArray,
    f0: float,
    slope0: float,
    alpha: float,
) -> tuple[float, float, FloatArray] | None:
    """Find a step meeting the strong Wolfe conditions (Nocedal & Wright, algorithm 3.5)."""

    def worse(a: float, value: float, f_lo: float) -> bool:
        return not np.isfinite(value) or value > f0 + _C1 * a * slope0 or value >= f_lo

    previous, f_previous, d_previous = 0.0, f0, slope0
    for _ in range(_MAX_LINE_STEPS):
        value = objective(x + alpha * p)
        if worse(alpha, value, f_previous if previous > 0 else np.inf):
            return _zoom(
                objective, jac, x, p, f0, slope0, previous, f_previous, d_previous, alpha, value
            )
        grad = jac(x + alpha * p)
        d = float(grad @ p)
        if abs(d) <= -_C2 * slope0:
            return alpha, value, grad
        if d >= 0:
            return _zoom(objective, jac, x, p, f0, slope0, alpha, value, d, previous, f_previous)
        previous, f_previous, d_previous = alpha, value, d
        alpha *= 2.0
    return None


def _zoom(
    objective: Callable[[FloatArray], float],
    jac: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    p: FloatArray,
    f0: float,
    slope0: float,
    lo: float,
    f_lo: float,
    d_lo: float,
    hi: float,
    f_hi: float,
) -> tuple[float, float, FloatArray] | None:
    """Narrow a bracket down to a strong-Wolfe step (Nocedal & Wright, algorithm 3.6)."""
    for _ in range(_MAX_LINE_STEPS):
        if abs(hi - lo) <= 1e-14 * max(abs(lo), 1.0):
            return None
        trial = _interpolate(lo, f_lo, d_lo, hi, f_hi)
        value = objective(x + trial * p)
        if not np.isfinite(value) or value > f0 + _C1 * trial * slope0 or value >= f_lo:
            hi, f_hi = trial, value
            continue
        grad = jac(x + trial * p)
        d = float(grad @ p)
        if abs(d) <= -_C2 * slope0:
            return trial, value, grad
        if d * (hi - lo) >= 0:
            hi, f_hi = lo, f_lo
        lo, f_lo, d_lo = trial, value, d
    return None


def _interpolate(lo: float, f_lo: float, d_lo: float, hi: float, f_hi: float) -> float:
    """Return the minimum of the quadratic through (lo, f_lo, d_lo), (hi, f_hi), or the middle."""
    width = hi - lo
    if np.isfinite(f_hi):
        curvature = (f_hi - f_lo - d_lo * width) / (width * width)
        if curvature > 0:
            trial = lo - d_lo / (2.0 * curvature)
            guard = 0.1 * abs(width)
            if min(lo, hi) + guard <= trial <= max(lo, hi) - guard:
                return float(trial)
    return lo + width / 2


def _mean_inverse_hessian(
    hessian: FloatArray, theta: FloatArray, penalizer: float, total_weight: float
) -> FloatArray | None:
    """Inverse Hessian of the optimiser's objective (mean, penalised), if positive definite."""
    # The penalty penalizer * sum(exp(2u)) adds 4 * penalizer * theta^2 on the diagonal.
    curvature = (hessian + 4.0 * penalizer * np.diag(theta * theta)) / total_weight
    if not np.all(np.isfinite(curvature)) or np.min(np.linalg.eigvalsh(curvature)) <= 0:
        return None
    inverse = np.linalg.inv(curvature)
    return np.asarray((inverse + inverse.T) / 2, dtype=np.float64)  # BFGS wants it symmetric


def _flat_parameters(
    hessian: FloatArray, names: tuple[str, ...], allowed: tuple[str, ...]
) -> tuple[str, ...]:
    """Return the allowed parameters if one of them has a curvature negligible next to the sharpest.

    In log-parameters an identified parameter has a curvature of the order of the number of
    customers; one a million times flatter than the sharpest carries no information. Only
    parameters in ``allowed`` may be set aside; any other flat direction still raises.
    """
    if not allowed or not np.all(np.isfinite(hessian)):
        return ()
    curvature = np.abs(np.diag(hessian))
    scale = float(np.max(curvature))
    if not any(
        name in allowed and c <= 1e-6 * scale for name, c in zip(names, curvature, strict=True)
    ):
        return ()
    # The allowed parameters describe one process (the dropout): once one of them has run to
    # its limit (BG/NBD's a -> 0), the others lose their meaning with it (b, the second shape of
    # a Beta whose mean a / (a + b) is 0, leaves a curvature of numerical noise, either sign).
    flat = tuple(name for name in names if name in allowed)
    return flat if len(flat) < len(names) else ()


def _at_optimum(jac: Callable[[FloatArray], FloatArray], u: FloatArray, tol: float) -> bool:
    grad = jac(u)
    return bool(np.all(np.isfinite(grad)) and np.max(np.abs(grad)) <= max(100 * tol, 1e-6))


def _check_converged(
    objective: Callable[[FloatArray], float],
    jac: Callable[[FloatArray], FloatArray],
    u: FloatArray,
    tol: float,
    names: tuple[str, ...],
    model_name: str,
    message: str,
) -> None:
    if not np.all(np.isfinite(u)) or not np.isfinite(objective(u)):
        raise ConvergenceError(
            f"{model_name}: the fit ended on a non-finite log-likelihood ({message}).",
            code="analytics.fit_failed",
        )
    runaway = [
        name for name, value in zip(names, u, strict=True) if abs(value) > _MAX_ABS_LOG_PARAM
    ]
    if runaway:
        raise ConvergenceError(
            f"{model_name}: parameter(s) {', '.join(runaway)} ran off to 0 or infinity; the data "
            "do not identify the model (too few customers, no repeat purchases, or every "
            "customer alike).",
            code="analytics.not_identified",
            details={"params": dict(zip(names, np.exp(u).tolist(), strict=True))},
        )
    if not _at_optimum(jac, u, tol):
        grad = jac(u)
        raise ConvergenceError(
            f"{model_name}: the optimiser stopped before the gradient vanished ({message}; "
            f"largest gradient component {float(np.max(np.abs(grad))):.3g}).",
            code="analytics.fit_failed",
        )


def _hessian(neg_log_lik: NegLogLik, gradient: Gradient | None, u: FloatArray) -> FloatArray:
    """Central-difference Hessian of the total negative log-likelihood in log-parameters."""
    k = len(u)
    hessian = np.empty((k, k))
    if gradient is not None:
        step = 1e-5

        def grad_u(v: FloatArray) -> FloatArray:
            theta = np.exp(v)
            return gradient(theta) * theta

        for j in range(k):
            e = np.zeros(k)
            e[j] = step
            hessian[:, j] = (grad_u(u + e) - grad_u(u - e)) / (2 * step)
    else:
        step = 1e-4

        def f(v: FloatArray) -> float:
            return float(neg_log_lik(np.exp(v)))

        for i in range(k):
            for j in range(i, k):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i] = step
                ej[j] = step
                value = (f(u + ei + ej) - f(u + ei - ej) - f(u - ei + ej) + f(u - ei - ej)) / (
                    4 * step * step
                )
                hessian[i, j] = hessian[j, i] = value
    return (hessian + hessian.T) / 2


def _invert_information(hessian: FloatArray, names: tuple[str, ...], model_name: str) -> FloatArray:
    eigenvalues = np.linalg.eigvalsh(hessian) if np.all(np.isfinite(hessian)) else np.array([-1.0])
    if np.min(eigenvalues) <= 0:
        raise ConvergenceError(
            f"{model_name}: the log-likelihood is flat or not concave at the optimum (parameters "
            f"{', '.join(names)}); the data do not identify the model, so no standard errors "
            "can be given.",
            code="analytics.not_identified",
        )
    return np.asarray(np.linalg.inv(hessian), dtype=np.float64)
