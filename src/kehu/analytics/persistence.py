"""Save and load fitted models as JSON + ``.npz`` with a fingerprint; never pickle.

A saved model is a folder holding ``params.json`` (model type, library versions, the
hyperparameters, a fingerprint of type + hyperparameters, an optional data fingerprint and
metrics, and the scalar fitted state) and ``arrays.npz`` (array-valued fitted state, loaded
with ``allow_pickle=False``). Only model classes registered here can be loaded.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

import kehu
from kehu.analytics._base import InvalidDataError
from kehu.core import KehuError

FORMAT_VERSION = 1


class ModelMismatchError(KehuError):
    """A saved model is not of the type or configuration the caller expected."""

    status_code = 409


def _registry() -> dict[str, type[BaseEstimator]]:
    from kehu.analytics.clv import (
        BetaGeoModel,
        GammaGammaModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
    )
    from kehu.analytics.recommend import (
        AlsoBoughtRecommender,
        BuyAgainRecommender,
        Recommender,
    )

    classes: list[type[BaseEstimator]] = [
        BetaGeoModel,
        GammaGammaModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        AlsoBoughtRecommender,
        BuyAgainRecommender,
        Recommender,
    ]
    return {f"{cls.__module__.rsplit('._', 1)[0]}.{cls.__name__}": cls for cls in classes}


def model_type(model: BaseEstimator) -> str:
    """Return the public dotted name of a model's class (``kehu.analytics.clv.BetaGeoModel``)."""
    cls = type(model)
    return f"{cls.__module__.rsplit('._', 1)[0]}.{cls.__name__}"


def config_fingerprint(model: BaseEstimator) -> str:
    """Return a SHA-256 of the model's type and hyperparameters (not its fitted state)."""
    payload = json.dumps(
        {"type": model_type(model), "params": model.get_params(deep=False)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def save_model(
    model: BaseEstimator,
    path: str | Path,
    *,
    data_fingerprint: str | None = None,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write a fitted model to the folder ``path`` (created if needed).

    Parameters
    ----------
    model
        A fitted model of a registered type.
    path
        Folder to write ``params.json`` and ``arrays.npz`` into.
    data_fingerprint
        Optional identifier of the training data (e.g. a hash of the summary).
    metrics
        Optional figures to keep with the model (holdout error...).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    check_is_fitted(model)
    name = model_type(model)
    if name not in _registry():
        raise InvalidDataError(
            f"{name} is not a registered model type.", code="analytics.unknown_model"
        )
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            arrays[key] = value
        else:
            scalars[key] = value
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "format_version": FORMAT_VERSION,
        "model_type": name,
        "versions": {
            "kehu": kehu.__version__,
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
        },
        "hyperparameters": model.get_params(deep=False),
        "config_fingerprint": config_fingerprint(model),
        "data_fingerprint": data_fingerprint,
        "metrics": metrics or {},
        "fitted": scalars,
    }
    (folder / "params.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    np.savez(folder / "arrays.npz", allow_pickle=False, **arrays)
    return folder


def load_model(path: str | Path, *, expected: BaseEstimator | None = None) -> BaseEstimator:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path
        The folder.
    expected
        An (unfitted) model the saved one must match in type and hyperparameters.

    Returns
    -------
    BaseEstimator
        The fitted model.

    Raises
    ------
    ModelMismatchError
        The saved type or configuration fingerprint differs from ``expected``.
    InvalidDataError
        The folder is not a saved model of a registered type.
    """
    folder = Path(path)
    try:
        document = json.loads((folder / "params.json").read_text())
        name = document["model_type"]
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidDataError(
            f"{folder} is not a saved kehu model: {exc}", code="analytics.bad_model"
        ) from exc
    cls = _registry().get(name)
    if cls is None:
        raise InvalidDataError(
            f"{name} is not a registered model type.", code="analytics.unknown_model"
        )
    model = cls(**document["hyperparameters"])
    if config_fingerprint(model) != document["config_fingerprint"]:
        raise ModelMismatchError(
            f"{folder}: the stored fingerprint does not match its hyperparameters.",
            code="analytics.model_mismatch",
        )
    if expected is not None and (
        model_type(expected) != name
        or config_fingerprint(expected) != document["config_fingerprint"]
    ):
        raise ModelMismatchError(
            f"{folder} holds a {name} with {document['hyperparameters']}, not the expected "
            f"{model_type(expected)} with {expected.get_params(deep=False)}.",
            code="analytics.model_mismatch",
        )
    for key, value in document["fitted"].items():
        setattr(model, key, value)
    with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
        for key in arrays.files:
            setattr(model, key, arrays[key])
    return model
