"""Shared pieces of the analytics library: errors, table access, compression of tuples."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

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


def float_column(table: pa.Table, name: str) -> FloatArray:
    """Return column ``name`` as a float64 numpy array; nulls or non-finite values raise."""
    column = table.column(name)
    if column.null_count:
        raise InvalidDataError(
            f"Column {name} has {column.null_count} empty value(s).",
            code="analytics.null_value",
            details={"column": name},
        )
    values = np.asarray(column.to_numpy(), dtype=np.float64)
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
