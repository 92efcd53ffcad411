"""The special functions of the BG/NBD and Gamma-Gamma fits and predictions, without scipy.

``import scipy.special`` costs ~0.25 CPU s (scipy's array-API layer clones the numpy namespace,
loading ``numpy.f2py`` and ``numpy.testing``), a fifth of the whole end-to-end CLV benchmark.
The likelihoods need ``gammaln`` and ``digamma`` on a few hundred distinct counts and
parameters, the predictions ``expit`` and a Gauss hypergeometric series with ``0 <= z < 1``:
computed here, and handed to scipy wherever an argument lies outside what these methods are
proven on (non-positive or non-finite arguments; ``hyp2f1`` where its series converges slowly,
cancels or fails). ``tests/unit/analytics/test_clv_special.py`` holds them against scipy over
wide grids. Pareto/NBD and the per-tuple likelihoods (small data, standard errors) stay on
scipy.
"""

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Below this, digamma's argument is raised by the recurrence psi(x) = psi(x + 1) - 1 / x;
#: from it on, the asymptotic series to x^-14 is exact to ~4e-17 (the next term, B_16 / 16
#: x^-16 = 0.44 x^-16).
_DIGAMMA_SHIFT_TO = 10.0
#: B_2k / (2k), k = 1..7: psi(x) ~ log x - 1 / (2x) - sum_k B_2k / (2k x^2k).
_DIGAMMA_SERIES = (
    1.0 / 12,
    -1.0 / 120,
    1.0 / 252,
    -1.0 / 240,
    1.0 / 132,
    -691.0 / 32760,
    1.0 / 12,
)

#: The hypergeometric series runs for 0 <= z <= this (at most a few hundred terms); beyond
#: it, scipy's transformations.
HYP2F1_MAX_Z = 0.75
_HYP2F1_MAX_TERMS = 1000
#: Tolerated ratio of sum |term| to |sum| (cancellation): beyond it, scipy.
_HYP2F1_MAX_CANCELLATION = 1e3
_EPS = 2.0**-53


def _float_array(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def gammaln(values: Any) -> Any:
    """``log |Gamma(x)|`` as ``scipy.special.gammaln``; ``math.lgamma`` for finite ``x > 0``.

    Evaluated on a few hundred distinct values per likelihood evaluation, where a loop over
    ``math.lgamma`` (accurate to a few ulps) costs microseconds.
    """
    x = _float_array(values)
    if x.ndim == 0:
        value = float(x)
        if math.isfinite(value) and value > 0:
            return math.lgamma(value)
        return _scipy().gammaln(value)
    if x.size and not (np.all(x > 0) and np.all(np.isfinite(x))):
        return _scipy().gammaln(x)
    return np.fromiter(map(math.lgamma, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)


def digamma(values: Any) -> Any:
    """``psi(x)`` as ``scipy.special.digamma``, for finite ``x > 0`` (else scipy's).

    The recurrence raises ``x`` to at least 10, then the asymptotic (Stirling) series: an
    absolute error of a few ulps of the terms' size (the relative error grows only near the
    root at x ~ 1.4616, where the value itself goes to 0; the likelihoods use differences).
    """
    x = _float_array(values)
    scalar = x.ndim == 0
    x = np.atleast_1d(x)
    if x.size and not (np.all(x > 0) and np.all(np.isfinite(x))):
        out = _scipy().digamma(x)
        return float(out[0]) if scalar else out
    y = x.copy()
    shift = np.zeros_like(y)
    small = y < _DIGAMMA_SHIFT_TO
    while np.any(small):
        shift[small] -= 1.0 / y[small]
        y[small] += 1.0
        small = y < _DIGAMMA_SHIFT_TO
    inv2 = 1.0 / (y * y)
    series = np.zeros_like(y)
    for coefficient in reversed(_DIGAMMA_SERIES):
        series = (series + coefficient) * inv2
    out = np.log(y) - 0.5 / y - series + shift
    return float(out[0]) if scalar else out


def expit(values: Any, out: FloatArray | None = None) -> Any:
    """``1 / (1 + exp(-x))`` as ``scipy.special.expit``, from ``exp(-|x|)`` (no overflow)."""
    x = _float_array(values)
    if x.ndim == 0:
        value = float(x)
        tail = math.exp(-abs(value)) if not math.isnan(value) else value
        small = tail / (1.0 + tail)
        return 1.0 - small if value >= 0 else small
    positive = x >= 0  # before ``out`` (which may be ``values``) is written
    e = np.exp(-np.abs(x))
    result = np.divide(e, 1.0 + e, out=out)  # expit(-|x|)
    np.subtract(1.0, result, out=result, where=positive)
    return result


def hyp2f1(a: float, b: float, c: Any, z: Any) -> FloatArray:
    """Gauss's ``2F1(a, b; c; z)`` for scalar ``a``, ``b`` and arrays ``c``, ``z``.

    The power series where ``0 <= z <= 0.75`` and ``c`` is no pole, summed until a bound on
    the whole tail is below an ulp of the sum. The ratio of successive terms is ``z f(n) g(n)``
    with ``f(n) = (n + a) / (n + 1) = 1 + (a - 1) / (n + 1)`` and ``g(n) = (n + b) / (n + c) =
    1 + (b - c) / (n + c)``, each monotone in ``n`` towards 1 once ``n + c > 0``: from the
    term ``n`` on, every ratio is at most ``rho = z max(1, |f(n)|) max(1, |g(n)|)`` in size,
    so the tail is at most ``|term| rho / (1 - rho)``. Elements beyond that range, with a sum
    that cancels (sum of ``|terms|`` above 1000 times ``|sum|``) or not converged in 1000
    terms go to ``scipy.special.hyp2f1``.
    """
    c_arr, z_arr = np.broadcast_arrays(_float_array(c), _float_array(z))
    shape = c_arr.shape
    c_flat, z_flat = c_arr.ravel(), z_arr.ravel()
    out = np.full(c_flat.shape, np.nan)
    pole = (c_flat <= 0) & (c_flat == np.round(c_flat))
    series = (
        np.isfinite(c_flat)
        & ~pole
        & (z_flat >= 0)
        & (z_flat <= HYP2F1_MAX_Z)
        & bool(math.isfinite(a) and math.isfinite(b))
    )
    index = np.flatnonzero(series)
    done = np.zeros(c_flat.shape, dtype=bool)
    if len(index):
        values, ok = _hyp2f1_series(float(a), float(b), c_flat[index], z_flat[index])
        out[index[ok]] = values[ok]
        done[index[ok]] = True
    rest = np.flatnonzero(~done)
    if len(rest):
        out[rest] = _scipy().hyp2f1(a, b, c_flat[rest], z_flat[rest])
    return out.reshape(shape)


def _hyp2f1_series(a: float, b: float, c: FloatArray, z: FloatArray) -> tuple[FloatArray, Any]:
    """Sum the series on elements with 0 <= z <= 0.75; return the sums and which converged."""
    n_all = len(c)
    total = np.ones(n_all)
    magnitude = np.ones(n_all)  # sum of |term|
    converged = np.zeros(n_all, dtype=bool)
    active = np.arange(n_all)
    term = np.ones(n_all)
    s, cc, zz, mag = total, c, z, magnitude
    a_off, bd = a - 1.0, b - c
    for n in range(_HYP2F1_MAX_TERMS):
        # term_{n+1} = term_n (n + a)(n + b) z / ((n + c)(n + 1))
        term *= ((n + a) * (n + b) / (n + 1)) * zz / (n + cc)
        s += term
        mag += np.abs(term)
        if n % 4 != 3:
            continue
        m = n + 1  # the term just added is term_m; bound the ratios from m on
        with np.errstate(divide="ignore", invalid="ignore"):
            f_bound = max(1.0, abs(1.0 + a_off / (m + 1)))
            rho = zz * f_bound * np.maximum(1.0, np.abs(1.0 + bd / (m + cc)))
            tail = np.abs(term) * rho / (1.0 - rho)
        finished = (m + cc > 0) & (rho < 1.0) & (tail <= _EPS * np.abs(s))
        if not np.any(finished):
            if not np.all(np.isfinite(s)):
                break
            continue
        total[active[finished]] = s[finished]
        magnitude[active[finished]] = mag[finished]
        converged[active[finished]] = True
        keep = ~finished
        active, term, s, cc, zz, mag, bd = (
            active[keep],
            term[keep],
            s[keep],
            cc[keep],
            zz[keep],
            mag[keep],
            bd[keep],
        )
        if len(active) == 0:
            break
    ok = converged & np.isfinite(total) & (magnitude <= _HYP2F1_MAX_CANCELLATION * np.abs(total))
    return total, ok


def _scipy() -> Any:
    """Return ``scipy.special``, imported where it is needed only (see the module docstring)."""
    import scipy.special  # only off the fast path

    return scipy.special
