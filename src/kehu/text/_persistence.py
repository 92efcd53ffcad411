"""Save and load fitted text models as JSON + ``.npz`` with a fingerprint; never pickle.

The text twin of :mod:`kehu.analytics.persistence` (``text`` may not depend on ``analytics``'s
registry, and a text model's state holds vocabularies that are string arrays). A saved model is a
folder with ``params.json`` (model type, library versions, hyperparameters, a SHA-256 of type +
hyperparameters, optional data fingerprint and metrics, scalar fitted state) and
``arrays.npz`` (array-valued fitted state, read with ``allow_pickle=False``). A model's fitted
state must therefore be public trailing-underscore attributes holding arrays or JSON values;
anything else (a fitted vectoriser object) lives in private attributes rebuilt from them.

Every text model (``TextClassifier``, ``SentimentClassifier``) goes through this one
implementation. ``params.json`` also holds a SHA-256 of the arrays, checked on load, so a
damaged or edited ``arrays.npz`` is refused. A model class may declare ``_stored_dtypes``
(``{"coef_": "float16"}``): those arrays are stored that narrow and read back as float32 (the
sentiment model's million weights need three significant digits, not seven).
"""

import hashlib
import importlib
import inspect
import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

import kehu
from kehu.text._errors import TextDataError, TextModelMismatchError

FORMAT_VERSION = 1

#: Public name → (module, class). Modules are imported on demand.
_REGISTRY: dict[str, tuple[str, str]] = {
    "kehu.text.TextClassifier": ("kehu.text.classification", "TextClassifier"),
    "kehu.text.SentimentClassifier": ("kehu.text.sentiment", "SentimentClassifier"),
    # The name sentiment models were saved under before they shared this module.
    "kehu.text.sentiment.SentimentClassifier": ("kehu.text.sentiment", "SentimentClassifier"),
}


class _Folder(Protocol):
    """A folder: a :class:`pathlib.Path` or an ``importlib.resources`` traversable."""

    def __truediv__(self, child: str) -> Any: ...


def text_model_type(model: BaseEstimator) -> str:
    """Return the public dotted name of a text model's class (``kehu.text.TextClassifier``)."""
    return f"kehu.text.{type(model).__name__}"


def _registered_class(name: str) -> type[BaseEstimator]:
    entry = _REGISTRY.get(name)
    if entry is None:
        raise TextDataError(f"{name} is not a registered text model type.", code="text.bad_model")
    module_name, class_name = entry
    try:
        cls: type[BaseEstimator] = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise TextDataError(
            f"{name} is not available in this kehu installation.", code="text.bad_model"
        ) from exc
    return cls


def text_config_fingerprint(model: BaseEstimator, model_type: str | None = None) -> str:
    """Return a SHA-256 of the model's type and hyperparameters (not its fitted state)."""
    payload = json.dumps(
        {"type": model_type or text_model_type(model), "params": model.get_params(deep=False)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """Return ``value`` as JSON-able Python (numpy scalars unwrapped), or raise."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TextDataError(
        f"Fitted state of type {type(value).__name__} cannot be saved as JSON.",
        code="text.unsaveable",
    )


def save_text_model(
    model: BaseEstimator,
    path: str | Path,
    *,
    data_fingerprint: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted text model to the folder ``path`` (created if needed).

    Parameters
    ----------
    model
        A fitted model of a registered type (``TextClassifier``, ``SentimentClassifier``).
    path
        Folder to write ``params.json`` and ``arrays.npz`` into.
    data_fingerprint
        Optional identifier of the training data.
    metrics
        Optional figures to keep with the model (validation accuracy...).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    check_is_fitted(model)
    name = text_model_type(model)
    if _REGISTRY.get(name) is None:
        raise TextDataError(f"{name} is not a registered text model type.", code="text.bad_model")
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    narrow: dict[str, str] = getattr(model, "_stored_dtypes", {})
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TextDataError(
                    f"{key} is an object array; text models keep state as typed arrays.",
                    code="text.unsaveable",
                )
            arrays[key] = value.astype(narrow[key]) if key in narrow else value
        else:
            scalars[key] = _plain(value)
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
        "hyperparameters": _plain(model.get_params(deep=False)),
        "config_fingerprint": text_config_fingerprint(model),
        "data_fingerprint": data_fingerprint,
        "metrics": _plain(metrics or {}),
        "fitted": scalars,
        "arrays_sha256": _arrays_digest(arrays),
    }
    (folder / "params.json").write_text(
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8"
    )
    np.savez_compressed(folder / "arrays.npz", allow_pickle=False, **arrays)
    return folder


def _restore_tuples(cls: type[BaseEstimator], params: dict[str, Any]) -> dict[str, Any]:
    """JSON turns tuples into lists; give back tuples where the default is one."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {
        key: tuple(value)
        if isinstance(value, list) and isinstance(defaults.get(key), tuple)
        else value
        for key, value in params.items()
    }


def load_text_model(path: str | Path, *, expected: BaseEstimator | None = None) -> Any:
    """Read a model written by :func:`save_text_model`.

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
    TextModelMismatchError
        The stored fingerprint does not match, or the model differs from ``expected``.
    TextDataError
        The folder is not a saved text model of a registered type, or its arrays do not
        match their checksum.
    """
    return read_text_model(Path(path), expected=expected)


def read_text_model(
    folder: _Folder, *, expected: BaseEstimator | None = None, what: str = "text"
) -> Any:
    """Do :func:`load_text_model` for a path or a resource folder; ``what`` names it in errors."""
    try:
        document = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        name = document["model_type"]
        hyperparameters = document["hyperparameters"]
        with (
            (folder / "arrays.npz").open("rb") as handle,
            np.load(handle, allow_pickle=False) as stored,
        ):
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TextDataError(
            f"{folder} is not a saved kehu {what} model: {exc}", code="text.bad_model"
        ) from exc
    if "arrays_sha256" in document and _arrays_digest(arrays) != document["arrays_sha256"]:
        raise TextDataError(
            f"{folder}: arrays.npz does not match its checksum.", code="text.bad_model"
        )
    cls = _registered_class(name)
    model = cls(**_restore_tuples(cls, hyperparameters))
    if text_config_fingerprint(model, name) != document.get("config_fingerprint"):
        raise TextModelMismatchError(
            f"{folder}: the stored fingerprint does not match its hyperparameters.",
            code="text.model_mismatch",
        )
    if expected is not None and (
        type(expected) is not cls
        or text_config_fingerprint(expected) != text_config_fingerprint(model)
    ):
        raise TextModelMismatchError(
            f"{folder} holds a {name} with {hyperparameters}, not the expected "
            f"{text_model_type(expected)} with {expected.get_params(deep=False)}.",
            code="text.model_mismatch",
        )
    for key, value in document.get("fitted", {}).items():
        setattr(model, key, value)
    narrow: dict[str, str] = getattr(cls, "_stored_dtypes", {})
    for key, value in arrays.items():
        setattr(model, key, value.astype(np.float32) if key in narrow else value)
    return model
