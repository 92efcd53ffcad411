"""Numerical safety: large frequency and age, P(alive) in the future, 2F1 forms."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import integrate, stats

from kehu.analytics.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

EXTREME = pa.table(
    {
        "frequency": [0, 1, 350, 400, 1000, 5000],
        "recency": [0.0, 1.0, 10.0, 1200.0, 2000.0, 4999.0],
        "T": [5000.0, 1500.0, 1200.0, 1500.0, 3000.0, 5000.0],
    }
)


@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_finite_for_heavy_buyers_and_old_customers(
    model_class: type, cdnow_sample_summary: pa.Table
) -> None:
    model = model_class().fit(cdnow_sample_summary)

    expected = model.expected_purchases(EXTREME, horizon=52.0)
    alive = model.probability_alive(EXTREME)
    later = model.probability_alive(EXTREME, at=26.0)

    assert np.all(np.isfinite(expected))
    assert np.all(expected >= 0)
    assert np.all(np.isfinite(model.log_likelihood(EXTREME) * np.ones(1)))
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(later <= alive + 1e-12)
    # a customer who bought 5000 times up to the last week is alive and keeps buying
    assert alive[-1] > 0.99
    assert expected[-1] > 52.0 * 0.5


def test_paretonbd_fit_stays_finite_with_extreme_customers(cdnow_sample_summary: pa.Table) -> None:
    heavy = pa.table(
        {
            "frequency": [*cdnow_sample_summary.column("frequency").to_pylist(), 320, 800],
            "recency": [*cdnow_sample_summary.column("recency").to_pylist(), 900.0, 1100.0],
            "T": [*cdnow_sample_summary.column("T").to_pylist(), 1100.0, 1200.0],
        }
    )
    model = ParetoNBDModel().fit(heavy)
    assert np.isfinite(model.log_likelihood_)
    assert all(np.isfinite(v) for v in model.params_.values())


def test_bgnbd_future_p_alive_matches_direct_integration(cdnow_sample_summary: pa.Table) -> None:
    # P(alive at T+t) = P(alive at T) * E_p[((alpha+T)/(alpha+T+p t))^(r+x)], p ~ Beta(a, b+x)
    model = BetaGeoModel().fit(cdnow_sample_summary)
    r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T, t = 3.0, 20.0, 39.0, 30.0
    one = pa.table({"frequency": [3], "recency": [t_x], "T": [T]})

    survive, _ = integrate.quad(
        lambda p: ((alpha + T) / (alpha + T + p * t)) ** (r + x) * stats.beta.pdf(p, a, b + x),
        0,
        1,
    )

    now = model.probability_alive(one)[0]
    assert model.probability_alive(one, at=t)[0] == pytest.approx(now * survive, rel=1e-8)


def test_bgnbd_expected_purchases_match_the_paper_formula(cdnow_sample_summary: pa.Table) -> None:
    from scipy.special import hyp2f1

    model = BetaGeoModel().fit(cdnow_sample_summary)
    r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T, t = 2.0, 30.43, 38.86, 39.0
    z = t / (alpha + T + t)
    paper = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
        / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    )
    one = pa.table({"frequency": [2], "recency": [t_x], "T": [T]})
    assert model.expected_purchases(one, horizon=t)[0] == pytest.approx(paper, rel=1e-10)
