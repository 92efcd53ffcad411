"""Shared pieces of the analytics library: errors, table access, compression, estimator base.

The estimator base honours scikit-learn's contract without importing scikit-learn.
"""

import copy
import inspect
import math
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from typing_extensions import override

from kehu.core import InvalidInputError, KehuError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class InvalidDataError(InvalidInputError, ValueError):
    """The data handed to an analytics function cannot be used as it is.

    It is a ``ValueError`` (what numeric code expects) and a ``KehuError`` (what the delivery
    layers turn into a 4xx answer or a CLI message).
    """


class ConvergenceError(KehuError, RuntimeError):
    """A model fit did not reach a maximum of the likelihood; the message says why."""

    status_code = 422


def to_arrow(data: Any) -> pa.Table:
    """Return ``data`` (a pyarrow Table, pandas DataFrame or mapping of columns) as a Table.

    Parameters
    ----------
    data
        Anything with the Arrow C stream interface, a ``pyarrow.Table`` or a mapping of column
        name to a sequence.

    Returns
    -------
    pyarrow.Table
        The same data as an Arrow table (zero copy where possible).
    """
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, Mapping):
        return pa.table({str(k): np.asarray(v) for k, v in data.items()})
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    raise InvalidDataError(
        "Expected a pyarrow Table, a DataFrame or a mapping of columns, got "
        f"{type(data).__name__}.",
        code="analytics.bad_type",
    )


def require_columns(table: pa.Table, names: Sequence[str], *, what: str = "the data") -> None:
    """Raise :class:`InvalidDataError` naming every column of ``names`` missing from ``table``."""
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise InvalidDataError(
            f"{what} lacks the column(s) {', '.join(missing)}; it has "
            f"{', '.join(table.column_names) or 'no columns'}.",
            code="analytics.missing_column",
            details={"missing": missing},
        )


_NUMPY_TYPES: dict[pa.DataType, type[np.generic]] = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}


def numpy_values(array: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    """Return an Arrow array's values as numpy, in place where it can (one chunk, no nulls).

    ``Array.to_numpy`` first asks pyarrow's pandas shim about the array, which imports pandas
    (a third of a second and tens of MB) into processes that never use it; numeric arrays
    without nulls are read from their data buffer here instead (dates as their integer day
    or time counts). Anything else goes through ``to_numpy``.
    """
    if isinstance(array, pa.ChunkedArray):
        chunks = [numpy_values(chunk) for chunk in array.chunks]
        if len(chunks) == 1:
            return chunks[0]
        if not chunks:
            return np.asarray(array.to_numpy())
        return np.concatenate(chunks)
    kind = array.type
    if pa.types.is_date32(kind):
        array = array.view(pa.int32())
    elif pa.types.is_date64(kind) or pa.types.is_timestamp(kind):
        array = array.view(pa.int64())
    dtype = _NUMPY_TYPES.get(array.type)
    if dtype is None or array.null_count:
        return np.asarray(array.to_numpy(zero_copy_only=False))
    item = np.dtype(dtype).itemsize
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * item
    )


def arrow_values(values: npt.NDArray[Any], kind: pa.DataType | None = None) -> pa.Array:
    """Return a numeric numpy array as an Arrow array, in place (no pandas import).

    ``kind`` may reinterpret the values (int32 days as ``date32``).
    """
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(
            pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))]
        )
    own = pa.from_numpy_dtype(values.dtype)
    array = pa.Array.from_buffers(own, len(values), [None, pa.py_buffer(values)])
    return array if kind is None or kind == own else array.view(kind)


def float_column(table: pa.Table, name: str) -> FloatArray:
    """Return column ``name`` as a float64 numpy array; nulls or non-finite values raise."""
    column = table.column(name)
    if column.null_count:
        raise InvalidDataError(
            f"Column {name} has {column.null_count} empty value(s).",
            code="analytics.null_value",
            details={"column": name},
        )
    values = np.asarray(numpy_values(column), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InvalidDataError(
            f"Column {name} has values that are not finite numbers.",
            code="analytics.not_finite",
            details={"column": name},
        )
    return values


def compress_rows(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray, IntArray]:
    """Collapse equal rows of ``columns`` into distinct tuples with counts.

    Parameters
    ----------
    *columns
        Equal-length float arrays, one per variable (e.g. frequency, recency, T).

    Returns
    -------
    distinct
        One array per input column holding the distinct tuples (sorted).
    counts
        How many input rows each distinct tuple stands for (float, used as a weight).
    inverse
        For every input row, the index of its distinct tuple: ``distinct[i][inverse]`` gives the
        input back, so predictions made once per tuple are joined back with one take.
    """
    n = len(columns[0])
    if n == 0:
        return [c.copy() for c in columns], np.zeros(0), np.zeros(0, dtype=np.int64)
    # Factorise each column on its own (fast 1-D sorts), then combine the codes into one int64
    # (mixed radix); fall back to a row-wise unique if the radix product could overflow.
    factorised = [np.unique(column, return_inverse=True) for column in columns]
    if float(np.prod([float(len(values)) for values, _ in factorised])) >= 2.0**62:
        stacked = np.column_stack(columns)
        _, first, inverse, counts = np.unique(
            stacked, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        distinct = [np.asarray(column[first], dtype=np.float64) for column in columns]
        return distinct, counts.astype(np.float64), inverse.astype(np.int64).reshape(-1)
    codes = np.zeros(n, dtype=np.int64)
    for values, code in factorised:
        codes = codes * np.int64(len(values)) + code.astype(np.int64)
    key, first, inverse, counts = np.unique(
        codes, return_index=True, return_inverse=True, return_counts=True
    )
    del key
    distinct = [np.asarray(column[first], dtype=np.float64) for column in columns]
    return distinct, counts.astype(np.float64), inverse.astype(np.int64).reshape(-1)


@dataclass(frozen=True)
class Interval:
    """A hyperparameter constraint: a number of ``kind`` between ``left`` and ``right``.

    The same meaning as scikit-learn's ``Interval`` (``None`` is an open end; ``closed`` is
    ``"left"``, ``"right"``, ``"both"`` or ``"neither"``), checked by :class:`Estimator`.
    """

    kind: type
    left: float | None
    right: float | None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` satisfies the constraint."""
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        number = float(value)  # type: ignore[arg-type]  # a Real or Integral, checked above
        if math.isnan(number):
            return False
        left_ok = self.left is None or (
            number >= self.left if self.closed in ("left", "both") else number > self.left
        )
        right_ok = self.right is None or (
            number <= self.right if self.closed in ("right", "both") else number < self.right
        )
        return left_ok and right_ok

    @override
    def __str__(self) -> str:
        kind = "an int" if self.kind is Integral else "a float"
        left = "-inf" if self.left is None else repr(self.left)
        right = "inf" if self.right is None else repr(self.right)
        opening = "[" if self.closed in ("left", "both") and self.left is not None else "("
        closing = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {opening}{left}, {right}{closing}"


@dataclass(frozen=True)
class Options:
    """A hyperparameter constraint: one of a fixed set of values (scikit-learn's ``StrOptions``)."""

    values: Container[Any]

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is one of the options."""
        try:
            return value in self.values
        except TypeError:
            return False

    @override
    def __str__(self) -> str:
        shown = sorted(map(repr, self.values)) if isinstance(self.values, set | frozenset) else []
        return f"one of {', '.join(shown)}" if shown else "one of the allowed options"


class Estimator:
    """Base of the analytics models: scikit-learn's estimator contract, without scikit-learn.

    Importing scikit-learn costs seconds and ~175 MB (``sklearn.base`` pulls in scipy.stats
    and pandas), more than fitting a CLV model on a million customers. This base gives what
    the contract (STYLE.md section 8) and scikit-learn's tools use: ``get_params`` /
    ``set_params`` from the keyword-only ``__init__`` parameters, ``sklearn.base.clone``
    (through ``__sklearn_clone__``), ``check_is_fitted`` (``__sklearn_tags__`` and
    trailing-underscore attributes), validation against ``_parameter_constraints`` at fit
    time, and ``sklearn.exceptions.NotFittedError`` before fit. scikit-learn is imported only
    on those paths (a caller using its tools has it loaded already).
    """

    #: ``{parameter: [Interval(...) | Options(...) | None, ...]}``; a value passing any passes.
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """Return the ``__init__`` parameters (hyperparameters), sorted, as scikit-learn does."""
        init = cls.__init__
        if init is object.__init__:
            return []
        parameters = [
            p
            for p in inspect.signature(init).parameters.values()
            if p.name != "self" and p.kind != p.VAR_KEYWORD
        ]
        if any(p.kind == p.VAR_POSITIONAL for p in parameters):
            raise RuntimeError(f"{cls.__name__}.__init__ must name its parameters (no *args).")
        return sorted(p.name for p in parameters)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the hyperparameters by name (``deep`` is accepted for compatibility)."""
        del deep
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters by name and return the estimator.

        Raises
        ------
        ValueError
            A name that is not a hyperparameter of this estimator.
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, name, value)
        return self

    def __sklearn_clone__(self) -> Self:
        """Return an unfitted copy with the same hyperparameters (``sklearn.base.clone``)."""
        params = {name: copy.deepcopy(value) for name, value in self.get_params().items()}
        return type(self)(**params)

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's default estimator tags (asked for by ``check_is_fitted``)."""
        from sklearn.utils import Tags, TargetTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
        )

    @override
    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not (name in defaults and _same(value, defaults[name]))
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _validate_params(self) -> None:
        """Check the hyperparameters against ``_parameter_constraints``.

        Raises
        ------
        ValueError
            Naming the parameter, the value and what it must be.
        """
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            if any(
                (value is None) if constraint is None else constraint.accepts(value)
                for constraint in constraints
            ):
                continue
            wanted = " or ".join("None" if c is None else str(c) for c in constraints)
            raise InvalidDataError(
                f"The {name!r} parameter of {type(self).__name__} must be {wanted}. "
                f"Got {value!r} instead.",
                code="analytics.bad_parameter",
                details={"parameter": name},
            )

    def _check_fitted(self, attribute: str) -> None:
        """Raise scikit-learn's ``NotFittedError`` unless ``attribute`` was learned by fit."""
        if not hasattr(self, attribute):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except (TypeError, ValueError):
        return False
