"""Read stage: bytes of a CSV, XLSX, JSONL, Parquet or CDNOW file → a header and raw rows.

Every reader returns a :class:`Table` whose rows are ``(line, values)`` pairs: ``line`` is the
file's line number for text files (1-based, the header being line 1) and the row number
(header = 1) for XLSX, JSONL and Parquet, so error reports point at what a spreadsheet shows.
File-level problems raise :class:`kehu.core.InvalidInputError`.
"""

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from kehu.core import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

FORMATS = ("csv", "xlsx", "jsonl", "parquet", "cdnow")

Row = tuple[int, list[str | None]]

_CDNOW_HEADER = ["customer_id", "date", "number_of_cds", "dollar_value"]
_CDNOW_LINE = re.compile(r"^\s*\d+(\s+\d+)?\s+\d{8}\s+-?\d+\s+-?[\d.]+\s*$")
_CSV_FIELD_LIMIT = 10 * 1024 * 1024
csv.field_size_limit(_CSV_FIELD_LIMIT)


@dataclass
class Table:
    """A file's header and an iterator over its rows."""

    columns: list[str]
    rows: Iterator[Row]
    format: str
    encoding: str | None = None
    n_rows_estimate: int = 0
    notes: list[str] = field(default_factory=list)
    #: The raw CSV (UTF-8, BOM removed) and its delimiter, for :func:`read_columns`.
    csv_source: tuple[bytes, str] | None = None


def read_columns(table: Table, indexes: list[int]) -> tuple[list["pa.Array"], "np.ndarray"]:
    """Return the columns at ``indexes`` as Arrow strings (null: no cell) and each row's line.

    A plain UTF-8 CSV is parsed by Arrow's multi-threaded reader when it agrees with the
    ``csv`` module's reading (one physical line per row, every row as wide as the header);
    anything else goes through ``table.rows``, so the result is the same either way.

    Raises
    ------
    InvalidInputError
        For a malformed file (as iterating ``table.rows`` would).
    """
    import numpy as np
    import pyarrow as pa

    if table.csv_source is not None:
        fast = _arrow_csv_columns(*table.csv_source, len(table.columns), indexes)
        if fast is not None:
            return fast
    values: list[list[str | None]] = [[] for _ in indexes]
    lines: list[int] = []
    for line, row in table.rows:
        lines.append(line)
        width = len(row)
        for out, i in zip(values, indexes, strict=True):
            out.append(row[i] if i < width else None)
    return [pa.array(v, pa.string()) for v in values], np.array(lines, dtype=np.int64)


def _arrow_csv_columns(
    data: bytes, delimiter: str, width: int, indexes: list[int]
) -> tuple[list["pa.Array"], "np.ndarray"] | None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [f"c{i}" for i in range(width)]
    wanted = sorted(set(indexes))
    try:
        parsed = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={names[i]: pa.string() for i in wanted},
                include_columns=[names[i] for i in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None  # the csv module reads it (or says exactly what is wrong)
    # Line numbers: the non-empty physical lines after the header. When Arrow found as many
    # rows as there are such lines, no row spans lines (a quoted newline) and they pair up.
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 10)
    if len(ends) == 0 or ends[-1] != len(buffer) - 1:
        ends = np.append(ends, len(buffer))
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    closing = np.minimum(ends, len(buffer)) - 1
    lengths -= (lengths > 0) & (buffer[np.maximum(closing, 0)] == 13)
    lines = np.flatnonzero(lengths > 0) + 1
    lines = lines[lines > 1]
    if len(lines) != parsed.num_rows or (
        b"\r" in data and data.count(b"\r") != data.count(b"\r\n")
    ):
        return None  # rows spanning lines, or lone carriage returns (the csv module splits)
    columns = [parsed.column(names[i]).combine_chunks() for i in indexes]
    return columns, lines.astype(np.int64)


def _reject(message: str, code: str = "ingest.bad_file") -> InvalidInputError:
    return InvalidInputError(message, code=code)


def guess_format(data: bytes, filename: str) -> str:
    """Return the format of a file from its name, or from its first bytes."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "csv"


def decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030.

    Returns the text and the encoding used. Binary files are refused.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:65536]:
        raise _reject(
            f"{filename} does not look like a text file (it contains NUL bytes); "
            "export it as CSV (UTF-8) or upload the XLSX, JSONL or Parquet file itself.",
            "ingest.not_text",
        )
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    # Chinese spreadsheets are commonly saved as GBK; GB18030 is its superset.
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None:
        try:
            return data.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise _reject(
        f"{filename} is not in a text encoding kehu can read; save it as CSV UTF-8.",
        "ingest.bad_encoding",
    )


def _cell(value: Any) -> str | None:
    """Turn a spreadsheet / JSON / Parquet value into the text a CSV would hold."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _looks_like_cdnow(text: str) -> bool:
    lines = [line for line in text[:4096].splitlines() if line.strip()][:6]
    if not lines:
        return False
    if lines[0].split() == _CDNOW_HEADER:
        lines = lines[1:]
    return bool(lines) and all(_CDNOW_LINE.match(line) for line in lines[:5])


def _read_cdnow(text: str) -> Table:
    """CDNOW's whitespace-separated logs, as order lines (one order and line per transaction).

    ``CDNOW_master.txt`` has a header (customer_id date number_of_cds dollar_value);
    ``CDNOW_sample.txt`` has none and two id columns (master id, sample id). Each transaction
    becomes order ``cdnow-<customer>-<date>-<n>`` (n counts same-day transactions) of
    ``number_of_cds`` units of product ``CD``; the unit price is the dollar value per CD rounded
    up to the cent and the line's discount returns the rounding, so the order total is exactly
    the dollar value.
    """
    columns = ["order_id", "customer_id", "ordered_at", "sku", "description", "quantity"]
    columns += ["unit_price", "discount"]
    lines = text.splitlines()

    def rows() -> Iterator[Row]:
        seen: dict[tuple[str, str], int] = {}
        for number, line in enumerate(lines, start=1):
            parts = line.split()
            if not parts or parts == _CDNOW_HEADER:
                continue
            if len(parts) == 5:
                parts = [parts[0], *parts[2:]]
            if len(parts) != 4:
                yield number, [None] * len(columns)
                continue
            customer, day, n_cds, value = parts
            key = (customer, day)
            seen[key] = seen.get(key, 0) + 1
            try:
                n = int(n_cds)
                amount = Decimal(value)
                unit = (
                    (amount / n).quantize(Decimal("0.01"), rounding=ROUND_CEILING) if n else amount
                )
                discount = str(unit * n - amount) if n else "0"
            except (ValueError, InvalidOperation, ArithmeticError):
                unit, discount = value, "0"  # type: ignore[assignment]  # reported by validation
            yield (
                number,
                [
                    f"cdnow-{customer}-{day}-{seen[key]}",
                    customer,
                    day,
                    "CD",
                    "CD",
                    n_cds,
                    str(unit),
                    discount,
                ],
            )

    return Table(columns, rows(), "cdnow", n_rows_estimate=len(lines))


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(text: str, filename: str) -> Table:
    end = text.find("\n")
    first = text if end < 0 else text[:end]  # not split(): that copies the whole file
    if not first.strip():
        raise _reject(f"{filename} has no header row (its first line is empty).", "ingest.empty")
    delimiter = _sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise _reject(f"{filename}: the header row cannot be read ({exc}).") from exc
    columns = [name.strip() for name in header]

    def rows() -> Iterator[Row]:
        previous = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _reject(
                    f"{filename}, line {previous + 1}: the file is not valid CSV ({exc})."
                ) from exc
            start, previous = previous + 1, reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            yield start, values  # type: ignore[misc]  # list[str] is a list[str | None]

    return Table(columns, rows(), "csv", n_rows_estimate=max(text.count("\n") - 1, 1))


def _json_array(text: str, filename: str) -> list[tuple[int, dict[str, Any]]]:
    """Read a JSON array of objects (a .json export); record n is reported as line n + 1."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _reject(
            f"{filename}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).",
            "ingest.bad_jsonl",
        ) from exc
    if not isinstance(values, list):
        raise _reject(f"{filename}: expected a JSON array of objects.", "ingest.bad_jsonl")
    records = []
    for number, value in enumerate(values, start=2):
        if not isinstance(value, dict):
            raise _reject(
                f"{filename}, record {number - 1}: expected a JSON object ({{...}}), "
                f"found {type(value).__name__}.",
                "ingest.bad_jsonl",
            )
        records.append((number, value))
    return records


def _read_jsonl(text: str, filename: str) -> Table:
    records: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    if text.lstrip().startswith("["):
        records = _json_array(text, filename)
        for _, value in records:
            columns.update(dict.fromkeys(value))
    for number, line in enumerate(() if records else text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _reject(
                f"{filename}, line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "a JSONL file holds one JSON object per line.",
                "ingest.bad_jsonl",
            ) from exc
        if not isinstance(value, dict):
            raise _reject(
                f"{filename}, line {number}: expected a JSON object ({{...}}), "
                f"found {type(value).__name__}.",
                "ingest.bad_jsonl",
            )
        columns.update(dict.fromkeys(value))
        records.append((number, value))
    names = list(columns)
    return Table(
        names,
        ((n, [_cell(r.get(c)) for c in names]) for n, r in records),
        "jsonl",
        n_rows_estimate=len(records),
    )


def _read_xlsx(data: bytes, filename: str) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = next(values, None)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError) as exc:
        raise _reject(
            f"{filename} is not a readable XLSX workbook ({exc}); re-save it from your "
            "spreadsheet program as .xlsx or export CSV.",
            "ingest.bad_xlsx",
        ) from exc
    if header is None or all(v is None for v in header):
        raise _reject(f"{filename}: the first sheet is empty.", "ingest.empty")
    columns = [_cell(v) or f"column_{i + 1}" for i, v in enumerate(header)]
    width = len(columns)

    def rows() -> Iterator[Row]:
        try:
            for number, row in enumerate(values, start=2):
                cells = [_cell(v) for v in row[:width]]
                if all(c is None or not c.strip() for c in cells):
                    continue
                yield number, cells + [None] * (width - len(cells))
        finally:
            workbook.close()

    return Table(columns, rows(), "xlsx", n_rows_estimate=max((sheet.max_row or 2) - 1, 1))


def _read_parquet(data: bytes, filename: str) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _reject(
            f"{filename} is not a readable Parquet file ({exc}).", "ingest.bad_parquet"
        ) from exc
    names = table.column_names

    def rows() -> Iterator[Row]:
        number = 1
        for batch in table.to_batches(max_chunksize=50_000):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                number += 1
                yield number, [_cell(v) for v in values]

    return Table(names, rows(), "parquet", n_rows_estimate=table.num_rows)


def read_table(
    data: bytes, filename: str, *, kind: str | None = None, file_format: str | None = None
) -> Table:
    """Read ``data`` into a :class:`Table` (format from ``file_format``, the name or the bytes).

    Raises
    ------
    InvalidInputError
        For an empty, binary, undecodable or malformed file.
    """
    if not data.strip():
        raise _reject(f"{filename} is empty.", "ingest.empty")
    if file_format is not None and file_format not in FORMATS:
        raise _reject(f"Unknown file format {file_format!r}; use one of {', '.join(FORMATS)}.")
    fmt = file_format or guess_format(data, filename)
    if fmt == "xlsx":
        return _read_xlsx(data, filename)
    if fmt == "parquet":
        return _read_parquet(data, filename)
    text, encoding = decode_text(data, filename)
    if fmt == "cdnow" or (fmt == "csv" and kind in (None, "orders") and _looks_like_cdnow(text)):
        table = _read_cdnow(text)
        table.encoding = encoding
        return table
    table = _read_jsonl(text, filename) if fmt == "jsonl" else _read_csv(text, filename)
    table.encoding = encoding
    if table.format == "csv" and encoding in ("utf-8", "utf-8-sig"):
        body = data[3:] if encoding == "utf-8-sig" else data
        table.csv_source = (body, _sniff_delimiter(text.split("\n", 1)[0]))
    return table
