"""Readers for the public data sets the models are checked against (CDNOW)."""

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kehu.analytics._base import InvalidDataError


def read_cdnow(path: str | Path) -> pa.Table:
    """Read a CDNOW transaction log into ``customer_id``, ``date``, ``amount``.

    Both public layouts are understood: ``CDNOW_master.txt`` (header line; customer id, date
    ``YYYYMMDD``, number of CDs, dollar value) and ``CDNOW_sample.txt`` (no header; master id,
    sample id, date, number of CDs, dollar value). A ``.gz`` file is decompressed on the fly.

    Parameters
    ----------
    path
        The file (``CDNOW_master.txt``, ``CDNOW_sample.txt``, or the same gzipped).

    Returns
    -------
    pyarrow.Table
        Columns ``customer_id`` (string), ``date`` (date32), ``amount`` (float64), one row per
        line of the log.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as handle:
        lines = [line.split() for line in handle if line.strip()]
    if not lines:
        raise InvalidDataError(f"{path} holds no transactions.", code="analytics.empty")
    if not lines[0][0].isdigit():
        lines = lines[1:]
    width = len(lines[0])
    if width not in (4, 5) or any(len(line) != width for line in lines):
        raise InvalidDataError(
            f"{path} is not a CDNOW log (expected 4 or 5 whitespace-separated columns).",
            code="analytics.bad_format",
        )
    offset = width - 4
    ids = [line[0] for line in lines]
    dates = pa.array([line[1 + offset] for line in lines])
    amounts = pa.array([float(line[3 + offset]) for line in lines], type=pa.float64())
    parsed = pc.strptime(dates, format="%Y%m%d", unit="s").cast(pa.date32())
    return pa.table({"customer_id": pa.array(ids), "date": parsed, "amount": amounts})


def read_transactions(path: str | Path) -> pa.Table:
    """Read a CSV or Parquet file of transactions for the CLV models.

    Parameters
    ----------
    path
        ``.csv`` (header line) or ``.parquet`` file with ``customer_id``, ``date`` or
        ``timestamp``, and ``amount``.

    Returns
    -------
    pyarrow.Table
        The file's columns as read (the summary checks names and types).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidDataError(f"No such file: {path}.", code="analytics.no_file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix in (".csv", ".txt", ".gz"):
            # An empty customer id is a missing value (reported by the summary), not customer "".
            options = pacsv.ConvertOptions(
                column_types={"customer_id": pa.string()}, strings_can_be_null=True
            )
            return pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidDataError(
            f"Could not read {path.name}: {exc}", code="analytics.bad_format"
        ) from exc
    raise InvalidDataError(
        f"{path.name}: expected a .csv or .parquet file.", code="analytics.bad_format"
    )
