"""Load stage for orders files: one row per order line, whole orders or nothing.

The file is read as columns (Arrow). Each column's distinct texts are parsed once, by the
same functions the row models use, and the rows are checked with array operations; a row
those checks do not take goes through the per-row path and, if it fails there too, through
:class:`OrderLineRow`, whose pydantic errors are what the report shows. Lines are grouped into
orders by sorting, orders are checked as a whole (one bad line rejects its order, signs must
agree) and written in bulk through :mod:`kehu.commerce.bulk` and :mod:`kehu.customers.bulk`.

Online Retail II semantics: an order id starting with ``C`` is a cancellation, loaded as a
return (negative quantities); rows with no customer are guest orders; a line with a negative
price (bad-debt adjustment) or a zero price, no customer and no ``C`` (a stock adjustment:
damaged, lost, found...) is not a sale and is reported.
"""

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from kehu.commerce import BulkOrders, OrderKind, ensure_products, load_orders
from kehu.core import Actor
from kehu.customers import ensure_customers
from kehu.ingest.mapping import ResolvedMapping
from kehu.ingest.parsing import clean_external_id, parse_amount, parse_datetime
from kehu.ingest.readers import Table, read_columns
from kehu.ingest.report import ErrorLog
from kehu.ingest.validation import MAX_WHOLE, OrderLineRow, validate_row

_ZERO = Decimal("0.00")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
Ints = npt.NDArray[np.int64]
_MAX_LEN = {"order_id": 128, "customer_id": 128, "sku": 64, "channel": 32, "country": 100}


@dataclass(slots=True)
class _Line:
    line: int  # line of the file
    customer_id: str | None
    ordered_at: datetime
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    line_no: int | None
    channel: str
    currency: str
    country: str | None


@dataclass
class OrdersOutcome:
    """What an orders file did."""

    n_rows: int = 0
    n_loaded: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


class _Cache(dict[str, Any]):
    """A memo of parsed cell texts (an order's lines share dates, prices and ids)."""

    def __init__(self, parse: Callable[[str], Any]) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, key: str) -> Any:
        value = self.parse(key)
        if len(self) < 200_000:
            self[key] = value
        return value


class _Rejected(Exception):
    """A row the fast path will not take; pydantic says why."""


def _text(value: str | None) -> str:
    return value.strip() if value else ""


def _required(value: str | None) -> str:
    if not value:
        raise _Rejected
    value = value.strip()
    if not value:
        raise _Rejected
    return value


def _whole(value: str | None) -> int:
    number = int(value)  # type: ignore[arg-type]  # None → TypeError
    if abs(number) > MAX_WHOLE:
        raise _Rejected
    return number


class _RowParser:
    """The per-row path, for the rows the column checks did not take (bad ones, mostly)."""

    def __init__(self, resolved: ResolvedMapping, errors: ErrorLog) -> None:
        self.resolved = resolved
        self.errors = errors
        self.date_format = resolved.date_format
        self.context = {"date_format": resolved.date_format}
        self.width = max(resolved.indexes.values()) + 1
        self.spoilt: dict[str, int] = {}

    def parse(self, line: int, values: list[str | None]) -> tuple[str, _Line] | None:
        """Return ``(order id, line)``, or record the row's problems and return ``None``."""
        idx = self.resolved.indexes
        get = idx.get
        order_id = ""
        try:
            if len(values) < self.width:
                raise _Rejected
            order_id = _required(values[idx["order_id"]])
            i_channel, i_currency = get("channel"), get("currency")
            sku = _required(values[idx["sku"]])
            when = _required(values[idx["ordered_at"]])
            customer = _text(values[idx["customer_id"]]) if "customer_id" in idx else ""
            channel = (_text(values[i_channel]) or "store") if i_channel is not None else "store"
            currency = (
                (_text(values[i_currency]) or "GBP").upper() if i_currency is not None else "GBP"
            )
            country = (_text(values[idx["country"]]) if "country" in idx else "") or None
            if (
                len(order_id) > 128
                or len(sku) > 64
                or len(customer) > 128
                or len(channel) > 32
                or (country is not None and len(country) > 100)
                or len(currency) != 3
                or not (currency.isascii() and currency.isalpha())
            ):
                raise _Rejected
            quantity = _whole(values[idx["quantity"]])
            if quantity == 0:
                raise _Rejected
            discount_text = _text(values[idx["discount"]]) if "discount" in idx else ""
            number_text = _text(values[idx["line_no"]]) if "line_no" in idx else ""
            parsed = _Line(
                line,
                clean_external_id(customer) if customer else None,
                parse_datetime(when, self.date_format),
                sku,
                (_text(values[idx["description"]]) if "description" in idx else "")[:300],
                quantity,
                parse_amount(values[idx["unit_price"]].strip()),  # type: ignore[union-attr]  # None → AttributeError
                parse_amount(discount_text) if discount_text else _ZERO,
                _whole(number_text) if number_text else None,
                channel,
                currency,
                country,
            )
            if parsed.line_no is not None and parsed.line_no < 1:
                raise _Rejected
        except (_Rejected, ValueError, TypeError, AttributeError, InvalidOperation):
            model, problems = validate_row(
                OrderLineRow,
                self.resolved.extract(values + [None] * (self.width - len(values))),
                self.context,
            )
            if model is None:
                for field_name, reason in problems:
                    raw = (
                        values[idx[field_name]]
                        if field_name in idx and idx[field_name] < len(values)
                        else None
                    )
                    self.errors.add(line, field_name, raw, reason)
                if order_id and order_id not in self.spoilt:
                    self.spoilt[order_id] = line
                return None
            order_id = model.order_id
            parsed = _Line(
                line,
                model.customer_id,
                model.ordered_at,
                model.sku,
                model.description or "",
                model.quantity,
                model.unit_price,
                model.discount,
                model.line_no,
                model.channel or "store",
                model.currency or "GBP",
                model.country,
            )
        problem = _business_problem(order_id, parsed)
        if problem is not None:
            self.errors.add(line, problem[0], problem[1], problem[2])
            self.spoilt.setdefault(order_id, line)
            return None
        return order_id, parsed


class _Interner:
    """Distinct values and their codes (0, 1, ...)."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}
        self.values: list[Any] = []

    def code(self, value: Any) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found


def _distinct(
    column: pa.Array | None, n_rows: int
) -> tuple[Ints, list[str | None], pa.Array | None]:
    """Return each row's code and the distinct texts (the last one ``None``: no cell).

    The third value is the distinct texts as Arrow strings (without the ``None``).
    """
    if column is None:
        return np.zeros(n_rows, dtype=np.int64), [None], None
    encoded = column.dictionary_encode()
    texts: list[str | None] = encoded.dictionary.to_pylist()
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(texts))
    texts.append(None)
    return indices.to_numpy().astype(np.int64), texts, encoded.dictionary


# The timestamps most files carry ("2010-12-01 07:45:00"), read for all distinct texts at once;
# a text Arrow reads is taken only if it prints back the same, so the result is what
# parse_datetime gives (which reads the rest, and says what is wrong with them).
_PLAIN_TIMESTAMP = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
_PLAIN_FORMAT = "%Y-%m-%d %H:%M:%S"


def _plain_timestamps(texts: pa.Array) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Return microseconds since 1970 (UTC) of the plain timestamps and which texts were."""
    parsed = pc.strptime(texts, format=_PLAIN_FORMAT, unit="s", error_is_null=True)
    printed = pc.strftime(parsed, format=_PLAIN_FORMAT)
    same = pc.and_kleene(
        pc.match_substring_regex(texts, _PLAIN_TIMESTAMP), pc.equal(printed, texts)
    )
    taken = pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    seconds = pc.fill_null(parsed.cast(pa.int64()), 0).to_numpy()
    return seconds.astype(np.int64) * 1_000_000, taken.astype(bool)


@dataclass
class _Columns:
    """Parsed order lines as arrays (codes refer to the interners of :class:`_Parser`)."""

    pos: Ints
    line: Ints
    order: Ints
    customer: Ints  # -1: guest
    when: Ints  # microseconds since 1970, UTC
    sku: Ints
    description: Ints
    quantity: Ints
    price: Ints  # cents
    discount: Ints  # cents
    line_no: Ints  # 0: none given
    channel: Ints
    currency: Ints
    country: Ints  # -1: none

    def take(self, index: Any) -> "_Columns":
        """Return the rows at ``index`` (positions, or a mask); no copy for an all-true mask."""
        if index.dtype == np.bool_ and index.all():
            return self
        return _Columns(*(getattr(self, name)[index] for name in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list["_Columns"]) -> "_Columns":
        names = list(_Columns.__dataclass_fields__)
        return _Columns(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


class _Parser:
    """Column-wise parsing: each distinct text once, with the per-row path's own rules."""

    def __init__(self, resolved: ResolvedMapping) -> None:
        self.date_format = resolved.date_format
        self.orders = _Interner()
        self.customers = _Interner()
        self.skus = _Interner()
        self.descriptions = _Interner()
        self.channels = _Interner()
        self.currencies = _Interner()
        self.countries = _Interner()

    def field(
        self,
        column: pa.Array | None,
        n_rows: int,
        parse: Callable[[str | None], int],
        vector: Callable[[pa.Array], tuple[Ints, npt.NDArray[np.bool_]]] | None = None,
    ) -> tuple[Ints, npt.NDArray[np.bool_]]:
        """Return each row's parsed value and whether the fast rules took it.

        ``vector`` parses the distinct texts it can all at once; ``parse`` parses the rest.
        """
        codes, texts, dictionary = _distinct(column, n_rows)
        values = np.zeros(len(texts), dtype=np.int64)
        ok = np.ones(len(texts), dtype=bool)
        todo: Any = range(len(texts))
        if vector is not None and dictionary is not None and len(dictionary):
            done_values, done = vector(dictionary)
            values[:-1] = done_values
            todo = np.flatnonzero(~np.r_[done, False]).tolist()
        for i in todo:
            try:
                values[i] = parse(texts[i])
            except (_Rejected, ValueError, TypeError, AttributeError, InvalidOperation):
                ok[i] = False
        return values[codes], ok[codes]

    def order_code(self, text: str | None) -> int:
        value = _required(text)
        if len(value) > 128:
            raise _Rejected
        return self.orders.code(value)

    def sku_code(self, text: str | None) -> int:
        value = _required(text)
        if len(value) > 64:
            raise _Rejected
        return self.skus.code(value)

    def when(self, text: str | None) -> int:
        return _micros(parse_datetime(_required(text), self.date_format))

    def customer_code(self, text: str | None) -> int:
        value = _text(text)
        if len(value) > 128:
            raise _Rejected
        return self.customers.code(clean_external_id(value)) if value else -1

    def channel_code(self, text: str | None) -> int:
        value = _text(text) or "store"
        if len(value) > 32:
            raise _Rejected
        return self.channels.code(value)

    def currency_code(self, text: str | None) -> int:
        value = (_text(text) or "GBP").upper()
        if len(value) != 3 or not (value.isascii() and value.isalpha()):
            raise _Rejected
        return self.currencies.code(value)

    def country_code(self, text: str | None) -> int:
        value = _text(text)
        if len(value) > 100:
            raise _Rejected
        return self.countries.code(value) if value else -1

    @staticmethod
    def quantity(text: str | None) -> int:
        value = _whole(text)
        if value == 0:
            raise _Rejected
        return value

    @staticmethod
    def price(text: str | None) -> int:
        return _cents(parse_amount(text.strip()))  # type: ignore[union-attr]  # None → AttributeError

    @staticmethod
    def discount(text: str | None) -> int:
        value = _text(text)
        return _cents(parse_amount(value)) if value else 0

    @staticmethod
    def line_no(text: str | None) -> int:
        value = _text(text)
        if not value:
            return 0
        number = _whole(value)
        if number < 1:
            raise _Rejected
        return number

    def description_code(self, text: str | None) -> int:
        return self.descriptions.code(_text(text)[:300])

    def line_columns(self, pos: Ints, lines: Ints, rows: list[tuple[str, _Line]]) -> _Columns:
        """Return the lines the per-row path took as columns."""

        def ints(values: list[int]) -> Ints:
            return np.array(values, dtype=np.int64)

        return _Columns(
            pos,
            lines,
            ints([self.orders.code(o) for o, _ in rows]),
            ints(
                [
                    -1 if x.customer_id is None else self.customers.code(x.customer_id)
                    for _, x in rows
                ]
            ),
            ints([_micros(x.ordered_at) for _, x in rows]),
            ints([self.skus.code(x.sku) for _, x in rows]),
            ints([self.descriptions.code(x.description) for _, x in rows]),
            ints([x.quantity for _, x in rows]),
            ints([_cents(x.unit_price) for _, x in rows]),
            ints([_cents(x.discount) for _, x in rows]),
            ints([x.line_no or 0 for _, x in rows]),
            ints([self.channels.code(x.channel) for _, x in rows]),
            ints([self.currencies.code(x.currency) for _, x in rows]),
            ints([-1 if x.country is None else self.countries.code(x.country) for _, x in rows]),
        )


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def is_cancellation(order_id: str) -> bool:
    """Tell whether an order id marks a cancellation (Online Retail II: ``C`` + invoice no)."""
    return order_id[:1] == "C" and order_id[1:2].isdigit()


def _business_problem(order_id: str, line: _Line) -> tuple[str, object, str] | None:
    cancelled = is_cancellation(order_id)
    if line.unit_price < 0:
        return (
            "unit_price",
            line.unit_price,
            "a negative unit price is an accounting adjustment (e.g. bad debt), not a sale; "
            "it is not loaded",
        )
    if line.unit_price == 0 and line.customer_id is None and not cancelled:
        return (
            "unit_price",
            line.unit_price,
            "a stock adjustment (no price, no customer, not a cancellation: damaged, lost, "
            "found...) is not a sale; it is not loaded",
        )
    if cancelled and line.quantity > 0:
        return (
            "quantity",
            line.quantity,
            f"order {order_id} is a cancellation (its id starts with C), so its quantities "
            "must be negative",
        )
    return None


def _check_order(order_id: str, lines: list[_Line]) -> tuple[int, str | None, object, str] | None:
    """Return the first problem of an order as a whole (line, field, value, reason)."""
    first = lines[0]
    positive = first.quantity > 0
    numbers: dict[int, int] = {}
    for line in lines:
        if (line.quantity > 0) != positive:
            return (
                line.line,
                "quantity",
                line.quantity,
                f"order {order_id} mixes sold and returned lines (line {first.line} has "
                f"{first.quantity}); send the return as its own order",
            )
        if line.customer_id != first.customer_id:
            return (
                line.line,
                "customer_id",
                line.customer_id,
                f"order {order_id} names another customer on line {first.line} "
                f"({first.customer_id or 'none'})",
            )
        if line.currency != first.currency:
            return (
                line.line,
                "currency",
                line.currency,
                f"order {order_id} is in {first.currency} on line {first.line}; "
                "one order has one currency",
            )
        if line.line_no is not None:
            if line.line_no in numbers:
                return (
                    line.line,
                    "line_no",
                    line.line_no,
                    f"line {line.line_no} of order {order_id} appears twice "
                    f"(also on line {numbers[line.line_no]})",
                )
            numbers[line.line_no] = line.line
    if numbers and len(numbers) != len(lines):
        missing = next(line for line in lines if line.line_no is None)
        return (missing.line, "line_no", None, f"order {order_id} numbers only some of its lines")
    return None


def import_orders(
    session: Session,
    table: Table,
    resolved: ResolvedMapping,
    errors: ErrorLog,
    *,
    actor: Actor,
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> OrdersOutcome:
    """Validate and load an orders file; rejected rows and orders go to ``errors``.

    The cyclic garbage collector is paused meanwhile: the many small objects a large file
    creates hold no cycles, and its repeated full scans slowed large imports several times.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import_orders(
            session, table, resolved, errors, actor=actor, source=source, progress=progress
        )
    finally:
        if was_enabled:
            gc.enable()


def _parse_columns(
    table: Table, resolved: ResolvedMapping, errors: ErrorLog
) -> tuple[_Parser, _Columns, dict[str, int], int]:
    """Return the parser, the good lines, the first bad line of each spoilt order, row count."""
    fields = list(resolved.indexes)
    raw, lines = read_columns(table, [resolved.indexes[f] for f in fields])
    column = dict(zip(fields, raw, strict=True))
    n = len(lines)
    parser = _Parser(resolved)
    get = column.get
    ok = np.ones(n, dtype=bool)

    def parsed(
        name: str,
        parse: Callable[[str | None], int],
        vector: Callable[[pa.Array], tuple[Ints, npt.NDArray[np.bool_]]] | None = None,
    ) -> Ints:
        values, taken = parser.field(get(name), n, parse, vector)
        np.logical_and(ok, taken, out=ok)
        return values

    order = parsed("order_id", parser.order_code)
    cols = _Columns(
        np.arange(n, dtype=np.int64),
        lines,
        order,
        parsed("customer_id", parser.customer_code),
        parsed("ordered_at", parser.when, None if parser.date_format else _plain_timestamps),
        parsed("sku", parser.sku_code),
        parsed("description", parser.description_code),
        parsed("quantity", parser.quantity),
        parsed("unit_price", parser.price),
        parsed("discount", parser.discount),
        parsed("line_no", parser.line_no),
        parsed("channel", parser.channel_code),
        parsed("currency", parser.currency_code),
        parsed("country", parser.country_code),
    )
    # Business rules (see _business_problem): rows breaking them take the per-row path,
    # which reports them.
    cancelled = np.array([is_cancellation(key) for key in parser.orders.values], dtype=bool)
    row_cancelled = cancelled[order] if len(cancelled) else np.zeros(n, dtype=bool)
    ok &= cols.price >= 0
    ok &= ~((cols.price == 0) & (cols.customer < 0) & ~row_cancelled)
    ok &= ~(row_cancelled & (cols.quantity > 0))
    slow = np.flatnonzero(~ok)
    good = cols.take(ok)
    row_parser = _RowParser(resolved, errors)
    if len(slow):
        width = row_parser.width
        slow_values = [column[f].take(pa.array(slow)).to_pylist() for f in fields]
        taken: list[tuple[str, _Line]] = []
        taken_at: list[int] = []
        for j, row in enumerate(slow.tolist()):
            values: list[str | None] = [None] * width
            for f, texts in zip(fields, slow_values, strict=True):
                values[resolved.indexes[f]] = texts[j]
            result = row_parser.parse(int(lines[row]), values)
            if result is not None:
                taken.append(result)
                taken_at.append(row)
        if taken:
            at = np.array(taken_at, dtype=np.int64)
            good = _Columns.concat([good, parser.line_columns(at, lines[at], taken)])
    return parser, good, row_parser.spoilt, n


def _group(cols: _Columns) -> tuple[_Columns, Ints, Ints]:
    """Sort lines into orders (by first appearance, lines in file order).

    Returns the sorted lines, each order's first line, and each line's order number.
    """
    if len(cols.order) == 0:
        return cols, cols.order, cols.order
    order, pos = cols.order, cols.pos
    if np.all(order[1:] >= order[:-1]) and np.all(pos[1:] > pos[:-1]):
        # Orders contiguous and numbered by first appearance, lines in file order: sorted.
        changes = np.r_[False, order[1:] != order[:-1]]
        starts = np.flatnonzero(np.r_[True, changes[1:]])
        return cols, starts.astype(np.int64), np.cumsum(changes)
    by_order = np.lexsort((cols.pos, cols.order))
    keys = cols.order[by_order]
    firsts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    group = np.empty(len(keys), dtype=np.int64)
    group[by_order] = np.cumsum(np.r_[False, keys[1:] != keys[:-1]])
    rank = np.empty(len(firsts), dtype=np.int64)
    rank[np.argsort(cols.pos[by_order][firsts], kind="stable")] = np.arange(len(firsts))
    order_of_row = rank[group]
    final = np.lexsort((cols.pos, order_of_row))
    if not np.all(final[1:] > final[:-1]):  # a file of contiguous orders is already sorted
        cols = cols.take(final)
        order_of_row = order_of_row[final]
    sorted_cols = cols
    starts = np.flatnonzero(np.r_[True, order_of_row[1:] != order_of_row[:-1]])
    return sorted_cols, starts.astype(np.int64), order_of_row


def _suspect_orders(cols: _Columns, starts: Ints, group: Ints) -> npt.NDArray[np.bool_]:
    """Flag the orders whose lines may disagree (sign, customer, currency, line numbers)."""
    first = starts[group]
    bad = (cols.quantity > 0) != (cols.quantity[first] > 0)
    bad |= cols.customer != cols.customer[first]
    bad |= cols.currency != cols.currency[first]
    if len(starts) == 0:
        return np.zeros(0, dtype=bool)
    flagged = np.maximum.reduceat(bad, starts)
    numbered = cols.line_no > 0
    n_numbered = np.add.reduceat(numbered.astype(np.int64), starts)
    sizes = np.diff(np.r_[starts, len(group)])
    flagged |= (n_numbered > 0) & (n_numbered < sizes)
    pairs = np.lexsort((cols.line_no, group))
    same = (group[pairs][1:] == group[pairs][:-1]) & (
        cols.line_no[pairs][1:] == cols.line_no[pairs][:-1]
    )
    same &= numbered[pairs][1:]
    flagged[group[pairs][1:][same]] = True
    return flagged.astype(bool)


def _import_orders(
    session: Session,
    table: Table,
    resolved: ResolvedMapping,
    errors: ErrorLog,
    *,
    actor: Actor,
    source: str,
    progress: Callable[[int, int], None] | None,
) -> OrdersOutcome:
    parser, cols, spoilt, n_rows = _parse_columns(table, resolved, errors)
    if progress is not None:
        progress(n_rows // 2, n_rows)
    cols, starts, group = _group(cols)
    n_orders = len(starts)
    keys = parser.orders.values
    is_good = np.ones(n_orders, dtype=bool)
    spoilt_codes = np.zeros(len(keys), dtype=bool)
    for key in spoilt:
        if key in parser.orders.codes:
            spoilt_codes[parser.orders.codes[key]] = True
    check = _suspect_orders(cols, starts, group) | spoilt_codes[cols.order[starts]]
    ends = np.r_[starts[1:], len(group)]
    for g in np.flatnonzero(check).tolist():
        a, b = int(starts[g]), int(ends[g])
        order_id = keys[int(cols.order[a])]
        lines = [_line_of(parser, cols, i) for i in range(a, b)]
        bad_line = spoilt.get(order_id)
        problem = None if bad_line is not None else _check_order(order_id, lines)
        if problem is not None:
            bad_line = problem[0]
            errors.add(problem[0], problem[1], problem[2], problem[3])
        if bad_line is None:
            continue
        is_good[g] = False
        for line in lines:
            if line.line != bad_line:
                errors.add(
                    line.line,
                    None,
                    order_id,
                    f"order {order_id} rejected because line {bad_line} is invalid",
                )
    keep = is_good[group]
    if not keep.all():
        cols, group = cols.take(keep), group[keep]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else starts[:0]
    countries, names = _customers_and_products(parser, cols, starts)
    customer_ids, n_new_customers = ensure_customers(session, countries, actor=actor, source=source)
    product_ids, product_counts = ensure_products(session, names, actor=actor)
    order_counts = load_orders(
        session, _bulk_orders(parser, cols, starts, customer_ids, product_ids), actor=actor
    )
    if progress is not None:
        progress(n_rows, n_rows)
    return OrdersOutcome(
        n_rows=n_rows,
        n_loaded=len(group),
        counts={
            "customers": {
                "created": n_new_customers,
                "updated": 0,
                "unchanged": len(countries) - n_new_customers,
            },
            "products": product_counts,
            "orders": order_counts,
        },
    )


def _line_of(parser: _Parser, cols: _Columns, i: int) -> _Line:
    customer = int(cols.customer[i])
    country = int(cols.country[i])
    return _Line(
        int(cols.line[i]),
        None if customer < 0 else parser.customers.values[customer],
        _EPOCH + _MICROSECOND * int(cols.when[i]),
        parser.skus.values[int(cols.sku[i])],
        parser.descriptions.values[int(cols.description[i])],
        int(cols.quantity[i]),
        Decimal(int(cols.price[i])).scaleb(-2),
        Decimal(int(cols.discount[i])).scaleb(-2),
        int(cols.line_no[i]) or None,
        parser.channels.values[int(cols.channel[i])],
        parser.currencies.values[int(cols.currency[i])],
        None if country < 0 else parser.countries.values[country],
    )


def _customers_and_products(
    parser: _Parser, cols: _Columns, starts: Ints
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Return each customer's country (of its first order) and each SKU's first description."""
    first_customer = cols.customer[starts]
    named = first_customer >= 0
    _, where = np.unique(first_customer[named], return_index=True)
    firsts = starts[named][where]
    countries: dict[str, str | None] = {}
    for at in np.sort(firsts).tolist():
        country = int(cols.country[at])
        countries[parser.customers.values[int(cols.customer[at])]] = (
            None if country < 0 else parser.countries.values[country]
        )
    names = dict.fromkeys((parser.skus.values[s] for s in np.unique(cols.sku).tolist()), "")
    empty = parser.descriptions.codes.get("", -1)
    described = np.flatnonzero(cols.description != empty)
    skus, where = np.unique(cols.sku[described], return_index=True)
    for sku, at in zip(skus.tolist(), described[where].tolist(), strict=True):
        names[parser.skus.values[sku]] = parser.descriptions.values[int(cols.description[at])]
    return countries, names


def _bulk_orders(
    parser: _Parser,
    cols: _Columns,
    starts: Ints,
    customer_ids: dict[str, int],
    product_ids: dict[str, int],
) -> BulkOrders:
    """Return the good orders as columns for :func:`kehu.commerce.load_orders`."""
    n_lines = len(cols.order)
    marks = np.zeros(n_lines, dtype=np.int64)
    marks[starts] = 1
    group = np.cumsum(marks) - 1
    customer_of = np.array(
        [customer_ids.get(c, -1) for c in parser.customers.values] + [-1], dtype=np.int64
    )
    product_of = np.array([product_ids.get(s, -1) for s in parser.skus.values], dtype=np.int64)
    keys = [parser.orders.values[k] for k in cols.order[starts].tolist()]
    first_quantity = cols.quantity[starts].tolist()
    earliest = np.minimum.reduceat(cols.when, starts) if len(starts) else cols.when[:0]
    countries = parser.countries.values
    return BulkOrders(
        external_id=keys,
        customer_id=[None if c < 0 else c for c in customer_of[cols.customer[starts]].tolist()],
        kind=[
            OrderKind.RETURN if is_cancellation(key) or q < 0 else OrderKind.SALE
            for key, q in zip(keys, first_quantity, strict=True)
        ],
        ordered_at=[_EPOCH + _MICROSECOND * w for w in earliest.tolist()],
        channel=[parser.channels.values[c] for c in cols.channel[starts].tolist()],
        currency=[parser.currencies.values[c] for c in cols.currency[starts].tolist()],
        country=[None if c < 0 else countries[c] for c in cols.country[starts].tolist()],
        offsets=np.r_[starts, n_lines].astype(np.int64),
        line_no=np.where(cols.line_no > 0, cols.line_no, np.arange(n_lines) - starts[group] + 1),
        product_id=product_of[cols.sku],
        quantity=cols.quantity,
        unit_price_cents=cols.price,
        discount_cents=cols.discount,
    )
