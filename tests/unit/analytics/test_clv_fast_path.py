"""The one-pass likelihood used on large summaries equals the per-tuple one."""

import numpy as np
import pyarrow as pa
import pytest

from kehu.analytics.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, _common
from kehu.analytics.clv._common import read_rft
from kehu.analytics.clv._gammagamma import _prepare_total


@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel])
@pytest.mark.parametrize(
    "theta_case", [(0.243, 4.414, 0.793, 2.426), (1.3, 0.7, 2.5, 0.6), (0.05, 40.0, 0.2, 9.0)]
)
def test_bgnbd_one_pass_total_equals_per_tuple_sum(
    cdnow_sample_summary: pa.Table, model_class: type, theta_case: tuple[float, ...]
) -> None:
    model = model_class()
    d = read_rft(cdnow_sample_summary)
    theta = np.array(theta_case)
    value, grad = model._prepare_total(d)(theta)
    assert value == pytest.approx(-float(d.weight @ model._log_lik(theta, d)), rel=1e-12)
    np.testing.assert_allclose(grad, -(d.weight @ model._log_lik_grad(theta, d)), rtol=1e-9)


def test_gamma_gamma_one_pass_total_equals_per_pair_sum(cdnow_sample_summary: pa.Table) -> None:
    repeat = cdnow_sample_summary.filter(pa.compute.greater(cdnow_sample_summary["n_monetary"], 0))
    x = repeat["n_monetary"].to_numpy().astype(np.float64)
    m = repeat["monetary_value"].to_numpy()
    weight = np.ones_like(x)
    theta = np.array([6.25, 3.74, 15.44])
    value, grad = _prepare_total(x, m, weight)(theta)
    assert value == pytest.approx(-float(GammaGammaModel._log_lik(theta, x, m).sum()), rel=1e-12)
    np.testing.assert_allclose(grad, -GammaGammaModel._log_lik_grad(theta, x, m).sum(axis=0))


@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel])
def test_fit_on_the_one_pass_path_matches_the_per_tuple_fit(
    cdnow_sample_summary: pa.Table, model_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the per-tuple fit of the CDNOW sample (below the one-pass threshold)
    slow = model_class().fit(cdnow_sample_summary)
    # When the one-pass path is forced on the same data
    monkeypatch.setattr(_common, "ONE_PASS_MIN_TUPLES", 0)
    fast = model_class().fit(cdnow_sample_summary)
    # Then parameters, log-likelihood and standard errors agree
    for name in slow.params_:
        assert fast.params_[name] == pytest.approx(slow.params_[name], rel=1e-5)
        assert fast.standard_errors_[name] == pytest.approx(slow.standard_errors_[name], rel=1e-3)
    assert fast.log_likelihood_ == pytest.approx(slow.log_likelihood_, rel=1e-10)
