"""The paths that make CLV fast at scale give what the plain paths give.

Chunked summaries, fits started from coarsened data, and the estimator base that spares the
scikit-learn import.
"""

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    _gammagamma,
    _summary,
    simulate_summary,
    summarize_transactions,
)
from kehu.analytics.clv._common import read_rft
from kehu.analytics.clv._mle import fit_log_params


def _as_text_ids(transactions: pa.Table) -> pa.Table:
    return transactions.set_column(
        0, "customer_id", pc.cast(transactions.column("customer_id"), pa.string())
    )


@pytest.mark.parametrize("text_ids", [False, True])
def test_summary_in_chunks_of_customers_equals_the_summary_in_one_go(
    cdnow_sample_transactions: pa.Table, monkeypatch: pytest.MonkeyPatch, text_ids: bool
) -> None:
    # Given the CDNOW sample with integer or text customer ids
    transactions = cdnow_sample_transactions
    if text_ids:
        transactions = _as_text_ids(transactions)
    dates = {"calibration_end": "1997-09-30", "holdout_end": "1998-06-30"}
    whole = summarize_transactions(transactions, **dates)
    # When the summary runs in chunks of about 1000 transactions (7 chunks)
    monkeypatch.setattr(_summary, "_ROWS_PER_CHUNK", 1000)
    chunked = summarize_transactions(transactions, **dates)
    # Then it has the same customers in the same order, with the same figures
    assert chunked.num_rows == whole.num_rows == 2357
    assert chunked.column("customer_id").equals(whole.column("customer_id"))
    for name in whole.column_names:
        if pa.types.is_floating(whole.schema.field(name).type):
            # DuckDB's parallel sums may differ in the last bit from run to run
            np.testing.assert_allclose(chunked[name].to_numpy(), whole[name].to_numpy(), rtol=1e-12)
        else:
            assert chunked.column(name).equals(whole.column(name)), name
    assert _summary.summary_info(chunked) == _summary.summary_info(whole)


def test_integer_ids_are_sorted_numerically_and_text_ids_as_text() -> None:
    days = pa.array([0, 3, 0, 5, 1], pa.int32()).cast(pa.date32())
    ids = [10, 10, 9, 9, 100]
    numeric = summarize_transactions(
        pa.table({"customer_id": ids, "date": days, "amount": [1.0] * 5}),
        calibration_end="1970-01-10",
    )
    text = summarize_transactions(
        pa.table({"customer_id": [str(i) for i in ids], "date": days, "amount": [1.0] * 5}),
        calibration_end="1970-01-10",
    )
    assert numeric.column("customer_id").to_pylist() == ["9", "10", "100"]
    assert text.column("customer_id").to_pylist() == ["10", "100", "9"]


def test_bgnbd_fit_started_from_coarsened_tuples_is_the_full_data_optimum() -> None:
    # Given 20,000 simulated customers (far more distinct tuples than the one-pass threshold)
    summary = simulate_summary(20_000, random_state=7)
    model = BetaGeoModel().fit(summary)
    # Then the gradient of the full data's likelihood vanishes at the parameters found
    d = read_rft(summary)
    value_and_grad = model._prepare_total(d)
    theta = model._theta
    _, grad = value_and_grad(theta)
    assert np.max(np.abs(grad * theta)) / d.weight.sum() < 1e-6
    # And a cold start on the same likelihood lands on the same parameters
    cold = fit_log_params(
        lambda t: value_and_grad(t)[0],
        lambda t: value_and_grad(t)[1],
        names=model.param_names,
        total_weight=float(d.weight.sum()),
        penalizer=0.0,
        tol=1e-7,
        max_iter=1000,
        model_name="BG/NBD",
        value_and_grad=value_and_grad,
    )
    np.testing.assert_allclose(theta, cold.params, rtol=1e-5)
    np.testing.assert_allclose(list(model.standard_errors_.values()), cold.standard_errors)


def test_gamma_gamma_fit_started_from_coarsened_spend_is_the_full_data_optimum() -> None:
    summary = simulate_summary(20_000, random_state=11)
    model = GammaGammaModel().fit(summary)
    usable = summary.filter(pc.greater(summary["frequency"], 0))
    x = usable["frequency"].to_numpy().astype(np.float64)
    m = usable["monetary_value"].to_numpy()
    assert len(x) >= _gammagamma.ONE_PASS_MIN_TUPLES  # the warm start was used
    value_and_grad = _gammagamma._prepare_total(x, m, np.ones_like(x))
    cold = fit_log_params(
        lambda t: value_and_grad(t)[0],
        lambda t: value_and_grad(t)[1],
        names=model.param_names,
        total_weight=float(len(x)),
        penalizer=0.0,
        tol=1e-7,
        max_iter=1000,
        model_name="Gamma-Gamma",
        value_and_grad=value_and_grad,
    )
    np.testing.assert_allclose(list(model.params_.values()), cold.params, rtol=1e-5)
    assert model.log_likelihood_ == pytest.approx(cold.log_likelihood, rel=1e-10)
    assert model.n_distinct_ == len(np.unique(np.column_stack([x, m]), axis=0))


def test_estimator_base_works_with_scikit_learn_tools(cdnow_sample_summary: pa.Table) -> None:
    model = BetaGeoModel(penalizer=0.1)
    assert repr(model) == "BetaGeoModel(penalizer=0.1)"
    with pytest.raises(NotFittedError, match="not fitted"):
        check_is_fitted(model)
    with pytest.raises(ValueError, match="Invalid parameter 'speed'"):
        model.set_params(speed=2)
    with pytest.raises(ValueError, match="'unidentified_dropout' parameter"):
        BetaGeoModel(unidentified_dropout="ignore").fit(cdnow_sample_summary)
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        GammaGammaModel(max_iter=0).fit(cdnow_sample_summary)
    model.fit(cdnow_sample_summary)
    check_is_fitted(model)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "params_")


def test_importing_the_clv_models_does_not_import_scikit_learn() -> None:
    # sklearn.base costs seconds and ~175 MB: more than a CLV fit on a million customers.
    code = "import sys, kehu.analytics.clv; print('sklearn' in sys.modules)"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
