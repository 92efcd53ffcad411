"""Relationship-health signals per customer: a recent window set against the one before it.

Everything is computed in DuckDB over Arrow through Ibis (as :mod:`kehu.analytics.clv._summary`
does), one expression per input table, then the two windows are put side by side.

Definitions (also in :func:`compute_signals`'s docstring):

- Two windows of ``window_days`` days end at ``as_of`` (inclusive): **then** is
  ``(as_of - 2w, as_of - w]``, **now** is ``(as_of - w, as_of]``.
- Only sale lines count (quantity > 0 and unit price > 0): returns say nothing about the
  prices a customer accepts.
- **Discounted spend.** Where the lines carry a real ``discount`` (an amount per line, as the
  store keeps it) a line is discounted when its discount exceeds 1 % of its gross value (less
  is the cent rounding some exports put there). Without one (Online Retail II has no discount
  column) a line is discounted when its unit price is more than ``price_tolerance`` below the
  item's *typical* unit price: the median unit price of that item over both windows' lines.
- **Price index**: what the customer paid over what the same quantities cost at the items'
  typical prices (1 = typical, 0.9 = 10 % below).
- **Cadence**: the mean gap between purchase days over the customer's whole history up to
  ``as_of``, and days since the last purchase day.
"""

import datetime as dt
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kehu.analytics._base import InvalidDataError, require_columns, to_arrow

#: Columns an order-line table must have.
LINE_COLUMNS = ("customer_id", "order_id", "timestamp", "item_id", "quantity", "unit_price")
#: Roles whose involvement marks a buyer who decides on price.
PROCUREMENT_ROLES = ("procurement", "finance")
#: A discount at or below this share of a line's gross value is rounding, not a discount.
ROUNDING_SHARE = 0.01
DiscountBasis = Literal["auto", "field", "price"]

#: The columns of :func:`compute_signals`' result, in order.
SIGNAL_COLUMNS = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "n_purchase_days",
    "tenure_days",
    "recency_days",
    "mean_gap_days",
    "orders_then",
    "orders_now",
    "spend_then",
    "spend_now",
    "discount_share_then",
    "discount_share_now",
    "price_index_then",
    "price_index_now",
    "items_then",
    "items_now",
    "interactions_then",
    "interactions_now",
    "procurement_share_then",
    "procurement_share_now",
)


def as_date(value: dt.date | str, name: str) -> dt.date:
    """Return ``value`` as a date; a text that is no ISO date raises :class:`InvalidDataError`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidDataError(
            f"{name} must be a date like 2010-09-09, got {value!r}.", code="analytics.bad_date"
        ) from exc


def _days(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Return a date/timestamp/ISO-text column as date32 (aware timestamps: their UTC date)."""
    try:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.cast(column, pa.timestamp("us"))
        if pa.types.is_timestamp(column.type):
            if column.type.tz is not None:
                column = pc.local_timestamp(
                    pc.cast(column, pa.timestamp(column.type.unit, tz="UTC"))
                )
            return pc.cast(column, pa.date32())
        if pa.types.is_date(column.type):
            return pc.cast(column, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidDataError(
            f"Could not read {name} as dates: {exc}", code="analytics.bad_type"
        ) from exc
    raise InvalidDataError(
        f"Column {name} must hold dates or timestamps, not {column.type}.",
        code="analytics.bad_type",
        details={"column": name},
    )


def customer_ids(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Return customer ids as text (whole-number floats from spreadsheets without ``.0``)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False)
        finite = values[np.isfinite(values)]
        if np.all(finite == np.round(finite)):
            column = pc.cast(column, pa.int64(), safe=False)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return pc.cast(column, pa.string())


def _numbers(table: pa.Table, name: str) -> pa.ChunkedArray:
    try:
        return pc.cast(table.column(name), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidDataError(
            f"Column {name} must hold numbers: {exc}",
            code="analytics.bad_type",
            details={"column": name},
        ) from exc


def normalise_lines(lines: Any) -> pa.Table:
    """Validate order lines and give them the columns the health analysis reads.

    Returns ``customer_id`` (text), ``order_id``, ``item_id``, ``day``, ``quantity``,
    ``unit_price`` and ``discount`` (0 without the column).
    The time column is ``timestamp``, or ``date`` / ``day`` where there is no ``timestamp``.
    Rows with an empty customer, order, item, time, quantity or price are dropped (guests).
    """
    table = to_arrow(lines)
    time_column = next(
        (name for name in ("timestamp", "date", "day") if name in table.column_names), "timestamp"
    )
    require_columns(
        table,
        [time_column if c == "timestamp" else c for c in LINE_COLUMNS],
        what="The order lines",
    )
    discount = (
        _numbers(table, "discount")
        if "discount" in table.column_names
        else pa.chunked_array([pa.array(np.zeros(table.num_rows))])
    )
    out = pa.table(
        {
            "customer_id": customer_ids(table.column("customer_id")),
            "order_id": pc.cast(table.column("order_id"), pa.string()),
            "item_id": pc.cast(table.column("item_id"), pa.string()),
            "day": _days(table.column(time_column), time_column),
            "quantity": _numbers(table, "quantity"),
            "unit_price": _numbers(table, "unit_price"),
            "discount": pc.fill_null(discount, 0.0),
        }
    )
    mask = None
    for name in ("customer_id", "order_id", "item_id", "day", "quantity", "unit_price"):
        valid = pc.is_valid(out.column(name))
        mask = valid if mask is None else pc.and_(mask, valid)
    return out.filter(mask) if mask is not None else out


def _events(table: Any, name: str, time_column: str) -> pa.Table:
    data = to_arrow(table)
    require_columns(data, ("customer_id", time_column), what=f"The {name}")
    out = pa.table(
        {
            "customer_id": customer_ids(data.column("customer_id")),
            "day": _days(data.column(time_column), time_column),
        }
    )
    return out.filter(pc.and_(pc.is_valid(out.column("customer_id")), pc.is_valid(out["day"])))


def _contacts(table: Any) -> pa.Table:
    data = to_arrow(table)
    require_columns(data, ("customer_id", "role"), what="The contacts")
    n = data.num_rows
    nulls = pa.chunked_array([pa.nulls(n, pa.date32())])
    started = (
        _days(data.column("started_on"), "started_on")
        if "started_on" in data.column_names
        else nulls
    )
    ended = _days(data.column("ended_on"), "ended_on") if "ended_on" in data.column_names else nulls
    return pa.table(
        {
            "customer_id": customer_ids(data.column("customer_id")),
            "role": pc.cast(data.column("role"), pa.string()),
            "started_on": started,
            "ended_on": ended,
        }
    )


def resolve_discount_basis(lines: pa.Table, basis: DiscountBasis) -> Literal["field", "price"]:
    """Return ``"field"`` when ``basis`` is field, or auto and some line has a real discount."""
    if basis != "auto":
        return basis
    gross = pc.multiply(lines.column("quantity"), lines.column("unit_price"))
    # Returns have a negative gross value: only sale lines can show a discount.
    real = pc.and_(
        pc.greater(gross, 0.0),
        pc.greater(lines.column("discount"), pc.multiply(gross, ROUNDING_SHARE)),
    )
    return "field" if bool(pc.any(real).as_py()) else "price"


def window_expr(
    lines: ir.Table, *, as_of: dt.date, window_days: int, basis: str, price_tolerance: float
) -> ir.Table:
    """Per customer and window (0 = then, 1 = now): orders, spend, discounted spend, ...

    ``lines`` is an Ibis table with :func:`normalise_lines`' columns on any engine (the
    batch engines run this same expression over Parquet).
    """
    start = ibis.date(as_of - dt.timedelta(days=2 * window_days))
    middle = ibis.date(as_of - dt.timedelta(days=window_days))
    sales = lines.filter(
        (lines.quantity > 0)
        & (lines.unit_price > 0)
        & (lines.day > start)
        & (lines.day <= ibis.date(as_of))
    )
    typical = sales.group_by("item_id").aggregate(typical_price=sales.unit_price.median())
    t = sales.join(typical, "item_id")
    gross = t.quantity * t.unit_price
    if basis == "field":
        discounted = t.discount > gross * ROUNDING_SHARE
    else:
        discounted = t.unit_price < t.typical_price * (1.0 - price_tolerance)
    t = t.mutate(
        window=(t.day > middle).cast("int8"),
        net=gross - t.discount,
        discounted_net=discounted.ifelse(gross - t.discount, 0.0),
        at_typical=t.quantity * t.typical_price,
        gross=gross,
    )
    return t.group_by(["customer_id", "window"]).aggregate(
        orders=t.order_id.nunique(),
        spend=t.net.sum(),
        discounted=t.discounted_net.sum(),
        gross=t.gross.sum(),
        at_typical=t.at_typical.sum(),
        items=t.item_id.nunique(),
    )


def history_expr(lines: ir.Table, *, as_of: dt.date) -> ir.Table:
    """Per customer: first and last purchase day and the number of purchase days."""
    sales = lines.filter(
        (lines.quantity > 0) & (lines.unit_price > 0) & (lines.day <= ibis.date(as_of))
    )
    days = sales.select("customer_id", "day").distinct()
    return days.group_by("customer_id").aggregate(
        first_purchase=days.day.min(), last_purchase=days.day.max(), n_purchase_days=days.count()
    )


def _pivot(windows: pa.Table, ids: pa.Array, column: str, window: int) -> np.ndarray:
    part = windows.filter(pc.equal(windows.column("window"), window))
    index = pc.index_in(ids, value_set=part.column("customer_id"))
    values = part.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    idx = index.to_numpy(zero_copy_only=False)
    out = np.zeros(len(ids), dtype=np.float64)
    found = ~np.isnan(idx.astype(np.float64))
    out[found] = values[idx[found].astype(np.int64)]
    return out


def event_counts_expr(events: ir.Table, *, as_of: dt.date, window_days: int) -> ir.Table:
    """Service contacts per customer and window (0 = then, 1 = now): ``n``.

    ``events`` has ``customer_id`` and ``day``; any engine runs it.
    """
    middle = ibis.date(as_of - dt.timedelta(days=window_days))
    t = events.filter(
        (events.day > ibis.date(as_of - dt.timedelta(days=2 * window_days)))
        & (events.day <= ibis.date(as_of))
    )
    t = t.mutate(window=(t.day > middle).cast("int8"))
    return t.group_by(["customer_id", "window"]).aggregate(n=t.count())


def _procurement_shares(
    contacts: pa.Table | None, ids: pa.Array, *, as_of: dt.date, window_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Share of an account's contacts in a procurement role, at the end of each window.

    A contact counts at a day when it started on or before it (or has no start) and has not
    ended before it. An account without a contact at that day gets NaN (unknown, not 0): the
    stage evidence then says the buying role was not judged, and no shift is claimed.
    """
    n = len(ids)
    if contacts is None or contacts.num_rows == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    out = []
    for day in (as_of - dt.timedelta(days=window_days), as_of):
        started = contacts.column("started_on").to_pylist()
        ended = contacts.column("ended_on").to_pylist()
        active = np.array(
            [
                (s is None or s <= day) and (e is None or e >= day)
                for s, e in zip(started, ended, strict=True)
            ],
            dtype=bool,
        )
        roles = np.array(contacts.column("role").to_pylist(), dtype=object)
        cids = np.array(contacts.column("customer_id").to_pylist(), dtype=object)
        total: dict[Any, int] = {}
        buying: dict[Any, int] = {}
        for cid, role in zip(cids[active], roles[active], strict=True):
            total[cid] = total.get(cid, 0) + 1
            if role in PROCUREMENT_ROLES:
                buying[cid] = buying.get(cid, 0) + 1
        out.append(
            np.array(
                [buying.get(c, 0) / total[c] if total.get(c) else np.nan for c in ids.to_pylist()]
            )
        )
    return out[0], out[1]


def compute_signals(
    lines: Any,
    *,
    as_of: dt.date | str,
    window_days: int = 90,
    interactions: Any = None,
    tickets: Any = None,
    contacts: Any = None,
    discount_basis: DiscountBasis = "auto",
    price_tolerance: float = 0.05,
) -> pa.Table:
    """Compute every customer's health signals at ``as_of``: recent window against the one before.

    Parameters
    ----------
    lines
        Order lines (pyarrow Table, DataFrame or mapping) with ``customer_id``, ``order_id``,
        ``timestamp`` (or dates / ISO text), ``item_id``, ``quantity``, ``unit_price`` and,
        optionally, ``discount`` (an amount per line).
    as_of
        Last day (inclusive) of the "now" window.
    window_days
        Length of each window in days.
    interactions, tickets
        Optional tables of service contacts with ``customer_id`` and ``occurred_at``
        (interactions) / ``opened_at`` (tickets); their counts per window are added up.
    contacts
        Optional account contacts with ``customer_id`` (the account), ``role`` and optional
        ``started_on`` / ``ended_on`` dates.
    discount_basis
        ``"field"`` uses the lines' ``discount``; ``"price"`` compares unit prices with each
        item's typical price in the period; ``"auto"`` uses the field when any line carries a
        real discount, otherwise prices.
    price_tolerance
        How far below the typical price (0.05 = 5 %) a unit price counts as discounted.

    Returns
    -------
    pyarrow.Table
        One row per customer with a sale on or before ``as_of``, columns
        :data:`SIGNAL_COLUMNS`, sorted by ``customer_id`` (text). The schema metadata
        ``kehu.discount_basis`` says which definition of "discounted" was used.

    Raises
    ------
    InvalidDataError
        Missing columns, unreadable types, a bad window, or no sale on or before ``as_of``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> lines = pa.table({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...     "timestamp": ["2024-01-05", "2024-03-20", "2024-03-01"], "item_id": ["x", "x", "x"],
    ...     "quantity": [1, 1, 2], "unit_price": [10.0, 8.0, 10.0]})
    >>> s = compute_signals(lines, as_of="2024-03-31", window_days=60)
    >>> s.select(["customer_id", "orders_then", "orders_now", "price_index_now"]).to_pylist()[0]
    {'customer_id': 'a', 'orders_then': 1.0, 'orders_now': 1.0, 'price_index_now': 0.8}
    """
    day = as_date(as_of, "as_of")
    if not 7 <= window_days <= 730:
        raise InvalidDataError(
            "window_days must be between 7 and 730.", code="analytics.bad_window"
        )
    if not 0 <= price_tolerance < 1:
        raise InvalidDataError(
            "price_tolerance must be at least 0 and below 1.", code="analytics.bad_parameter"
        )
    if discount_basis not in ("auto", "field", "price"):
        raise InvalidDataError(
            "discount_basis must be auto, field or price.", code="analytics.bad_parameter"
        )
    table = normalise_lines(lines)
    basis = resolve_discount_basis(table, discount_basis)
    events = [
        _events(data, name, column)
        for data, name, column in (
            (interactions, "interactions", "occurred_at"),
            (tickets, "tickets", "opened_at"),
        )
        if data is not None
    ]
    service = pa.concat_tables(events) if events else None
    contact_table = None if contacts is None else _contacts(contacts)

    con = ibis.duckdb.connect()
    try:
        t = ibis.memtable(table)
        history = con.to_pyarrow(history_expr(t, as_of=day))
        windows = con.to_pyarrow(
            window_expr(
                t,
                as_of=day,
                window_days=window_days,
                basis=basis,
                price_tolerance=price_tolerance,
            )
        )
        service_counts = None
        if service is not None and service.num_rows:
            service_counts = con.to_pyarrow(
                event_counts_expr(ibis.memtable(service), as_of=day, window_days=window_days)
            )
    finally:
        con.disconnect()
    return assemble_signals(
        history,
        windows,
        service_counts,
        as_of=day,
        window_days=window_days,
        basis=basis,
        contacts=contact_table,
    )


def _text_ids(table: pa.Table) -> pa.Table:
    """``table`` with ``customer_id`` as text (an engine may hand back whole numbers)."""
    index = table.schema.get_field_index("customer_id")
    return table.set_column(index, "customer_id", customer_ids(table.column("customer_id")))


def assemble_signals(
    history: pa.Table,
    windows: pa.Table,
    service_counts: pa.Table | None,
    *,
    as_of: dt.date,
    window_days: int,
    basis: str,
    contacts: Any = None,
) -> pa.Table:
    """Put the per-customer aggregates side by side: :func:`compute_signals`' result.

    ``history`` is :func:`history_expr`'s result, ``windows`` :func:`window_expr`'s and
    ``service_counts`` :func:`event_counts_expr`'s (or ``None``), run by any engine: these
    aggregates are what the signals need from the lines, so a batch engine computes them
    over Parquet and only they come back. ``contacts`` as :func:`compute_signals` takes them.
    """
    day = as_of
    contacts = None if contacts is None else _contacts(contacts)
    history = _text_ids(history)
    history = history.take(pc.sort_indices(history, [("customer_id", "ascending")]))
    if history.num_rows == 0:
        raise InvalidDataError(
            f"No customer bought anything on or before {day}; choose a later date.",
            code="analytics.empty",
        )
    windows = _text_ids(windows)
    ids = history.column("customer_id").combine_chunks()
    if service_counts is None or service_counts.num_rows == 0:
        service_then, service_now = np.zeros(len(ids)), np.zeros(len(ids))
    else:
        service_counts = _text_ids(service_counts)
        service_then = _pivot(service_counts, ids, "n", 0)
        service_now = _pivot(service_counts, ids, "n", 1)

    first = history.column("first_purchase")
    last = history.column("last_purchase")
    as_of_scalar = pa.scalar(day, pa.date32())
    tenure = pc.days_between(first, as_of_scalar).to_numpy().astype(np.float64)
    recency = pc.days_between(last, as_of_scalar).to_numpy().astype(np.float64)
    span = pc.days_between(first, last).to_numpy().astype(np.float64)
    n_days = history.column("n_purchase_days").to_numpy().astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_gap = np.where(n_days > 1, span / np.maximum(n_days - 1, 1), np.nan)

    columns: dict[str, Any] = {
        "customer_id": ids,
        "first_purchase": first,
        "last_purchase": last,
        "n_purchase_days": n_days.astype(np.int64),
        "tenure_days": tenure,
        "recency_days": recency,
        "mean_gap_days": mean_gap,
    }
    for window, suffix in ((0, "then"), (1, "now")):
        orders = _pivot(windows, ids, "orders", window)
        spend = _pivot(windows, ids, "spend", window)
        discounted = _pivot(windows, ids, "discounted", window)
        gross = _pivot(windows, ids, "gross", window)
        at_typical = _pivot(windows, ids, "at_typical", window)
        with np.errstate(divide="ignore", invalid="ignore"):
            columns[f"orders_{suffix}"] = orders
            columns[f"spend_{suffix}"] = spend
            columns[f"discount_share_{suffix}"] = np.where(
                spend > 0, np.clip(discounted / np.where(spend > 0, spend, 1.0), 0.0, 1.0), np.nan
            )
            columns[f"price_index_{suffix}"] = np.where(
                at_typical > 0, gross / np.where(at_typical > 0, at_typical, 1.0), np.nan
            )
        columns[f"items_{suffix}"] = _pivot(windows, ids, "items", window)
    columns["interactions_then"] = service_then
    columns["interactions_now"] = service_now
    then_share, now_share = _procurement_shares(contacts, ids, as_of=day, window_days=window_days)
    columns["procurement_share_then"] = then_share
    columns["procurement_share_now"] = now_share
    ordered = {name: columns[name] for name in SIGNAL_COLUMNS}
    result = pa.table(
        {
            name: pa.array(value, from_pandas=True) if isinstance(value, np.ndarray) else value
            for name, value in ordered.items()
        }
    )
    return result.replace_schema_metadata(
        {
            b"kehu.discount_basis": basis.encode(),
            b"kehu.as_of": day.isoformat().encode(),
            b"kehu.window_days": str(window_days).encode(),
        }
    )
