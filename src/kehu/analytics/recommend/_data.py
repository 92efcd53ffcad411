"""Order lines in, integer codes out: the one place that validates and encodes the input."""

import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from kehu.analytics._base import FloatArray, IntArray, InvalidDataError, require_columns, to_arrow

#: Columns every order-line table must have.
LINE_COLUMNS = ("customer_id", "order_id", "item_id", "timestamp")
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class EncodedLines:
    """Distinct (customer, order, item) purchases as integer codes, sorted by customer.

    ``customer_ids`` and ``item_ids`` are the sorted distinct identifiers; ``customer`` and
    ``item`` index into them; ``order`` numbers the distinct orders; ``day`` is the purchase
    time in days since 1970-01-01 (UTC). Repeated lines of one item in one order are one row.
    """

    customer_ids: npt.NDArray[Any]
    item_ids: npt.NDArray[np.str_]
    customer: IntArray
    order: IntArray
    item: IntArray
    day: FloatArray
    n_orders: int

    @property
    def last_day(self) -> float:
        return float(self.day.max())


def _encode_sorted(column: pa.ChunkedArray) -> tuple[npt.NDArray[Any], IntArray]:
    """Return the sorted distinct values of ``column`` and each row's index into them."""
    distinct = pc.unique(column)
    distinct = distinct.take(pc.sort_indices(distinct))
    codes = pc.index_in(column, value_set=distinct)
    values = distinct.to_numpy(zero_copy_only=False)
    if pa.types.is_string(distinct.type) or pa.types.is_large_string(distinct.type):
        values = values.astype(np.str_)
    return values, np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64)


def _as_string(table: pa.Table, name: str) -> pa.ChunkedArray:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_integer(column.type):
        return column.cast(pa.string())
    raise InvalidDataError(
        f"Column {name} must hold text or whole numbers, not {column.type}.",
        code="analytics.bad_type",
        details={"column": name},
    )


def _customer_column(table: pa.Table) -> pa.ChunkedArray:
    column = table.column("customer_id")
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    if pa.types.is_floating(column.type):
        # Spreadsheet exports give whole-number ids as floats (13085.0): keep them whole.
        values = column.to_numpy(zero_copy_only=False)
        finite = values[np.isfinite(values)]
        if np.all(finite == np.round(finite)):
            return column.cast(pa.int64(), safe=False)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    raise InvalidDataError(
        f"Column customer_id must hold text or whole numbers, not {column.type}.",
        code="analytics.bad_type",
        details={"column": "customer_id"},
    )


def timestamp_days(column: pa.ChunkedArray | pa.Array, *, name: str = "timestamp") -> FloatArray:
    """Return a timestamp or date column as float days since 1970-01-01 UTC.

    Naive timestamps are taken as UTC; text is parsed as ISO 8601.
    """
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            column = pc.cast(column, pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidDataError(
                f"Column {name} holds text that is not a date or time (expected ISO 8601, "
                f"e.g. 2010-12-01 08:26:00): {exc}",
                code="analytics.bad_timestamp",
                details={"column": name},
            ) from exc
        kind = column.type
    if pa.types.is_date(kind):
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
        return np.asarray(days, dtype=np.float64)
    if pa.types.is_timestamp(kind):
        micros = pc.cast(pc.cast(column, pa.timestamp("us", tz=kind.tz)), pa.int64())
        values = np.asarray(micros.to_numpy(zero_copy_only=False), dtype=np.float64)
        return values / (SECONDS_PER_DAY * 1e6)
    raise InvalidDataError(
        f"Column {name} must be a timestamp or a date, not {kind}.",
        code="analytics.bad_type",
        details={"column": name},
    )


def encode_lines(data: Any) -> EncodedLines:
    """Validate order lines and encode them (see :class:`EncodedLines`).

    Lines with a ``quantity`` of zero or less (returns, cancellations) are left out.

    Raises
    ------
    InvalidDataError
        A column is missing or of the wrong type, a required value is empty, or no line is left.
    """
    table = to_arrow(data)
    require_columns(table, LINE_COLUMNS, what="The order lines")
    for name in LINE_COLUMNS:
        nulls = table.column(name).null_count
        if nulls:
            raise InvalidDataError(
                f"Column {name} has {nulls} empty value(s); every order line needs a customer, "
                "an order, an item and a time.",
                code="analytics.null_value",
                details={"column": name, "n_empty": nulls},
            )
    if "quantity" in table.column_names and table.num_rows:
        quantity = table.column("quantity")
        if not (pa.types.is_integer(quantity.type) or pa.types.is_floating(quantity.type)):
            raise InvalidDataError(
                f"Column quantity must be a number, not {quantity.type}.",
                code="analytics.bad_type",
                details={"column": "quantity"},
            )
        table = table.filter(pc.fill_null(pc.greater(quantity, 0), False))
    if table.num_rows == 0:
        raise InvalidDataError(
            "There are no order lines (with a positive quantity) to learn from: the catalogue "
            "of purchases is empty.",
            code="analytics.empty",
        )
    customer_ids, customer = _encode_sorted(_customer_column(table))
    item_ids, item = _encode_sorted(_as_string(table, "item_id"))
    _, order = _encode_sorted(_as_string(table, "order_id"))
    day = timestamp_days(table.column("timestamp"))
    if not np.all(np.isfinite(day)):
        raise InvalidDataError(
            "Column timestamp has invalid times.", code="analytics.bad_timestamp"
        )
    # One row per (order, item); an order's time is its earliest line's.
    n_items = len(item_ids)
    key = order * n_items + item
    ordering = np.lexsort((day, key))
    key = key[ordering]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    rows = ordering[first]
    rows = rows[np.lexsort((item[rows], day[rows], customer[rows]))]
    return EncodedLines(
        customer_ids=customer_ids,
        item_ids=np.asarray(item_ids, dtype=np.str_),
        customer=customer[rows],
        order=order[rows],
        item=item[rows],
        day=day[rows],
        n_orders=int(order.max()) + 1,
    )


def day_of(value: dt.datetime | dt.date | None, default: float) -> float:
    """Return ``value`` as float days since 1970-01-01 UTC (naive times are UTC)."""
    if value is None:
        return default
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp() / SECONDS_PER_DAY
    return float((value - dt.date(1970, 1, 1)).days)


def date_of(day: float) -> dt.date:
    """Return the UTC calendar date of float days since 1970-01-01."""
    return _date_of_day(math.floor(day))


@functools.lru_cache(maxsize=4096)
def _date_of_day(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)
