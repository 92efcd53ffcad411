"""Export of N order rows to Parquet: ADBC (kehu) against SQLAlchemy + pandas, same run.

    .venv/bin/python benchmarks/scale/export.py --rows 10000000 --databases sqlite postgresql

Builds a scratch ``orders`` table of N rows (a SQLite file under /tmp, a scratch schema on
the PostgreSQL at KEHU_TEST_DATABASE_URL, dropped at the end), then times
``kehu.batch.export_parquet`` (ADBC → Arrow → Parquet, streamed) against the anchor
``pandas.read_sql`` + ``DataFrame.to_parquet`` on the same table, and checks both files
hold the same number of rows. Reports seconds, rows per second and the ratio.
"""

import argparse
import os
import resource
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
from sqlalchemy import create_engine, text

from kehu.batch import export_parquet

PG_URL = os.environ.get(
    "KEHU_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COLUMNS = "id, customer_id, kind, ordered_at, currency, CAST(total AS {float}) AS total"
DDL = (
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT, kind VARCHAR(16), "
    "ordered_at {ts}, currency VARCHAR(3), total NUMERIC(14, 2))"
)


def _sqlite_store(path: Path, rows: int) -> str:
    connection = sqlite3.connect(path)
    connection.execute(DDL.format(ts="DATETIME"))
    connection.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO orders SELECT i, i % 1000003, CASE WHEN i % 31 = 0 THEN 'return' "
        "ELSE 'sale' END, datetime(1672531200 + (i * 7919) % 63072000, 'unixepoch') "
        "|| '.000000', 'GBP', round((i % 9973) / 7.0, 2) FROM n",
        (rows,),
    )
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def _pg_store(schema: str, rows: int) -> str:
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        connection.execute(text(DDL.format(ts="TIMESTAMPTZ")))
        connection.execute(
            text(
                "INSERT INTO orders SELECT i, i % 1000003, CASE WHEN i % 31 = 0 THEN 'return' "
                "ELSE 'sale' END, to_timestamp(1672531200 + (i * 7919) % 63072000), 'GBP', "
                "round((i % 9973) / 7.0, 2) FROM generate_series(1::bigint, :n) AS i"
            ),
            {"n": rows},
        )
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _anchor(url: str, out: Path, dialect: str) -> int:
    """SQLAlchemy + pandas: read_sql into a DataFrame, then to_parquet."""
    engine = create_engine(url)
    float_type = "DOUBLE PRECISION" if dialect == "postgresql" else "REAL"
    query = f"SELECT {COLUMNS.format(float=float_type)} FROM orders ORDER BY id"  # noqa: S608
    frame = pd.read_sql(text(query), engine, parse_dates=["ordered_at"])
    out.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out / "part-0.parquet", index=False)
    engine.dispose()
    return len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    for dialect in args.databases:
        with tempfile.TemporaryDirectory(prefix="kehu-export-") as scratch:
            base = Path(scratch)
            schema = f"kehu_bench_{uuid.uuid4().hex[:8]}"
            mark = time.perf_counter()
            if dialect == "sqlite":
                url = _sqlite_store(base / "store.db", args.rows)
            else:
                url = _pg_store(schema, args.rows)
            build = time.perf_counter() - mark
            try:
                mark = time.perf_counter()
                report = export_parquet(url, base / "adbc", tables=["orders"])
                adbc = time.perf_counter() - mark
                mark = time.perf_counter()
                n_anchor = _anchor(url, base / "pandas" / "orders", dialect)
                anchor = time.perf_counter() - mark
                n_adbc = ds.dataset(base / "adbc" / "orders").count_rows()
                if not n_adbc == n_anchor == args.rows == report.n_rows:
                    raise SystemExit(f"row counts differ: ADBC {n_adbc}, pandas {n_anchor}")
            finally:
                if dialect == "postgresql":
                    engine = create_engine(PG_URL)
                    with engine.begin() as connection:
                        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    engine.dispose()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{dialect}: {args.rows:,} rows (built in {build:.1f} s) | ADBC export "
                f"{adbc:.1f} s ({args.rows / adbc:,.0f} rows/s) | SQLAlchemy + pandas "
                f"{anchor:.1f} s ({args.rows / anchor:,.0f} rows/s) | ratio "
                f"{anchor / adbc:.1f}x | process peak {peak:,.0f} MiB"
            )


if __name__ == "__main__":
    main()
