"""The models against published figures and the lifetimes package (truth nobody here wrote)."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    holdout_report,
    summarize_transactions,
)
from kehu.analytics.datasets import read_cdnow

DATA = Path(__file__).parents[2] / "data"


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_sample_summary: pa.Table) -> None:
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 279: CDNOW 1/10 sample, 39 weeks.
    model = BetaGeoModel().fit(cdnow_sample_summary)

    assert model.n_customers_ == 2357
    assert model.params_["r"] == pytest.approx(0.243, abs=5e-4)
    assert model.params_["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert model.params_["a"] == pytest.approx(0.793, abs=5e-4)
    assert model.params_["b"] == pytest.approx(2.426, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert model.n_distinct_ < model.n_customers_  # fitted on compressed tuples
    assert all(se > 0 for se in model.standard_errors_.values())


def test_paretonbd_reproduces_hardie_note(cdnow_sample_summary: pa.Table) -> None:
    # Fader, Hardie & Lee (2005) "RFM and CLV", JMR 42(4), and Hardie's note "Implementing the
    # Pareto/NBD model given interval-censored data"/"The Pareto/NBD in Excel": r 0.55,
    # alpha 10.58, s 0.61, beta 11.67, LL -9595.0 on the same sample and period.
    model = ParetoNBDModel().fit(cdnow_sample_summary)

    assert model.params_["r"] == pytest.approx(0.55, abs=5e-3)
    assert model.params_["alpha"] == pytest.approx(10.58, abs=5e-3)
    assert model.params_["s"] == pytest.approx(0.61, abs=5e-3)
    assert model.params_["beta"] == pytest.approx(11.67, abs=5e-3)
    assert model.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_gamma_gamma_reproduces_fader_hardie_lee_2005(cdnow_sample_summary: pa.Table) -> None:
    # FHL (2005) "RFM and CLV", JMR 42(4): 946 repeat buyers, p 6.25, q 3.74, gamma 15.44.
    model = GammaGammaModel().fit(cdnow_sample_summary)

    assert model.n_customers_ == 946
    assert model.params_["p"] == pytest.approx(6.25, abs=5e-3)
    assert model.params_["q"] == pytest.approx(3.74, abs=5e-3)
    assert model.params_["v"] == pytest.approx(15.44, abs=5e-3)


REFERENCE = json.loads((DATA / "lifetimes_reference.json").read_text())


@pytest.mark.parametrize(
    ("dataset_case", "file_name"),
    [
        ("cdnow_sample", "cdnow_sample.txt"),
        pytest.param("cdnow_master", "cdnow_master.txt.gz", marks=pytest.mark.slow),
    ],
)
def test_models_equal_lifetimes_on_the_same_summary(dataset_case: str, file_name: str) -> None:
    reference = REFERENCE[dataset_case]
    summary = summarize_transactions(read_cdnow(DATA / file_name), calibration_end="1997-09-30")
    frequency = np.asarray(summary.column("frequency"))
    assert summary.num_rows == reference["n_customers"]
    assert int(frequency.sum()) == reference["sum_frequency"]
    assert float(np.sum(summary.column("recency"))) == pytest.approx(reference["sum_recency"])
    assert float(np.sum(summary.column("T"))) == pytest.approx(reference["sum_T"])

    for key, model in [
        ("bgnbd", BetaGeoModel()),
        ("mbgnbd", ModifiedBetaGeoModel()),
        ("paretonbd", ParetoNBDModel()),
    ]:
        model.fit(summary)
        for name, value in reference[key]["params"].items():
            assert model.params_[name] == pytest.approx(value, rel=1e-3), (key, name)

    spend = GammaGammaModel().fit(summary)
    assert spend.n_customers_ == reference["gamma_gamma"]["n_customers"]
    for name, value in reference["gamma_gamma"]["params"].items():
        assert spend.params_[name] == pytest.approx(value, rel=1e-3), name


def test_holdout_report_compares_predicted_and_actual(cdnow_sample_summary: pa.Table) -> None:
    model = BetaGeoModel().fit(cdnow_sample_summary)

    report = holdout_report(model, cdnow_sample_summary)

    assert report.n_customers == 2357
    assert report.duration == pytest.approx(39.0)
    assert report.total_actual == 1882  # repeat purchase days in weeks 40-78
    assert report.total_predicted == pytest.approx(1653.4, abs=0.1)
    assert 0 < report.mae < report.rmse
    assert [b.frequency for b in report.by_frequency] == list(range(8))
    assert sum(b.n_customers for b in report.by_frequency) == 2357
    zero = report.by_frequency[0]
    assert zero.n_customers == 1411
    assert zero.mean_predicted == pytest.approx(zero.mean_actual, abs=0.1)


def test_clv_discounts_expected_purchases_times_spend(cdnow_sample_summary: pa.Table) -> None:
    purchases = BetaGeoModel().fit(cdnow_sample_summary)
    spend = GammaGammaModel().fit(cdnow_sample_summary)

    undiscounted = customer_lifetime_value(
        purchases, spend, cdnow_sample_summary, months=12, discount_rate=0.0
    )
    discounted = customer_lifetime_value(
        purchases, spend, cdnow_sample_summary, months=12, discount_rate=0.01
    )

    year = 365.25 / 7
    expected = purchases.expected_purchases(
        cdnow_sample_summary, horizon=year
    ) * spend.expected_spend(cdnow_sample_summary)
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-9)
    assert np.all(discounted < undiscounted)
    assert np.all(discounted > undiscounted / 1.01**12)
