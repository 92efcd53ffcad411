"""The RFM summary computed in process with numpy: the fast path for Arrow tables in memory.

It gives what :func:`kehu.analytics.clv._summary.summary_expr` gives on DuckDB (the portable
Ibis path, kept for Spark), computed on the transactions sorted by customer and day: a check
that costs one pass when the rows already come in that order (as exports and the store's
order lines usually do), one ``argsort`` otherwise. Every aggregate is then a ``reduceat``
over runs of equal keys: no hash tables, no query compilation, no DuckDB or Ibis import.
Sums over the same rows may differ from DuckDB's in the last bit (the order of additions);
everything else is identical (tests check both).
"""

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from kehu.analytics._base import _NUMPY_TYPES, arrow_values, numpy_values

#: Sorted rows are summarised in slices of about this many rows, cut between customers, so
#: that the per-slice work arrays stay small next to the input (ten million customers).
#: Measured at a million customers (benchmarks/clv_end_to_end.md): with 500k-row slices
#: (4 MB work arrays) two thirds of the summary's time was kernel (system) time, 0.27-0.32
#: of 0.44 s, spent on fresh memory for the work arrays; with 100k rows it was 0.05-0.17 s,
#: the summary 0.2-0.4 s instead of 0.3-0.5 s and peak memory ~20 MB lower. With 25k rows
#: (200 kB work arrays) the first summary in a process (the benchmark's case) took ~9k minor
#: page faults instead of ~49k, a mean of 0.05 s of system time instead of 0.18 (five runs
#: each, load ~10), the same user time and peak memory. The Python overhead per slice (~40 numpy
#: calls) stays small.
_ROWS_PER_SLICE = 25_000
#: Streamed summaries write their customers into blocks of this many (a million customers
#: fit in one, which is then handed over without a copy). Writing every slice's results into
#: a few large arrays, instead of keeping each slice's own small ones, keeps the heap free of
#: long-lived small blocks between the slices' temporaries: measured at a million customers,
#: that fragmentation held ~60 MB of freed memory.
_CUSTOMERS_PER_BLOCK = 1 << 20
_EPOCH = dt.date(1970, 1, 1)
_NUMPY_INTEGERS = {k: v for k, v in _NUMPY_TYPES.items() if pa.types.is_integer(k)}
_OUTPUT_DTYPES = {
    "frequency": np.int64,
    "recency": np.float64,
    "T": np.float64,
    "monetary_value": np.float64,
    "n_monetary": np.int64,
    "first": np.int32,
    "last": np.int32,
}


@dataclass(frozen=True)
class LocalSummary:
    """The summary's columns and the counts of what was left out."""

    table: pa.Table
    n_rows: int
    n_complete: int
    n_future: int
    n_new_in_holdout: int


def _day_number(day: dt.date) -> int:
    return (day - _EPOCH).days


Columns = tuple[npt.NDArray[Any], npt.NDArray[np.int32], npt.NDArray[np.float64]]


@dataclass
class _Scan:
    """The rows in the window, as (customer, day, amount) pieces, and what was left out."""

    pieces: list[Columns]
    is_sorted: bool
    n_complete: int
    n_future: int


def _values(array: pa.Array, fill: Any) -> npt.NDArray[Any]:
    """Return an Arrow array's values as numpy (in place without nulls; dates as integers)."""
    if array.null_count:
        array = pc.fill_null(array, fill)
    return numpy_values(array)


def _flags(array: pa.Array) -> npt.NDArray[np.bool_]:
    """Return a boolean Arrow array without nulls as numpy."""
    return numpy_values(pc.cast(array, pa.uint8())).astype(bool)


def _text_codes(ids: pa.ChunkedArray) -> tuple[npt.NDArray[np.int32], pa.Array]:
    """Text ids as int32 codes whose order is the ids' (binary) order, and the sorted ids."""
    encoded = pc.dictionary_encode(ids.combine_chunks())
    dictionary = encoded.dictionary
    order = numpy_values(pc.array_sort_indices(dictionary)).astype(np.int64, copy=False)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes = _values(encoded.indices, 0).astype(np.int32, copy=False)
    return (rank[codes] if len(rank) else codes), dictionary.take(arrow_values(order))


def _batch_rows(
    batch: pa.RecordBatch, cust: npt.NDArray[Any] | None, observation_end: int
) -> tuple[Columns | None, int, int]:
    """One batch's complete rows in the window as numpy (in place where possible).

    Returns the rows (``None`` when none is left), the number of complete rows and the number
    of complete rows after the window.
    """
    ids, days, amounts = (batch.column(name) for name in ("customer_id", "day", "amount"))
    size = batch.num_rows
    if cust is None:
        cust = _values(ids, 0)
    day = _values(days, 0).astype(np.int32, copy=False)
    amount = _values(amounts, 0.0).astype(np.float64, copy=False)
    future = day > observation_end
    keep = None
    if ids.null_count or days.null_count or amounts.null_count:
        complete = np.asarray(
            pc.and_(pc.and_(pc.is_valid(ids), pc.is_valid(days)), pc.is_valid(amounts))
        ).astype(bool)
        future &= _flags(pc.is_valid(days))
        keep = complete & ~future
        n_complete = int(np.count_nonzero(complete))
    else:
        n_complete = size
    n_future = int(np.count_nonzero(future))
    if n_future and keep is None:
        keep = ~future
    del future
    if keep is not None:
        cust, day, amount = cust[keep], day[keep], amount[keep]
    if len(cust) == 0:
        return None, n_complete, n_future
    return (cust, day, amount), n_complete, n_future


def _scan(table: pa.Table, codes: npt.NDArray[np.int32] | None, observation_end: int) -> _Scan:
    """Read the table batch by batch, in place where possible, keeping complete rows in window.

    Also checks, on the way, whether the rows come sorted by customer and day.
    """
    pieces: list[Columns] = []
    is_sorted = True
    n_complete = n_future = offset = 0
    previous: tuple[Any, Any] | None = None
    for batch in table.to_batches():
        size = batch.num_rows
        cust = codes[offset : offset + size] if codes is not None else None
        offset += size
        piece, complete, future = _batch_rows(batch, cust, observation_end)
        n_complete += complete
        n_future += future
        if piece is None:
            continue
        if is_sorted:
            is_sorted = _follows(piece, previous)
        previous = (piece[0][-1], piece[1][-1])
        pieces.append(piece)
    return _Scan(pieces, is_sorted, n_complete, n_future)


def _follows(piece: Columns, previous: tuple[Any, Any] | None) -> bool:
    """Whether a piece's rows are sorted by (customer, day) and come after ``previous``."""
    cust, day, _ = piece
    return _is_sorted(cust, day) and (previous is None or (cust[0], day[0]) >= previous)


def _is_sorted(cust: npt.NDArray[Any], day: npt.NDArray[np.int32]) -> bool:
    if len(cust) < 2:
        return True
    later = cust[1:] > cust[:-1]
    same = cust[1:] == cust[:-1]
    if not np.all(later | same):
        return False
    same &= day[1:] < day[:-1]
    return not bool(same.any())


def _sorted_slices(pieces: Iterable[Columns]) -> Iterator[Columns]:
    """Group sorted pieces into slices of about ``_ROWS_PER_SLICE`` rows of whole customers.

    The slices' work arrays are then the same few sizes over and over: the allocator reuses
    their memory instead of the kernel handing out (and zeroing) fresh pages every time.
    """
    buffer: list[Columns] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece[0])
        if size < _ROWS_PER_SLICE:
            continue
        cust, day, amount = _concatenate(buffer)
        # Hold back the last customer, whose rows may go on in the next piece.
        cut = int(np.searchsorted(cust, cust[-1], side="left"))
        if cut == 0:
            buffer = [(cust, day, amount)]
            continue
        yield cust[:cut], day[:cut], amount[:cut]
        buffer = [(cust[cut:], day[cut:], amount[cut:])]
        size = len(cust) - cut
    if size:
        yield _concatenate(buffer)


def _concatenate(pieces: list[Columns]) -> Columns:
    if len(pieces) == 1:
        return pieces[0]
    cust, day, amount = (np.concatenate([piece[k] for piece in pieces]) for k in range(3))
    return cust, day, amount


def _sorted_rows(pieces: list[Columns], cust_dtype: Any) -> Iterator[Columns]:
    """Sort the rows by (customer, day) and cut them into slices of whole customers.

    Customer and day are packed into one int64 key (offsets from their smallest values):
    one ``argsort`` of the key and one gather of the amounts, the slices' customers and days
    read back from the sorted key, one slice at a time. Empties ``pieces`` on the way (their
    memory goes).
    """
    low_c = min(int(piece[0].min()) for piece in pieces)
    high_c = max(int(piece[0].max()) for piece in pieces)
    low_d = min(int(piece[1].min()) for piece in pieces)
    high_d = max(int(piece[1].max()) for piece in pieces)
    span = high_d - low_d + 1
    if (high_c - low_c + 1) * span >= 2**62:  # pragma: no cover - ids spread over > 2^50
        cust, day, amount = _concatenate(pieces)
        pieces.clear()
        order = np.lexsort((day, cust))
        cust, day, amount = cust[order], day[order], amount[order]
        for a, b in _slices(cust):
            yield cust[a:b], day[a:b], amount[a:b]
        return
    key = np.empty(sum(len(piece[0]) for piece in pieces), dtype=np.int64)
    position = 0
    for cust, day, _ in pieces:
        part = key[position : position + len(cust)]
        # Offsets from the smallest id in the ids' own type (no overflow), then int64.
        part[:] = cust - cust.dtype.type(low_c)
        part *= span
        part += day
        part -= low_d
        position += len(cust)
    amount = np.concatenate([piece[2] for piece in pieces])
    pieces.clear()
    # Not stable (twice as fast): the order of a day's rows changes its sum in the last bit
    # at most, as it does in DuckDB's parallel sums.
    order = np.argsort(key)
    key = key[order]
    amount = amount[order]
    del order
    first_id = np.dtype(cust_dtype).type(low_c)
    for a, b in _key_slices(key, span):
        # Decoded slice by slice: only one slice's customers and days exist at a time.
        offsets, days = np.divmod(key[a:b], span)
        yield offsets.astype(cust_dtype) + first_id, (days + low_d).astype(np.int32), amount[a:b]


def _key_slices(key: npt.NDArray[np.int64], span: int) -> list[tuple[int, int]]:
    """Cut sorted (customer * span + day) keys into slices of whole customers."""
    n = len(key)
    bounds = [0]
    while n - bounds[-1] > _ROWS_PER_SLICE:
        last = int(key[bounds[-1] + _ROWS_PER_SLICE - 1]) // span
        # The first row of the next customer.
        cut = int(np.searchsorted(key, (last + 1) * span, side="left"))
        if cut >= n:
            break
        bounds.append(cut)
    bounds.append(n)
    return list(itertools.pairwise(bounds))


def _runs(*keys: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Start of every run of equal consecutive keys (rows sorted by them)."""
    n = len(keys[0])
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(keys[0][1:], keys[0][:-1], out=new[1:])
    for key in keys[1:]:
        new[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(new)


def _per_customer(
    cust: npt.NDArray[Any],
    day: npt.NDArray[np.int32],
    amount: npt.NDArray[np.float64],
    *,
    cal_end: int,
    holdout: bool,
    unit: float,
) -> dict[str, npt.NDArray[Any]]:
    """Summarise rows sorted by (customer, day), all in the window, whole customers."""
    # Purchase occasions: one per customer and day, the day's net amount, and whether the day
    # had an order (a row with amount >= 0) rather than returns only.
    starts = _runs(cust, day)
    if len(starts) == len(cust):
        net, has_order = amount, amount >= 0
        o_cust, o_day = cust, day
    else:
        # Few days have more than one row: start from each day's first row and add the others
        # in order (what a sequential sum over the day gives, to the bit).
        net = amount[starts]
        has_order = net >= 0
        more = np.ones(len(cust), dtype=bool)
        more[starts] = False
        extra = np.flatnonzero(more)
        del more
        day_of_extra = np.searchsorted(starts, extra, side="right") - 1
        extra_amount = amount[extra]
        np.add.at(net, day_of_extra, extra_amount)
        has_order[day_of_extra[extra_amount >= 0]] = True
        o_cust, o_day = cust[starts], day[starts]
    out: dict[str, npt.NDArray[Any]] = {}
    if holdout:
        # Customers whose first row in the window (not only their first order) is in the
        # holdout were not customers during calibration.
        first_rows = _runs(cust)
        out["n_new"] = np.array([int(np.count_nonzero(day[first_rows] > cal_end))])
        in_cal = o_day <= cal_end
        keep = has_order & in_cal
        hold = has_order & ~in_cal
        h_cust, h_net = o_cust[hold], net[hold]
        if len(h_cust):
            h_starts = _runs(h_cust)
            h_paid = h_net > 0
            out["h_cust"] = h_cust[h_starts]
            out["h_days"] = np.diff(np.append(h_starts, len(h_cust)))
            out["h_spend"] = np.add.reduceat(np.where(h_paid, h_net, 0.0), h_starts)
            out["h_paid"] = np.add.reduceat(h_paid.astype(np.int64), h_starts)
    else:
        keep = has_order
    if not keep.all():
        o_cust, o_day, net = o_cust[keep], o_day[keep], net[keep]
    if len(o_cust) == 0:
        return out
    c_starts = _runs(o_cust)
    ends = np.append(c_starts[1:], len(o_cust))
    paid = net > 0
    first_net = net[c_starts]
    first_paid = first_net > 0
    n_paid = np.add.reduceat(paid.astype(np.int64), c_starts)
    paid_spend = np.add.reduceat(np.where(paid, net, 0.0), c_starts)
    # The final columns, slice by slice (whole-table temporaries would double the memory).
    first, last = o_day[c_starts], o_day[ends - 1]
    spend = paid_spend - np.where(first_paid, first_net, 0.0)
    n_monetary = n_paid - first_paid.astype(np.int64)
    out["cust"] = o_cust[c_starts]
    out["frequency"] = (ends - c_starts - 1).astype(np.int64, copy=False)
    out["recency"] = (last - first).astype(np.float64) / unit
    out["T"] = (cal_end - first).astype(np.float64) / unit
    with np.errstate(divide="ignore", invalid="ignore"):
        out["monetary_value"] = np.where(n_monetary > 0, spend / n_monetary, 0.0)
    out["n_monetary"] = n_monetary
    out["first"], out["last"] = first, last
    return out


def _slices(cust: npt.NDArray[Any]) -> list[tuple[int, int]]:
    """Cut sorted rows into pieces of about ``_ROWS_PER_SLICE`` rows between customers."""
    n = len(cust)
    bounds = [0]
    while n - bounds[-1] > _ROWS_PER_SLICE:
        cut = bounds[-1] + _ROWS_PER_SLICE
        # Move the cut forward to the first row of the next customer.
        cut = int(np.searchsorted(cust, cust[cut - 1], side="right"))
        if cut >= n:
            break
        bounds.append(cut)
    bounds.append(n)
    return list(itertools.pairwise(bounds))


def summarize_local(
    table: pa.Table,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None,
    unit_days: float,
) -> LocalSummary:
    """Summarise a normalised transactions table (customer_id, day, amount) with numpy.

    Same definitions and output as the DuckDB path of
    :func:`~kehu.analytics.clv.summarize_transactions` (rows sorted by customer id, ids as
    text); the caller checks the arguments and raises on an empty result.
    """
    n_rows = table.num_rows
    # Hand back the pages Arrow's pool keeps from earlier work (reading a CSV leaves tens of
    # MB of freed parse buffers there): numpy's allocator cannot reuse them, so without this
    # the summary's arrays come on top of them (measured: peak ~18 MB lower at 1M customers).
    pa.default_memory_pool().release_unused()
    observation_end = _day_number(holdout_end or calibration_end)
    codes, dictionary = (None, None)
    if not pa.types.is_integer(table.schema.field("customer_id").type):
        codes, dictionary = _text_codes(table.column("customer_id"))
    scan = _scan(table, codes, observation_end)
    id_type = table.schema.field("customer_id").type
    cust_dtype = np.int32 if codes is not None else _NUMPY_INTEGERS[id_type]
    del codes
    n_window = sum(len(piece[0]) for piece in scan.pieces)
    slices: Iterable[Columns]
    if scan.is_sorted:
        slices = _sorted_slices(scan.pieces)
    else:
        slices = _sorted_rows(scan.pieces, cust_dtype)
    n_complete, n_future = scan.n_complete, scan.n_future
    del scan
    return _summarise_slices(
        slices,
        n_window=n_window,
        cust_dtype=cust_dtype,
        dictionary=dictionary,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit_days=unit_days,
        counts=(n_rows, n_complete, n_future),
    )


class OutOfOrderError(Exception):
    """A streamed row came before the row it follows (by customer, then day)."""


@dataclass
class _Counts:
    n_rows: int = 0
    n_complete: int = 0
    n_future: int = 0


def _ordered_pieces(
    batches: Iterable[pa.RecordBatch], observation_end: int, counts: _Counts
) -> Iterator[Columns]:
    """Each batch's rows in the window, checking that they come sorted by customer and day."""
    previous: tuple[Any, Any] | None = None
    for batch in batches:
        counts.n_rows += batch.num_rows
        piece, complete, future = _batch_rows(batch, None, observation_end)
        counts.n_complete += complete
        counts.n_future += future
        if piece is None:
            continue
        if not _follows(piece, previous):
            raise OutOfOrderError
        previous = (piece[0][-1], piece[1][-1])
        yield piece


def summarize_sorted_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None,
    unit_days: float,
) -> LocalSummary:
    """Summarise normalised batches with integer ids as they come, sorted by customer and day.

    Only the slice being summarised and the per-customer results are held, never the whole
    table: a file is summarised in about the memory of its summary. The result is the one
    :func:`summarize_local` gives on the same rows.

    Raises
    ------
    OutOfOrderError
        A row came out of (customer, day) order: the caller summarises the whole table instead
        (which sorts it).
    """
    counts = _Counts()
    observation_end = _day_number(holdout_end or calibration_end)
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        cust_dtype: Any = np.int64
        chained: Iterable[pa.RecordBatch] = ()
    else:
        cust_dtype = _NUMPY_INTEGERS[first.schema.field("customer_id").type]
        chained = itertools.chain((first,), batches)
    slices = _sorted_slices(_ordered_pieces(chained, observation_end, counts))
    summary = _summarise_slices(
        slices,
        n_window=None,
        cust_dtype=cust_dtype,
        dictionary=None,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit_days=unit_days,
        counts=None,
    )
    return LocalSummary(
        table=summary.table,
        n_rows=counts.n_rows,
        n_complete=counts.n_complete,
        n_future=counts.n_future,
        n_new_in_holdout=summary.n_new_in_holdout,
    )


def _summarise_slices(
    slices: Iterable[Columns],
    *,
    n_window: int | None,
    cust_dtype: Any,
    dictionary: pa.Array | None,
    calibration_end: dt.date,
    holdout_end: dt.date | None,
    unit_days: float,
    counts: tuple[int, int, int] | None,
) -> LocalSummary:
    """Summarise slices of whole customers, sorted, into the summary table.

    With ``n_window`` (the number of rows) known, each slice's customers are written into
    arrays sized for the worst case (a customer per row): pages never written are never
    resident, so this costs the customers' memory only, with no copies at the end. Without
    it (a stream), the slices' results are joined at the end, one column at a time.
    """
    cal_end = _day_number(calibration_end)
    unit = float(unit_days)
    holdout = holdout_end is not None

    def block(size: int) -> dict[str, npt.NDArray[Any]]:
        arrays = {name: np.empty(size, dtype=dtype) for name, dtype in _OUTPUT_DTYPES.items()}
        arrays["cust"] = np.empty(size, dtype=cust_dtype)
        return arrays

    # Finished blocks of output and how many customers each holds.
    blocks: list[tuple[dict[str, npt.NDArray[Any]], int]] = []
    outputs = block(n_window if n_window is not None else _CUSTOMERS_PER_BLOCK)
    used = 0
    parts = []
    for rows in slices:
        part = _per_customer(*rows, cal_end=cal_end, holdout=holdout, unit=unit)
        size = len(part.get("cust", ()))
        if size:
            if used + size > len(outputs["cust"]):
                blocks.append((outputs, used))
                outputs, used = block(max(_CUSTOMERS_PER_BLOCK, size)), 0
            for name, values in outputs.items():
                values[used : used + size] = part.pop(name)
            used += size
        parts.append(part)
    blocks.append((outputs, used))
    del slices, outputs

    def joined(name: str, dtype: Any) -> npt.NDArray[Any]:
        if name in blocks[0][0]:
            pieces = [arrays.pop(name)[:size] for arrays, size in blocks]
        else:
            pieces = [part.pop(name) for part in parts if name in part]
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)

    c_cust = joined("cust", cust_dtype)
    if dictionary is None:
        customer_id = pc.cast(arrow_values(c_cust), pa.string())
    else:
        customer_id = dictionary.take(arrow_values(c_cust))
        if not pa.types.is_string(customer_id.type):
            customer_id = pc.cast(customer_id, pa.string())
    # Column by column: each one's pieces go as soon as it is joined.
    columns: dict[str, Any] = {"customer_id": customer_id}
    for name, column, kind in (
        ("frequency", "frequency", None),
        ("recency", "recency", None),
        ("T", "T", None),
        ("monetary_value", "monetary_value", None),
        ("n_monetary", "n_monetary", None),
        ("first_purchase", "first", pa.date32()),
        ("last_purchase", "last", pa.date32()),
    ):
        columns[name] = arrow_values(joined(column, _OUTPUT_DTYPES[column]), kind)
    n_new = 0
    if holdout_end is not None:
        n_new = int(sum(int(part["n_new"][0]) for part in parts if "n_new" in part))
        h_cust = joined("h_cust", cust_dtype)
        position = np.searchsorted(c_cust, h_cust)
        position = np.minimum(position, max(len(c_cust) - 1, 0))
        found = (c_cust[position] == h_cust) if len(c_cust) else np.zeros(0, dtype=bool)
        position = position[found]
        frequency_holdout = np.zeros(len(c_cust), dtype=np.int64)
        frequency_holdout[position] = joined("h_days", np.int64)[found]
        paid_days = joined("h_paid", np.int64)[found]
        hold_spend = joined("h_spend", np.float64)[found]
        monetary_holdout = np.zeros(len(c_cust), dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            monetary_holdout[position] = np.where(paid_days > 0, hold_spend / paid_days, 0.0)
        duration = float((holdout_end - calibration_end).days) / unit
        columns["frequency_holdout"] = arrow_values(frequency_holdout)
        columns["monetary_value_holdout"] = arrow_values(monetary_holdout)
        columns["duration_holdout"] = arrow_values(np.full(len(c_cust), duration))
    n_rows, n_complete, n_future = counts or (0, 0, 0)
    return LocalSummary(
        table=pa.table(columns),
        n_rows=n_rows,
        n_complete=n_complete,
        n_future=n_future,
        n_new_in_holdout=n_new,
    )
