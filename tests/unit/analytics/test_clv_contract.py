"""Every CLV model through the estimator contract (STYLE.md section 8)."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from kehu.analytics.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from kehu.analytics.persistence import ModelMismatchError, load_model, save_model

MODELS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel, GammaGammaModel]


def _score(model: object, summary: pa.Table) -> np.ndarray:
    if isinstance(model, GammaGammaModel):
        return model.predict(summary)
    return model.predict(summary, horizon=10.0)


@pytest.mark.parametrize("model_class", MODELS)
def test_estimator_contract(
    model_class: type, cdnow_sample_summary: pa.Table, tmp_path: Path
) -> None:
    model = model_class(penalizer=0.0, tol=1e-7, max_iter=500)
    expected = {"penalizer": 0.0, "tol": 1e-7, "max_iter": 500}
    if model_class is not GammaGammaModel:
        expected["unidentified_dropout"] = "raise"
    assert model.get_params() == expected
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert twin.set_params(max_iter=900) is twin
    assert twin.max_iter == 900
    with pytest.raises(NotFittedError):
        _score(model, cdnow_sample_summary)
    with pytest.raises(TypeError):
        model_class(0.0)  # keyword-only hyperparameters

    assert model.fit(cdnow_sample_summary) is model
    first = dict(model.params_)
    model.fit(cdnow_sample_summary)
    assert model.params_ == pytest.approx(first, rel=1e-9)  # fitting twice equals once
    assert not hasattr(clone(model), "params_")

    folder = save_model(model, tmp_path / "m", data_fingerprint="cdnow-sample", metrics={"x": 1.0})
    loaded = load_model(folder, expected=model_class(penalizer=0.0, tol=1e-7, max_iter=500))
    assert loaded.get_params() == model.get_params()  # every __init__ parameter round-trips
    assert loaded.params_ == model.params_
    np.testing.assert_array_equal(loaded.covariance_, model.covariance_)
    np.testing.assert_allclose(
        _score(loaded, cdnow_sample_summary), _score(model, cdnow_sample_summary)
    )
    with pytest.raises(ModelMismatchError):
        load_model(folder, expected=model_class(max_iter=10))
    other = next(cls for cls in MODELS if cls is not model_class)
    with pytest.raises(ModelMismatchError):
        load_model(folder, expected=other())


@pytest.mark.parametrize("model_class", MODELS)
def test_bad_hyperparameter_is_refused_at_fit(
    model_class: type, cdnow_sample_summary: pa.Table
) -> None:
    with pytest.raises(ValueError, match="penalizer"):
        model_class(penalizer=-1.0).fit(cdnow_sample_summary)


def test_compressed_input_gives_the_same_fit(cdnow_sample_summary: pa.Table) -> None:
    import pyarrow.compute as pc  # noqa: F401

    grouped = (
        cdnow_sample_summary.group_by(["frequency", "recency", "T"])
        .aggregate([("customer_id", "count")])
        .rename_columns(["frequency", "recency", "T", "n_customers"])
    )

    from_rows = BetaGeoModel().fit(cdnow_sample_summary)
    from_tuples = BetaGeoModel().fit(grouped)

    assert grouped.num_rows == from_rows.n_distinct_
    assert from_tuples.params_ == pytest.approx(from_rows.params_, rel=1e-6)
    assert from_tuples.log_likelihood_ == pytest.approx(from_rows.log_likelihood_, rel=1e-9)
