"""Our special functions (the BG/NBD and Gamma-Gamma fast path) against scipy's.

``kehu.analytics.clv._special`` replaces ``scipy.special`` on the fits and predictions of a
large summary (importing scipy.special costs ~0.25 s). The values must be scipy's to 1e-13
(``gammaln``, ``digamma``, ``expit``) and 1e-11 (``hyp2f1``, where scipy's own error reaches
~2e-12 against mpmath on the same grid), scipy's own wherever an argument is outside the
methods' proven range, and ``hyp2f1`` must match closed forms that do not involve scipy.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest
from scipy import special

from kehu.analytics.clv import _special
from kehu.analytics.clv._special import HYP2F1_MAX_Z, digamma, expit, gammaln, hyp2f1


def _positive_grid() -> np.ndarray:
    rng = np.random.default_rng(20261125)
    return np.concatenate(
        [
            np.exp(rng.uniform(np.log(1e-9), np.log(1e9), 50_000)),
            np.arange(1.0, 1000.0),  # the counts the likelihoods see
            np.arange(1.0, 1000.0) + 0.5061875,  # r + x, say
            np.linspace(1e-6, 25.0, 20_001),  # around the roots of lgamma (1, 2), psi (1.46)
        ]
    )


@pytest.mark.parametrize("name", ["gammaln", "digamma"])
def test_log_gamma_and_digamma_are_scipys_to_1e13(name: str) -> None:
    x = _positive_grid()
    ours = getattr(_special, name)(x)
    theirs = getattr(special, name)(x)
    # Relative where the value is above 1 in size, absolute below (near the roots a relative
    # error means nothing: the likelihoods use differences of these).
    error = np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0)
    assert float(error.max()) <= 1e-13


@pytest.mark.parametrize("name", ["gammaln", "digamma"])
def test_arguments_outside_the_positive_reals_get_scipys_values(name: str) -> None:
    x = np.array([0.0, -0.5, -2.0, np.inf, np.nan, 3.5])
    ours = getattr(_special, name)(x)
    np.testing.assert_array_equal(ours, getattr(special, name)(x))
    for value in (0.0, -0.5, np.inf):
        np.testing.assert_array_equal(getattr(_special, name)(value), getattr(special, name)(value))


def test_scalars_come_back_as_scipys_values() -> None:
    assert gammaln(7.25) == pytest.approx(float(special.gammaln(7.25)), rel=1e-15)
    assert digamma(0.3) == pytest.approx(float(special.digamma(0.3)), rel=1e-14)
    assert isinstance(digamma(2.0), float)
    assert isinstance(gammaln(2.0), float)


def test_expit_is_scipys_and_may_write_over_its_input() -> None:
    x = np.concatenate([np.linspace(-700.0, 700.0, 200_001), [0.0, -0.0, np.inf, -np.inf]])
    theirs = special.expit(x)
    ours = expit(x)
    assert float(np.max(np.abs(ours - theirs) / np.maximum(theirs, 1e-300))) <= 1e-15
    in_place = x.copy()
    assert expit(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, ours)
    assert np.isnan(expit(np.array([np.nan]))[0])
    assert expit(-3.0) == pytest.approx(float(special.expit(-3.0)), rel=1e-15)
    assert expit(np.inf) == 1.0
    assert expit(-np.inf) == 0.0


def test_hyp2f1_is_scipys_over_a_wide_grid() -> None:
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(1000):
        a, b = rng.uniform(-3.0, 8.0, 2)
        c = rng.uniform(0.05, 60.0, 100)
        z = rng.uniform(0.0, HYP2F1_MAX_Z, 100)
        theirs = special.hyp2f1(a, b, c, z)
        ours = hyp2f1(a, b, c, z)
        worst = max(worst, float(np.max(np.abs(ours - theirs) / np.abs(theirs))))
    assert worst <= 1e-11


def test_hyp2f1_is_scipys_to_1e12_where_bgnbd_uses_it() -> None:
    # E[purchases | alive]: 2F1(a + b - 1 + k - r, a - 1; a + b + x - 1 + k; z), P(alive) later:
    # 2F1(a, a + b + k - r; a + b + x + k; z), over parameters a fit may reach.
    rng = np.random.default_rng(8)
    worst = 0.0
    for _ in range(500):
        r, a, b = np.exp(rng.uniform(np.log(0.05), np.log(50.0), 3))
        k = int(rng.integers(0, 2))
        x = rng.integers(0, 200, 200).astype(np.float64)
        z = rng.uniform(0.0, HYP2F1_MAX_Z, 200)
        for args in (
            (a + b - 1 + k - r, a - 1, a + b + x - 1 + k),
            (a, a + b + k - r, a + b + x + k),
        ):
            theirs = special.hyp2f1(*args, z)
            ok = np.isfinite(theirs) & (np.abs(theirs) > 0)
            ours = hyp2f1(*args, z)
            error = np.abs(ours[ok] - theirs[ok]) / np.abs(theirs[ok])
            worst = max(worst, float(error.max(initial=0.0)))
    assert worst <= 1e-12


def test_hyp2f1_matches_closed_forms() -> None:
    z = np.linspace(0.0, HYP2F1_MAX_Z, 301)[1:]
    # 2F1(1, 1; 2; z) = -log(1 - z) / z and 2F1(a, b; b; z) = (1 - z)^-a.
    np.testing.assert_allclose(hyp2f1(1.0, 1.0, 2.0, z), -np.log1p(-z) / z, rtol=1e-14)
    np.testing.assert_allclose(
        hyp2f1(2.3, 0.7, np.full_like(z, 0.7), z), (1.0 - z) ** -2.3, rtol=1e-14
    )
    # A terminating series: 2F1(-2, b; c; z) = 1 - 2bz/c + b(b+1)z^2/(c(c+1)).
    c = np.full_like(z, 3.5)
    np.testing.assert_allclose(
        hyp2f1(-2.0, 1.5, c, z), 1 - 3.0 * z / 3.5 + 1.5 * 2.5 * z**2 / (3.5 * 4.5), rtol=1e-14
    )


def test_hyp2f1_outside_the_series_range_is_scipys_own() -> None:
    c = np.array([2.5, 2.5, -3.0, 1.5, 4.0, 2.0])
    z = np.array([0.9, 0.99, 0.3, -0.2, 0.5, 0.75])
    ours = hyp2f1(0.8, 1.7, c, z)
    theirs = special.hyp2f1(0.8, 1.7, c, z)
    # beyond z = 0.75, a pole in c, a negative z: scipy's values, bit for bit
    np.testing.assert_array_equal(ours[:4], theirs[:4])
    np.testing.assert_allclose(ours[4:], theirs[4:], rtol=1e-13)
    # a series that cancels (terms far above the sum) goes to scipy too
    big = hyp2f1(-30.5, 20.0, np.array([1.5]), np.array([0.7]))
    assert big[0] == special.hyp2f1(-30.5, 20.0, 1.5, 0.7)


def test_the_benchmark_path_does_not_import_scipy_special(tmp_path: Path) -> None:
    # What benchmarks/clv_end_to_end.py times on the kehu side, on 20,000 customers: the
    # one-pass fits (BG/NBD and Gamma-Gamma) and the predictions run on our functions.
    from kehu.analytics.clv import simulate_transactions

    path = tmp_path / "tx.csv"
    pacsv.write_csv(simulate_transactions(20_000, random_state=3), path)
    code = (
        "import sys\n"
        "from kehu.analytics.clv import (BetaGeoModel, GammaGammaModel,\n"
        "    customer_lifetime_value, summarize_transactions)\n"
        f"s = summarize_transactions({str(path)!r}, calibration_end='2021-12-28')\n"
        "bg = BetaGeoModel().fit(s)\n"
        "assert bg.n_distinct_ >= 5000, bg.n_distinct_\n"
        "bg.expected_purchases(s, horizon=52.0)\nbg.probability_alive(s)\n"
        "gg = GammaGammaModel().fit(s)\n"
        "customer_lifetime_value(bg, gg, s, months=12, discount_rate=0.01)\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
