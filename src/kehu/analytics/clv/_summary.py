"""From transactions to the RFM summary the CLV models need.

:func:`summary_expr` is the summary as an Ibis expression: it runs on any Ibis backend (PySpark
at scale, ``kehu.batch``) and on DuckDB over Arrow (``engine="duckdb"``). A table in memory is
summarised by default with numpy (``_summary_local``): the same definitions and results,
several times faster, without importing Ibis or DuckDB; tests hold the two paths equal.
"""

import contextlib
import datetime as dt
import os
import queue
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kehu.analytics._base import InvalidDataError, Options, require_columns, to_arrow
from kehu.analytics.clv._summary_local import (
    LocalSummary,
    OutOfOrderError,
    summarize_local,
    summarize_sorted_batches,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

SUMMARY_COLUMNS = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "n_monetary",
    "first_purchase",
    "last_purchase",
)
HOLDOUT_COLUMNS = ("frequency_holdout", "monetary_value_holdout", "duration_holdout")
_RAW_VIEW = "kehu_transactions"
_ENGINES = Options(frozenset({"numpy", "duckdb"}))
#: Transactions per chunk of customers summarised at once (see :func:`_customer_chunks`).
_ROWS_PER_CHUNK = 500_000
_MAX_CHUNKS = 16


def _as_date(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidDataError(
            f"{name} must be a date like 1997-09-30, got {value!r}.", code="analytics.bad_date"
        ) from exc


def summary_expr(
    transactions: "ir.Table",
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None = None,
    unit_days: float = 7.0,
) -> "ir.Table":
    """Build the summary as an Ibis expression over a table of transactions.

    Customer ids come back as text. See :func:`summarize_transactions` for the definitions.

    Parameters
    ----------
    transactions
        Ibis table with ``customer_id``, ``day`` (date) and ``amount``; rows already filtered
        to ``day <= (holdout_end or calibration_end)`` and without nulls.
    calibration_end
        Last day (inclusive) of the calibration period.
    holdout_end
        Last day (inclusive) of the holdout period, or ``None``.
    unit_days
        Days per time unit (7: the papers' weeks).

    Returns
    -------
    ibis.expr.types.Table
        One row per customer whose first purchase is on or before ``calibration_end``.
    """
    summary = _summary_expr(
        transactions,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit_days=unit_days,
    )
    return summary.mutate(customer_id=summary.customer_id.cast("string"))


def _summary_expr(
    transactions: "ir.Table",
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None,
    unit_days: float,
) -> "ir.Table":
    """:func:`summary_expr` with the customer ids as they come (integers stay integers)."""
    import ibis  # Ibis costs half a second to import: only this path needs it

    t = transactions
    # One purchase occasion per customer and day: the net amount that day, and whether the day
    # had at least one order (a row with amount >= 0) rather than returns only.
    daily = t.group_by(["customer_id", "day"]).aggregate(
        net=t.amount.sum(), n_orders=t.count(where=t.amount >= 0)
    )
    occasions = daily.filter(daily.n_orders > 0)
    cal_end = ibis.date(calibration_end)
    cal = occasions.filter(occasions.day <= cal_end)
    # One pass per customer (no join back onto the days): the first day's net comes from
    # arg_min over the days, and the repeat days' spend is the positive days' spend less it.
    paid = cal.net > 0
    per = cal.group_by("customer_id").aggregate(
        first_purchase=cal.day.min(),
        last_purchase=cal.day.max(),
        n_days=cal.count(),
        paid_spend=cal.net.sum(where=paid),
        n_paid=cal.count(where=paid),
        first_net=cal.net.argmin(cal.day),
    )
    first_paid = per.first_net > 0
    spend = per.paid_spend.fill_null(0.0) - first_paid.ifelse(per.first_net, 0.0)
    n_monetary = per.n_paid - first_paid.cast("int64")
    unit = ibis.literal(float(unit_days))
    summary = per.select(
        customer_id=per.customer_id,
        frequency=(per.n_days - 1).cast("int64"),
        recency=per.last_purchase.delta(per.first_purchase, unit="day").cast("float64") / unit,
        T=cal_end.delta(per.first_purchase, unit="day").cast("float64") / unit,
        monetary_value=(n_monetary > 0).ifelse(spend / n_monetary.cast("float64"), 0.0),
        n_monetary=n_monetary.cast("int64"),
        first_purchase=per.first_purchase,
        last_purchase=per.last_purchase,
    )
    if holdout_end is None:
        return summary
    hold = occasions.filter((occasions.day > cal_end) & (occasions.day <= ibis.date(holdout_end)))
    hold_paid = hold.net > 0
    hold_stats = hold.group_by("customer_id").aggregate(
        frequency_holdout=hold.count(),
        hold_spend=hold.net.sum(where=hold_paid),
        hold_paid_days=hold.count(where=hold_paid),
    )
    joined = summary.left_join(hold_stats, "customer_id")
    duration = float((holdout_end - calibration_end).days) / unit_days
    return joined.select(
        joined.customer_id,
        *[joined[name] for name in SUMMARY_COLUMNS[1:]],
        frequency_holdout=joined.frequency_holdout.fill_null(0).cast("int64"),
        monetary_value_holdout=(joined.hold_paid_days.fill_null(0) > 0).ifelse(
            joined.hold_spend / joined.hold_paid_days.cast("float64"), 0.0
        ),
        duration_holdout=ibis.literal(duration),
    )


def summarize_transactions(
    transactions: Any,
    *,
    calibration_end: dt.date | str,
    holdout_end: dt.date | str | None = None,
    unit_days: float = 7.0,
    engine: Literal["numpy", "duckdb"] = "numpy",
) -> pa.Table:
    """Compute the per-customer RFM summary (and holdout counts) from raw transactions.

    By default computed in process with numpy on the rows sorted by customer and day (a
    check when they come sorted, one sort otherwise): the fast path for a table in memory.
    ``engine="duckdb"`` runs :func:`summary_expr`, the Ibis expression that runs on any Ibis
    backend (PySpark at scale), in DuckDB over Arrow; both give the same summary (sums may
    differ in the last bit). Definitions follow Fader, Hardie & Lee (2005) and the
    ``lifetimes`` package:

    - **Purchases on the same day are one transaction.** The models describe purchase
      *occasions*; an order split over several invoices or lines on one day is one occasion,
      and the papers' CDNOW data and lifetimes count days. Naive timestamps are cut to their
      calendar date as stored, time-zone-aware ones to their UTC date (convert to the
      business's local time first where the day boundary matters).
    - ``frequency``: repeat purchase days (all purchase days minus the first) up to and
      including ``calibration_end``; ``recency``: time from the first to the last purchase day;
      ``T``: time from the first purchase day to ``calibration_end``; all in units of
      ``unit_days`` days (default 7: the papers' fractional weeks).
    - ``monetary_value``: like lifetimes, the mean of the repeat days' amounts (the first
      purchase is left out); 0 when there is none.
    - **Returns and negative amounts**: amounts are netted per customer and day. A day with
      only negative rows (returns, refunds) is not a purchase occasion. A day whose net is
      ``<= 0`` still counts as an occasion but is left out of ``monetary_value``, whose
      denominator ``n_monetary`` counts the days that do contribute (Gamma-Gamma uses it).
      Zero-amount orders (free items) are occasions with no spend.
    - **Future-dated rows** (after ``holdout_end``, or after ``calibration_end`` without a
      holdout) are excluded and counted in the table's metadata; so are rows with an empty
      customer id, date or amount.
    - Customers whose first purchase falls after ``calibration_end`` are not in the summary
      (they were not customers during calibration); they are counted in the metadata.

    Parameters
    ----------
    transactions
        Table (pyarrow, DataFrame or mapping) with ``customer_id``, ``date`` or ``timestamp``,
        and ``amount``; or the path of a CSV (header line) or Parquet file with those columns.
        A CSV file whose ids are all integers and whose rows come sorted by customer and day
        (as the exports ordered by customer do) is summarised as it is read, in blocks,
        without holding the transactions: in about the memory of the summary. Such ids are
        read as integers (an id ``007`` is customer ``7``); other files are read whole first.
    calibration_end
        Last day of the calibration period (inclusive), a date or ISO string.
    holdout_end
        Last day of the holdout period (inclusive); adds ``frequency_holdout``,
        ``monetary_value_holdout`` and ``duration_holdout``.
    unit_days
        Days per time unit.
    engine
        ``"numpy"`` (default, fastest in process) or ``"duckdb"`` (the Ibis expression).

    Returns
    -------
    pyarrow.Table
        One row per customer, sorted by ``customer_id`` (numerically when the ids are
        integers; handed back as text either way). Schema metadata (bytes keys
        ``kehu.n_rows``, ``kehu.n_future_rows``, ``kehu.n_incomplete_rows``,
        ``kehu.n_new_in_holdout``) tells what was left out; read it with :func:`summary_info`.

    Raises
    ------
    InvalidDataError
        Missing columns, an empty table, no purchase on or before ``calibration_end``, a
        holdout end not after the calibration end, a non-positive ``unit_days`` or an
        unknown ``engine``.

    Examples
    --------
    >>> import pyarrow as pa, datetime as dt
    >>> tx = pa.table({"customer_id": ["a", "a", "a", "b"],
    ...                "date": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 15),
    ...                         dt.date(2024, 1, 8)],
    ...                "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> s = summarize_transactions(tx, calibration_end="2024-01-29")
    >>> s.select(["customer_id", "frequency", "recency", "T", "monetary_value"]).to_pylist()[0]
    {'customer_id': 'a', 'frequency': 1, 'recency': 2.0, 'T': 4.0, 'monetary_value': 20.0}
    """
    cal_end = _as_date(calibration_end, "calibration_end")
    hold_end = None if holdout_end is None else _as_date(holdout_end, "holdout_end")
    if hold_end is not None and hold_end <= cal_end:
        raise InvalidDataError(
            f"holdout_end ({hold_end}) must be after calibration_end ({cal_end}).",
            code="analytics.bad_date",
        )
    if not unit_days > 0:
        raise InvalidDataError("unit_days must be > 0.", code="analytics.bad_unit")
    if not _ENGINES.accepts(engine):
        raise InvalidDataError(
            f"engine must be {_ENGINES}, got {engine!r}.", code="analytics.bad_engine"
        )
    if isinstance(transactions, str | os.PathLike):
        local = _summarize_file(
            Path(transactions),
            calibration_end=cal_end,
            holdout_end=hold_end,
            unit_days=unit_days,
            engine=engine,
        )
        return _finish(local, cal_end, unit_days)
    local = _summarize_table(
        to_arrow(transactions),
        calibration_end=cal_end,
        holdout_end=hold_end,
        unit_days=unit_days,
        engine=engine,
    )
    return _finish(local, cal_end, unit_days)


def _summarize_table(
    table: pa.Table,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None,
    unit_days: float,
    engine: str,
) -> LocalSummary:
    time_column = "date" if "date" in table.column_names else "timestamp"
    require_columns(table, ("customer_id", time_column, "amount"), what="The transactions")
    if table.num_rows == 0:
        raise InvalidDataError(
            "The transactions table is empty: there is nothing to summarise.",
            code="analytics.empty",
        )
    table = _normalise(table, time_column)
    if engine == "numpy":
        return summarize_local(
            table, calibration_end=calibration_end, holdout_end=holdout_end, unit_days=unit_days
        )
    return _summarize_duckdb(
        table, calibration_end=calibration_end, holdout_end=holdout_end, unit_days=unit_days
    )


#: Block size of the streamed CSV reader: large enough that the per-block Python work is
#: negligible, small enough that the blocks in flight cost little memory. Measured at a
#: million customers (load ~16, five runs each, best): 256 kB 0.88 CPU s / 242 MB peak,
#: 512 kB 0.74 s / 237 MB, 1 MB 0.80 s / 253 MB, 4 MB ~1.0 s / 300 MB.
_CSV_BLOCK_BYTES = 1 << 19
_T = TypeVar("_T")


def _summarize_file(
    path: Path,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None,
    unit_days: float,
    engine: str,
) -> LocalSummary:
    """Summarise a CSV file as it is read when it can be (integer ids, sorted rows)."""
    if not path.is_file():
        raise InvalidDataError(f"No such file: {path}.", code="analytics.no_file")
    options: dict[str, Any] = {
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
        "unit_days": unit_days,
        "engine": engine,
    }
    if engine == "numpy" and path.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        convert = pacsv.ConvertOptions(
            column_types={"customer_id": pa.int64(), "date": pa.date32(), "amount": pa.float64()}
        )
        read = pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES)
        try:
            # The blocks in malloc's memory rather than Arrow's mimalloc pool, which hands
            # freed pages back to the kernel within milliseconds: every block then cost fresh
            # page faults (1M customers, load ~16, three pairs: 50k instead of 60k minor
            # faults, 2.06-2.21 instead of 2.28-2.36 CPU s end to end, same peak memory).
            reader = pacsv.open_csv(
                path,
                read_options=read,
                convert_options=convert,
                memory_pool=pa.system_memory_pool(),
            )
            schema = reader.schema
            if {"customer_id", "date", "amount"} <= set(schema.names) and pa.types.is_integer(
                schema.field("customer_id").type
            ):
                with contextlib.closing(_read_ahead(reader)) as batches:
                    return summarize_sorted_batches(
                        (_normalise_batch(batch) for batch in batches),
                        calibration_end=calibration_end,
                        holdout_end=holdout_end,
                        unit_days=unit_days,
                    )
        except (pa.ArrowInvalid, OutOfOrderError):
            # Ids that are not integers, values that do not parse as the types above, or rows
            # out of order: read the whole file, as below, then sort.
            pass
        else:
            reader.close()
        pa.default_memory_pool().release_unused()
        try:
            table = pacsv.read_csv(path, convert_options=convert)
        except pa.ArrowInvalid:
            table = None
        if table is not None and pa.types.is_integer(table.schema.field("customer_id").type):
            return _summarize_table(table, **options)
        del table
        # Text ids; an empty cell is a missing id (left out and counted), not customer "".
        text = pacsv.ConvertOptions(
            column_types={"customer_id": pa.string()}, strings_can_be_null=True
        )
        try:
            table = pacsv.read_csv(path, convert_options=text)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidDataError(
                f"Could not read {path.name}: {exc}", code="analytics.bad_format"
            ) from exc
        return _summarize_table(table, **options)
    from kehu.analytics.datasets import read_transactions

    return _summarize_table(read_transactions(path), **options)


class _Failed:
    """What the reading thread raised, handed to the thread that consumes the batches."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _read_ahead(batches: Iterator[_T], depth: int = 2) -> Generator[_T]:
    """Yield *batches*, the next ones read on a thread meanwhile.

    Parsing a CSV block (pyarrow, without the GIL) then overlaps summing the previous one
    (numpy), so a second core shortens the read-and-summarise stage instead of idling. At most
    *depth* blocks wait; an error of the reader is raised here, where the batch would have
    come; closing this generator (``contextlib.closing``) stops and joins the thread.
    """
    waiting: queue.Queue[_T | _Failed | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: _T | _Failed | None) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
        except Exception as exc:  # raised again in the consuming thread
            offer(_Failed(exc))
            return
        offer(None)

    thread = threading.Thread(target=read, name="kehu-csv-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := waiting.get()) is not None:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def _normalise_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Rename a streamed batch of (customer_id, date, amount) to the summary's columns."""
    return pa.RecordBatch.from_arrays(
        [batch.column("customer_id"), batch.column("date"), batch.column("amount")],
        names=["customer_id", "day", "amount"],
    )


def _finish(local: LocalSummary, cal_end: dt.date, unit_days: float) -> pa.Table:
    result = local.table
    if local.n_rows == 0:
        raise InvalidDataError(
            "The transactions table is empty: there is nothing to summarise.",
            code="analytics.empty",
        )
    if result.num_rows == 0:
        raise InvalidDataError(
            f"No customer made a purchase on or before the calibration end {cal_end}; choose a "
            "later calibration end.",
            code="analytics.empty",
        )
    metadata = {
        b"kehu.n_rows": str(local.n_rows).encode(),
        b"kehu.n_incomplete_rows": str(local.n_rows - local.n_complete).encode(),
        b"kehu.n_future_rows": str(local.n_future).encode(),
        b"kehu.n_new_in_holdout": str(local.n_new_in_holdout).encode(),
        b"kehu.calibration_end": cal_end.isoformat().encode(),
        b"kehu.unit_days": repr(float(unit_days)).encode(),
    }
    return result.replace_schema_metadata(metadata)


def _summarize_duckdb(
    table: pa.Table, *, calibration_end: dt.date, holdout_end: dt.date | None, unit_days: float
) -> LocalSummary:
    """Run :func:`summary_expr` in DuckDB over a normalised table of transactions."""
    import ibis  # Ibis and DuckDB cost about a second to import: only this path needs them

    cal_end, hold_end = calibration_end, holdout_end
    observation_end = hold_end or cal_end
    con = ibis.duckdb.connect()
    try:
        # The Arrow table is registered as a view (no copy into DuckDB) on the connection
        # itself: ``ibis.memtable`` would do the same but first imports pyarrow.dataset
        # (about a second) to recognise the table's type.
        con.con.register(_RAW_VIEW, table)
        raw = con.table(_RAW_VIEW)
        complete = raw.filter(raw.customer_id.notnull() & raw.day.notnull() & raw.amount.notnull())
        in_window = complete.filter(complete.day <= ibis.date(observation_end))
        counts = con.to_pyarrow(
            raw.aggregate(
                n_rows=raw.count(),
                n_complete=(raw.customer_id.notnull() & raw.day.notnull() & raw.amount.notnull())
                .cast("int64")
                .sum(),
                n_future=(raw.day > ibis.date(observation_end)).cast("int64").sum(),
            )
        ).to_pylist()[0]
        integer_ids = pa.types.is_integer(table.schema.field("customer_id").type)
        parts = []
        for number, chunk in enumerate(_customer_chunks(table, integer_ids)):
            if chunk is table:
                rows = in_window
            else:
                name = f"{_RAW_VIEW}_{number}"
                con.con.register(name, chunk)
                part = con.table(name)
                rows = part.filter(
                    part.customer_id.notnull()
                    & part.day.notnull()
                    & part.amount.notnull()
                    & (part.day <= ibis.date(observation_end))
                )
            # Sorted on the ids as they come (integers sort far faster than their text);
            # handed back as text below.
            expr = _summary_expr(
                rows, calibration_end=cal_end, holdout_end=hold_end, unit_days=unit_days
            ).order_by("customer_id")
            parts.append(con.to_pyarrow(expr))
            if chunk is not table:
                con.con.unregister(name)
            del chunk
        result = pa.concat_tables(parts)
        if not integer_ids and len(parts) > 1:
            result = result.sort_by("customer_id")
        del parts
        n_new = 0
        if hold_end is not None:
            after = in_window.filter(in_window.day > ibis.date(cal_end))
            before = in_window.filter(in_window.day <= ibis.date(cal_end))
            n_new = int(
                con.to_pyarrow(
                    after.anti_join(before, "customer_id")
                    .customer_id.nunique()
                    .name("n")
                    .as_table()
                )
                .column(0)[0]
                .as_py()
            )
    finally:
        con.disconnect()
    result = result.set_column(0, "customer_id", pc.cast(result.column("customer_id"), pa.string()))
    return LocalSummary(
        table=result,
        n_rows=int(counts["n_rows"]),
        n_complete=int(counts["n_complete"] or 0),
        n_future=int(counts["n_future"] or 0),
        n_new_in_holdout=n_new,
    )


def _customer_chunks(table: pa.Table, integer_ids: bool) -> Iterator[pa.Table]:
    """Split the transactions into groups of whole customers of about ``_ROWS_PER_CHUNK`` rows.

    The summary aggregates twice (per customer and day, then per customer); DuckDB's hash
    tables for tens of millions of (customer, day) groups outgrow the CPU caches and take
    gigabytes. Summarised chunk by chunk, each table stays small: at a million customers this
    cuts the summary's CPU time by a third and its memory by half; at ten million it is what
    keeps it within a few GB. The chunks are cut here, with Arrow, once per chunk (a filter in
    DuckDB would convert the whole Arrow table at every chunk), and at most
    ``_MAX_CHUNKS`` of them. Integer ids are cut into ranges (so the chunks, each sorted,
    come out in order); text ids by their dictionary code. Rows with no id go nowhere: the
    summary leaves them out anyway (they are counted before).
    """
    n_chunks = min(_MAX_CHUNKS, -(-table.num_rows // _ROWS_PER_CHUNK))
    ids = table.column("customer_id")
    if n_chunks <= 1 or ids.null_count == len(ids):
        yield table
        return
    if integer_ids:
        extremes = pc.min_max(ids).as_py()
        low, high = int(extremes["min"]), int(extremes["max"])
        width = -(-(high - low + 1) // n_chunks)
        for start in range(low, high + 1, width):
            # Bounds stay within [low, high], so within the ids' integer type.
            in_chunk = pc.greater_equal(ids, pa.scalar(start, ids.type))
            if high - start >= width:
                in_chunk = pc.and_(in_chunk, pc.less(ids, pa.scalar(start + width, ids.type)))
            yield table.filter(in_chunk)
        return
    codes = pc.dictionary_encode(ids.combine_chunks()).indices
    group = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False)) % n_chunks
    group[np.asarray(codes.is_null().to_numpy(zero_copy_only=False))] = -1
    for k in range(n_chunks):
        yield table.filter(pa.array(group == k))


def summary_info(summary: pa.Table) -> dict[str, str]:
    """Return what :func:`summarize_transactions` left out, from the summary's metadata."""
    metadata = summary.schema.metadata or {}
    return {
        key.decode().removeprefix("kehu."): value.decode()
        for key, value in metadata.items()
        if key.startswith(b"kehu.")
    }


def _normalise(table: pa.Table, time_column: str) -> pa.Table:
    """Keep customer_id (string), day (date32), amount (float64)."""
    column = table.column(time_column)
    kind = column.type
    try:
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            column = pc.cast(column, pa.timestamp("us"))
        if pa.types.is_timestamp(column.type):
            if column.type.tz is not None:
                column = pc.cast(column, pa.timestamp(column.type.unit, tz="UTC"))
                column = pc.local_timestamp(column)
            column = pc.cast(column, pa.date32())
        elif pa.types.is_date(column.type):
            column = pc.cast(column, pa.date32())
        else:
            raise TypeError(str(kind))
        amount = pc.cast(table.column("amount"), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as exc:
        raise InvalidDataError(
            f"Could not read {time_column} as dates or amount as numbers: {exc}",
            code="analytics.bad_type",
        ) from exc
    customer = table.column("customer_id")
    # Integer ids stay integers until the summary (grouping on them is cheaper); the summary
    # hands every id back as text.
    kind = customer.type
    if not (pa.types.is_string(kind) or pa.types.is_integer(kind)):
        customer = pc.cast(customer, pa.string())
    return pa.table({"customer_id": customer, "day": column, "amount": amount})
