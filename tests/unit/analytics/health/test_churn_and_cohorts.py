"""Churn model (estimator contract), AUC, cohort curves, the retention value and the evaluation."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from kehu.analytics import InvalidDataError
from kehu.analytics.health import (
    FEATURES,
    STAGES,
    ChurnRiskModel,
    cohort_retention,
    compute_signals,
    evaluate_health,
    health_features,
    next_period,
    p_alive_or_ones,
    retention_value,
    roc_auc,
)
from tests.unit.analytics.health.test_signals_and_stages import read_slice

TRAIN_DAY = dt.date(2010, 6, 11)


@pytest.fixture(scope="module")
def training():
    lines = read_slice()
    signals = compute_signals(lines, as_of=TRAIN_DAY)
    ids = signals.column("customer_id").combine_chunks()
    # P(alive), or 1 for all where BG/NBD's optimum is flat on this slice (numerically fragile).
    features = health_features(signals, p_alive_or_ones(lines, TRAIN_DAY, ids)[0])
    churned = next_period(lines, ids, as_of=TRAIN_DAY, days=90).column("churned")
    return features, np.asarray(churned, dtype=bool)


def test_the_model_follows_the_estimator_contract(training):
    features, churned = training
    model = ChurnRiskModel(C=0.5)

    with pytest.raises(NotFittedError):
        model.predict_risk(features)
    assert model.fit(features, churned) is model
    first = model.predict_risk(features)
    again = clone(model).fit(features, churned).fit(features, churned).predict_risk(features)

    np.testing.assert_array_equal(first, again)
    assert model.get_params() == {"C": 0.5, "features": None, "max_iter": 1000, "solver": "lbfgs"}
    assert model.features_ == FEATURES
    assert model.n_customers_ == len(churned)
    assert model.base_rate_ == pytest.approx(churned.mean())
    assert np.all((first > 0) & (first < 1))
    np.testing.assert_allclose(model.predict_proba(features).sum(axis=1), 1.0)
    assert set(model.coefficients()) == set(FEATURES)


def test_the_model_refuses_bad_input(training):
    features, churned = training

    with pytest.raises(InvalidDataError, match="p_alive_rank"):
        ChurnRiskModel().fit(features.drop_columns(["p_alive_rank"]), churned)
    with pytest.raises(InvalidDataError, match="both outcomes"):
        ChurnRiskModel().fit(features, np.ones(len(churned), dtype=bool))
    with pytest.raises(InvalidDataError, match="labels"):
        ChurnRiskModel().fit(features, churned[:-1])
    with pytest.raises(ValueError, match="C"):
        ChurnRiskModel(C=-1.0).fit(features, churned)


def test_auc_agrees_with_scikit_learn_ties_included():
    rng = np.random.default_rng(3)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.random(300) + labels * 0.3, 1)  # rounded: many ties

    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert roc_auc(np.ones(3, dtype=bool), [0.1, 0.2, 0.3]) is None


def test_cohort_curves_count_customers_by_month_of_first_purchase():
    purchases = pa.table(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c"],
            "timestamp": [
                "2024-01-05",
                "2024-02-01",
                "2024-03-09",
                "2024-01-20",
                "2024-03-01",
                "2024-02-10",
                "2024-02-11",
            ],
            "quantity": [1, 1, 1, 1, -1, 1, 1],  # b's March row is a return
        }
    )

    table = cohort_retention(purchases, as_of="2024-03-15")

    assert table.to_pydict() == {
        "cohort": [dt.date(2024, 1, 1)] * 3 + [dt.date(2024, 2, 1)] * 2,
        "month": [0, 1, 2, 0, 1],
        "n_customers": [2, 2, 2, 1, 1],
        "n_active": [2, 1, 1, 1, 0],
        "retention": [1.0, 0.5, 0.5, 1.0, 0.0],
        "complete": [True, True, False, True, False],
    }


def test_retention_value_matches_the_geometric_model():
    value = retention_value(
        retention=0.6, base_value=1000.0, periods=4, period_days=90, discount_rate_per_period=0.02
    )

    def survival(r, n):
        q = r / 1.02
        return sum(q**t for t in range(1, n + 1))

    assert value.improved_retention == pytest.approx(0.63)
    assert value.value_change == pytest.approx(survival(0.63, 4) / survival(0.6, 4) - 1)
    assert value.added_value == pytest.approx(1000.0 * value.value_change)
    # Unlimited horizon: r / (1 + d - r) (Gupta & Lehmann 2003).
    lifetime = (0.63 / (1.02 - 0.63)) / (0.6 / (1.02 - 0.6)) - 1
    assert value.lifetime_value_change == pytest.approx(lifetime)
    assert value.as_dict()["seed_claim_low"] == 0.35
    with pytest.raises(InvalidDataError, match="retention"):
        retention_value(retention=1.0, base_value=1.0, periods=4, period_days=90)


def test_evaluation_on_the_real_slice_reports_stages_and_aucs():
    report = evaluate_health(read_slice(), as_of="2010-09-09")

    assert report["n_customers"] == 50
    assert [s["stage"] for s in report["stages"]] == list(STAGES)
    assert sum(s["n_customers"] for s in report["stages"]) == 50
    assert report["churn_rate"] == pytest.approx(13 / 50)
    for part in ("all", "active"):
        for key in ("auc_model", "auc_p_alive", "auc_recency"):
            assert 0.0 <= report["churn"][part][key] <= 1.0
    assert report["cohorts"][0]["cohort"] == "2009-12-01"
    assert report["cohorts"][0]["retention"][0] == 1.0
    with pytest.raises(InvalidDataError, match="Choose an earlier --as-of"):
        evaluate_health(read_slice(), as_of="2010-11-01")


def test_p_alive_falls_back_to_one_for_all_when_bg_nbd_cannot_be_fitted():
    # Nobody bought twice: BG/NBD has nothing to fit; health goes on without P(alive).
    lines = pa.table(
        {
            "customer_id": ["a", "b", "c"],
            "order_id": ["1", "2", "3"],
            "timestamp": ["2010-01-05", "2010-02-05", "2010-03-05"],
            "item_id": ["x", "x", "y"],
            "quantity": [1, 2, 1],
            "unit_price": [3.0, 3.0, 4.0],
        }
    )
    ids = pa.array(["a", "b", "c"])

    values, why = p_alive_or_ones(lines, dt.date(2010, 4, 1), ids)

    assert values.tolist() == [1.0, 1.0, 1.0]
    assert why.startswith("BG/NBD could not be fitted at 2010-04-01")
