"""Preview: the first rows of a file as an import would load them, without touching the store.

The rows go through the same stages as :func:`kehu.ingest.run_import` (the readers, the
mapping's matching and the row models), so what a mapping screen shows is what the import
does with those rows. Checks that need the whole file or the store (an order's lines agreeing,
an id repeated further down) are left to the dry run.
"""

from itertools import islice
from typing import Any

from kehu.commerce import OrderKind
from kehu.ingest.kinds import check_kind
from kehu.ingest.mapping import resolve_mapping
from kehu.ingest.orders import _business_problem, _Line, is_cancellation
from kehu.ingest.readers import read_table
from kehu.ingest.validation import ROW_MODELS, OrderLineRow, validate_row

#: Defaults the orders loader fills in for fields a file leaves out or blank.
_ORDER_DEFAULTS = {"channel": "store", "currency": "GBP"}


def _order_values(row: OrderLineRow, line: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = row.model_dump()
    for name, default in _ORDER_DEFAULTS.items():
        values[name] = values[name] or default
    values["kind"] = str(
        OrderKind.RETURN if is_cancellation(row.order_id) or row.quantity < 0 else OrderKind.SALE
    )
    parsed = _Line(
        line,
        row.customer_id,
        row.ordered_at,
        row.sku,
        row.description or "",
        row.quantity,
        row.unit_price,
        row.discount,
        row.line_no,
        values["channel"],
        values["currency"],
        row.country,
    )
    problem = _business_problem(row.order_id, parsed)
    if problem is None:
        return values, []
    field, value, reason = problem
    return values, [{"field": field, "value": str(value), "reason": reason}]


def preview_import(
    *,
    kind: str,
    data: bytes,
    filename: str,
    mapping: dict[str, str] | None = None,
    n: int = 10,
    file_format: str | None = None,
) -> list[dict[str, object]]:
    """Return the first ``n`` rows of a file mapped and parsed as an import would load them.

    Parameters
    ----------
    kind
        One of :data:`kehu.ingest.KINDS`.
    data
        The file's bytes (the caller caps their size).
    filename
        Its name (the extension picks the format unless ``file_format``).
    mapping
        ``{kehu field: source column}`` as for :func:`kehu.ingest.run_import`; fields left out
        are matched by name or alias, a field mapped to ``""`` is left unmapped.
    n
        How many rows.
    file_format
        ``csv``, ``xlsx``, ``jsonl``, ``parquet`` or ``cdnow`` when the name does not tell.

    Returns
    -------
    list of dict
        One dict per row, in file order: ``line`` (the file's line number), every field of
        ``kind`` with its parsed value (times as UTC :class:`~datetime.datetime`, amounts as
        :class:`~decimal.Decimal`, ``None`` when empty; orders get the loader's defaults and a
        ``kind``, ``sale`` or ``return``), and ``errors``: ``[]`` for a row that loads, else
        ``{"field", "value", "reason"}`` dicts (the field values are ``None`` when the row
        does not parse). Nothing is written anywhere.

    Raises
    ------
    InvalidInputError
        As :func:`kehu.ingest.run_import` does for a file that cannot be used as a whole
        (unknown kind, malformed file, a required field without a column...).
    """
    specs = check_kind(kind)
    table = read_table(data, filename, kind=kind, file_format=file_format)
    resolved = resolve_mapping(kind, table.columns, mapping)
    model = ROW_MODELS[kind]
    context = {"date_format": resolved.date_format}
    width = max(resolved.indexes.values(), default=-1) + 1
    empty: dict[str, object] = {spec.name: None for spec in specs}
    if kind == "orders":
        empty["kind"] = None
    rows: list[dict[str, object]] = []
    for line, raw in islice(table.rows, max(n, 0)):
        cells = raw + [None] * (width - len(raw))
        texts = resolved.extract(cells)
        parsed, problems = validate_row(model, texts, context)
        if parsed is None:
            errors = [
                {"field": field, "value": texts.get(field) if field else None, "reason": reason}
                for field, reason in problems
            ]
            rows.append({"line": line, **empty, "errors": errors})
            continue
        if isinstance(parsed, OrderLineRow):
            values, errors = _order_values(parsed, line)
        else:
            values, errors = parsed.model_dump(), []
        rows.append({"line": line, **empty, **values, "errors": errors})
    return rows
