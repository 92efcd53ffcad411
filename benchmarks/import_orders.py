"""Time ``kehu.ingest.run_import`` on 1M synthetic order lines into SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/import_orders.py [--lines 1000000] [--skip-postgresql]

The file is generated with a fixed seed: ~50k customers, ~5k products, ~100k orders of ~10
lines over 2009-2011, ~2 % of orders returns (id prefixed with C, negative quantities), ~10 %
guest orders. Anchors measured in the same run: parsing the CSV with the ``csv`` module alone,
and a plain ``executemany`` (SQLite) / ``COPY`` (PostgreSQL) of the same line tuples into a
table of the same shape. Results go to benchmarks/results/import_orders-<time>.json.
"""

import argparse
import csv
import io
import json
import os
import platform
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

import kehu.models  # noqa: F401 - every table registered
from kehu.commerce import OrderLine
from kehu.core import Actor
from kehu.ingest import run_import
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACTOR = Actor(kind="import", label="benchmark")


def generate(n_lines: int, seed: int = 20091201) -> bytes:
    """Return a seeded orders CSV with about ``n_lines`` lines."""
    rng = random.Random(seed)
    n_customers, n_products = 50_000, 5_000
    prices = [
        f"{rng.choice([0.42, 0.85, 1.25, 2.1, 2.95, 4.95, 7.5, 12.75]) + i % 7 / 100:.2f}"
        for i in range(n_products)
    ]
    start = datetime(2009, 12, 1, 7, 0, tzinfo=UTC)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "Invoice",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "Price",
            "Customer ID",
            "Country",
        ]
    )
    written, order_no = 0, 500_000
    while written < n_lines:
        order_no += 1
        is_return = rng.random() < 0.02
        customer = "" if rng.random() < 0.1 else str(12_000 + rng.randrange(n_customers))
        when = (start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        country = "United Kingdom" if rng.random() < 0.9 else "France"
        order = f"C{order_no}" if is_return else str(order_no)
        for _ in range(min(rng.randint(1, 19), n_lines - written)):
            product = rng.randrange(n_products)
            quantity = rng.choice([1, 2, 3, 4, 6, 12, 24])
            writer.writerow(
                [
                    order,
                    f"SKU{product:05d}",
                    f"PRODUCT {product}",
                    -quantity if is_return else quantity,
                    when,
                    prices[product],
                    customer,
                    country,
                ]
            )
            written += 1
    return out.getvalue().encode()


def time_import(url: str, data: bytes) -> dict[str, float]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with session_scope(factory) as session:
        run = run_import(session, kind="orders", data=data, filename="bench.csv", actor=ACTOR)
    seconds = time.perf_counter() - started
    with factory() as session:
        stored = session.scalar(select(func.count()).select_from(OrderLine))
    engine.dispose()
    if stored != run.n_loaded:
        raise RuntimeError(f"{stored} lines stored, {run.n_loaded} reported loaded")
    return {
        "seconds": seconds,
        "rows": run.n_rows,
        "loaded": run.n_loaded,
        "rows_per_s": run.n_rows / seconds,
        "n_errors": run.n_errors,
    }


def parse_tuples(data: bytes) -> tuple[float, list[tuple[object, ...]]]:
    started = time.perf_counter()
    reader = csv.reader(io.StringIO(data.decode()))
    next(reader)
    rows = [(i, 1, 1, int(r[3]), float(r[5]), 0.0) for i, r in enumerate(reader)]
    return time.perf_counter() - started, rows


def anchor_sqlite(rows: list[tuple[object, ...]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        connection = sqlite3.connect(Path(tmp) / "anchor.db")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id INTEGER, "
            "line_no INTEGER, product_id INTEGER, quantity INTEGER, unit_price "
            "NUMERIC, discount NUMERIC, UNIQUE (order_id, line_no))"
        )
        started = time.perf_counter()
        connection.executemany(
            "INSERT INTO lines (order_id, line_no, product_id, quantity, "
            "unit_price, discount) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.commit()
        seconds = time.perf_counter() - started
        connection.close()
    return seconds


def anchor_postgresql(base_url: str, rows: list[tuple[object, ...]]) -> float:
    url = make_url(base_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        connection.execute(
            "CREATE TEMP TABLE lines (id bigserial PRIMARY KEY, order_id bigint, "
            "line_no int, product_id bigint, quantity int, unit_price "
            "numeric(14,2), discount numeric(14,2), UNIQUE (order_id, line_no))"
        )
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY lines (order_id, line_no, product_id, quantity, unit_price, discount) "
                "FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(args.lines)
    results: dict[str, object] = {
        "lines": args.lines,
        "bytes": len(data),
        "generate_s": time.perf_counter() - started,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    parse_s, rows = parse_tuples(data)
    results["anchor_csv_parse_s"] = parse_s
    results["anchor_csv_parse_rows_per_s"] = len(rows) / parse_s
    print(
        f"{args.lines:,} lines, {len(data) / 1e6:.0f} MB; csv module parse {parse_s:.2f} s "
        f"({len(rows) / parse_s:,.0f} rows/s)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_to_head(url)
        sqlite = time_import(url, data)
    sqlite["anchor_executemany_s"] = anchor_sqlite(rows)
    results["sqlite"] = sqlite
    print(
        f"SQLite: {sqlite['seconds']:.2f} s, {sqlite['rows_per_s']:,.0f} rows/s; anchor "
        f"executemany of the same tuples {sqlite['anchor_executemany_s']:.2f} s"
    )

    if not args.skip_postgresql:
        base = os.environ.get("KEHU_TEST_DATABASE_URL", DEFAULT_PG_URL)
        schema = f"kehu_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(base)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url_obj = make_url(base)
            scoped = url_obj.set(query={**url_obj.query, "options": f"-csearch_path={schema}"})
            url = scoped.render_as_string(hide_password=False)
            upgrade_to_head(url)
            pg = time_import(url, data)
            pg["anchor_copy_s"] = anchor_postgresql(base, rows)
            results["postgresql"] = pg
            print(
                f"PostgreSQL: {pg['seconds']:.2f} s, {pg['rows_per_s']:,.0f} rows/s; anchor "
                f"COPY of the same tuples {pg['anchor_copy_s']:.2f} s"
            )
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    path = out / f"import_orders-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
