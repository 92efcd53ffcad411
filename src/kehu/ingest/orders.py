"""Load stage for orders files: one row per order line, whole orders or nothing.

The rows are parsed by a fast hand-written path (memoised dates and amounts: an order's lines
repeat them); a row the fast path cannot take goes through :class:`OrderLineRow`, whose
pydantic errors are what the report shows. Orders are then checked as a whole (one bad line
rejects its order, signs must agree) and written in bulk through
:mod:`kehu.commerce.bulk` and :mod:`kehu.customers.bulk`.

Online Retail II semantics: an order id starting with ``C`` is a cancellation, loaded as a
return (negative quantities); rows with no customer are guest orders; a line with a negative
price (bad-debt adjustment) or a zero price, no customer and no ``C`` (a stock adjustment:
damaged, lost, found...) is not a sale and is reported.
"""

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from kehu.commerce import BulkOrder, OrderKind, ensure_products, load_orders
from kehu.core import Actor
from kehu.customers import ensure_customers
from kehu.ingest.mapping import ResolvedMapping
from kehu.ingest.parsing import clean_external_id, parse_amount, parse_datetime
from kehu.ingest.readers import Row
from kehu.ingest.report import ErrorLog
from kehu.ingest.validation import OrderLineRow, validate_row

PROGRESS_EVERY = 5000
_ZERO = Decimal("0.00")
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


def _parse_rows(
    rows: Iterator[Row],
    resolved: ResolvedMapping,
    errors: ErrorLog,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> tuple[dict[str, list[_Line]], dict[str, int], int]:
    """Return the good lines by order id, the first bad line of each spoilt order, row count."""
    idx = resolved.indexes
    get = idx.get
    i_order, i_when, i_sku = idx["order_id"], idx["ordered_at"], idx["sku"]
    i_qty, i_price = idx["quantity"], idx["unit_price"]
    i_cust, i_desc, i_disc, i_no = (
        get("customer_id"),
        get("description"),
        get("discount"),
        get("line_no"),
    )
    i_channel, i_currency, i_country = get("channel"), get("currency"), get("country")
    date_format = resolved.date_format
    dates = _Cache(lambda text: parse_datetime(text, date_format))
    amounts = _Cache(parse_amount)
    customers = _Cache(clean_external_id)
    context = {"date_format": date_format}
    width = max(idx.values()) + 1

    orders: dict[str, list[_Line]] = {}
    spoilt: dict[str, int] = {}
    n_rows = 0

    def text(values: list[str | None], i: int | None) -> str:
        if i is None:
            return ""
        value = values[i]
        return value.strip() if value else ""

    def required(value: str | None) -> str:
        if not value:
            raise _Rejected
        value = value.strip()
        if not value:
            raise _Rejected
        return value

    for line, values in rows:
        n_rows += 1
        if progress is not None and n_rows % PROGRESS_EVERY == 0:
            progress(n_rows, max(total, n_rows))
        order_id = ""
        try:
            if len(values) < width:
                raise _Rejected
            order_id = required(values[i_order])
            sku = required(values[i_sku])
            when = required(values[i_when])
            customer = text(values, i_cust)
            channel = text(values, i_channel) or "store" if i_channel is not None else "store"
            currency = (
                (text(values, i_currency) or "GBP").upper() if i_currency is not None else "GBP"
            )
            country = text(values, i_country) or None
            if (
                len(order_id) > 128
                or len(sku) > 64
                or len(customer) > 128
                or len(channel) > 32
                or (country is not None and len(country) > 100)
                or len(currency) != 3
                or not currency.isalpha()
            ):
                raise _Rejected
            quantity = int(values[i_qty])  # type: ignore[arg-type]  # None → TypeError
            if quantity == 0:
                raise _Rejected
            discount_text = text(values, i_disc) if i_disc is not None else ""
            number_text = text(values, i_no) if i_no is not None else ""
            parsed = _Line(
                line,
                customers[customer] if customer else None,
                dates[when],
                sku,
                text(values, i_desc)[:300],
                quantity,
                amounts[values[i_price].strip()],  # type: ignore[union-attr]  # checked above
                amounts[discount_text] if discount_text else _ZERO,
                int(number_text) if number_text else None,
                channel,
                currency,
                country,
            )
            if parsed.line_no is not None and parsed.line_no < 1:
                raise _Rejected
        except (_Rejected, ValueError, TypeError, AttributeError, InvalidOperation):
            model, problems = validate_row(
                OrderLineRow, resolved.extract(values + [None] * (width - len(values))), context
            )
            if model is None:
                for field_name, reason in problems:
                    raw = (
                        values[idx[field_name]]
                        if field_name in idx and idx[field_name] < len(values)
                        else None
                    )
                    errors.add(line, field_name, raw, reason)
                if order_id and order_id not in spoilt:
                    spoilt[order_id] = line
                continue
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
            errors.add(line, problem[0], problem[1], problem[2])
            spoilt.setdefault(order_id, line)
            continue
        bucket = orders.get(order_id)
        if bucket is None:
            orders[order_id] = [parsed]
        else:
            bucket.append(parsed)
    return orders, spoilt, n_rows


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
    rows: Iterator[Row],
    resolved: ResolvedMapping,
    errors: ErrorLog,
    *,
    actor: Actor,
    source: str,
    progress: Callable[[int, int], None] | None = None,
    total: int = 0,
) -> OrdersOutcome:
    """Validate and load an orders file; rejected rows and orders go to ``errors``.

    The cyclic garbage collector is paused meanwhile: the millions of small objects a large
    file creates hold no cycles, and its repeated full scans made a 1M-line import several
    times slower than a 200k one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import_orders(
            session,
            rows,
            resolved,
            errors,
            actor=actor,
            source=source,
            progress=progress,
            total=total,
        )
    finally:
        if was_enabled:
            gc.enable()


def _import_orders(
    session: Session,
    rows: Iterator[Row],
    resolved: ResolvedMapping,
    errors: ErrorLog,
    *,
    actor: Actor,
    source: str,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> OrdersOutcome:
    orders, spoilt, n_rows = _parse_rows(rows, resolved, errors, progress, total)
    good: dict[str, list[_Line]] = {}
    for order_id, lines in orders.items():
        bad_line = spoilt.get(order_id)
        problem = None if bad_line is not None else _check_order(order_id, lines)
        if problem is not None:
            bad_line = problem[0]
            errors.add(problem[0], problem[1], problem[2], problem[3])
        if bad_line is None:
            good[order_id] = lines
            continue
        for line in lines:
            if line.line != bad_line:
                errors.add(
                    line.line,
                    None,
                    order_id,
                    f"order {order_id} rejected because line {bad_line} is invalid",
                )
    countries: dict[str, str | None] = {}
    names: dict[str, str] = {}
    for lines in good.values():
        first = lines[0]
        if first.customer_id is not None and first.customer_id not in countries:
            countries[first.customer_id] = first.country
        for line in lines:
            if line.sku not in names or (not names[line.sku] and line.description):
                names[line.sku] = line.description
    customer_ids, n_new_customers = ensure_customers(session, countries, actor=actor, source=source)
    product_ids, product_counts = ensure_products(session, names, actor=actor)
    bulk: list[BulkOrder] = []
    n_loaded = 0
    for order_id, lines in good.items():
        first = lines[0]
        is_return = is_cancellation(order_id) or first.quantity < 0
        order = BulkOrder(
            order_id,
            None if first.customer_id is None else customer_ids[first.customer_id],
            OrderKind.RETURN if is_return else OrderKind.SALE,
            min(line.ordered_at for line in lines),
            first.channel,
            first.currency,
            first.country,
            [
                (
                    line.line_no or number,
                    product_ids[line.sku],
                    line.quantity,
                    line.unit_price,
                    line.discount,
                )
                for number, line in enumerate(lines, start=1)
            ],
        )
        bulk.append(order)
        n_loaded += len(lines)
    order_counts = load_orders(session, bulk, actor=actor)
    if progress is not None:
        progress(n_rows, n_rows)
    return OrdersOutcome(
        n_rows=n_rows,
        n_loaded=n_loaded,
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
