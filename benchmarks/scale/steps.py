"""The recommender and relations steps of `kehu analyze`: from the store against an engine.

    .venv/bin/python benchmarks/scale/steps.py /tmp/kehu-scale/1000000 \\
        --db /tmp/kehu-scale/steps-1000000.db

Loads the synthetic Parquet (`generate.py`) into a scratch SQLite store once (`--db` is
reused when it exists; `kehu.store.bulk.insert_rows`, as an import would), then, each in a
fresh process so peak memory is its own:

- **store**: the steps as `kehu analyze` runs them without `--engine`:
  `train_recommender` (the store's lines read row by row, the fit, the save) and the
  relationship playbooks' order facts (`StoreOrderFacts`) inside `build_snapshots`, plus the
  free-service purchases;
- **duckdb** (or **spark**): the same with `--engine` (`EnginePurchases`,
  `EngineOrderFacts` over the same rows in Parquet).

The two recommenders' arrays and the two snapshot lists (as a digest) must be equal; the
script says so, and fails otherwise. Prints one JSON line per run and a Markdown table.
"""

import argparse
import datetime as dt
import hashlib
import json
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

AS_OF = dt.date(2024, 12, 31)
SERVICE = {"product_ids": [7, 42], "categories": ["category-3"]}
_BATCH = 200_000
PRODUCT_COLUMNS = ["id", "sku", "category", "name", "currency", "is_durable", "in_stock"]
PRODUCT_COLUMNS += ["created_at", "updated_at"]


def _rows(table: Any, columns: list[str], extra: dict[str, Any]) -> Any:
    """Rows of a Parquet dataset's ``columns`` plus constant ``extra`` values, batch by batch."""
    constants = tuple(extra.values())
    for batch in table.to_batches(max_chunksize=_BATCH):
        values = [batch.column(c).to_pylist() for c in columns]
        for row in zip(*values, strict=True):
            yield (*row, *constants)


def load_store(input_dir: Path, db: Path) -> None:
    """Fill a fresh SQLite store at ``db`` from the synthetic Parquet (ids kept)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from kehu.commerce import Order, OrderLine, Product
    from kehu.core import utcnow
    from kehu.customers import Customer
    from kehu.store import make_engine, make_session_factory, upgrade_to_head
    from kehu.store.bulk import insert_rows

    url = f"sqlite:///{db}"
    upgrade_to_head(url)
    now = utcnow()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        products = ds.dataset(input_dir / "products").to_table()
        insert_rows(
            session,
            Product.__table__,
            PRODUCT_COLUMNS,
            _rows(
                products,
                ["id", "sku", "category"],
                {"name": "", "currency": "GBP", "d": False, "s": True, "c": now, "u": now},
            ),
        )
        for name, table, columns, extra in (
            (
                "customers",
                Customer.__table__,
                ["id", "is_active", "merged_into_id", "created_at"],
                {"kind": "person", "name": "", "notes": "", "updated_at": now},
            ),
            (
                "orders",
                Order.__table__,
                ["id", "customer_id", "kind", "ordered_at", "currency", "total"],
                {"channel": "web", "created_at": now, "updated_at": now},
            ),
            (
                "order_lines",
                OrderLine.__table__,
                ["id", "order_id", "line_no", "product_id", "quantity", "unit_price", "discount"],
                {},
            ),
        ):
            data = ds.dataset(input_dir / name).to_table()
            if name == "orders":
                external = pc.binary_join_element_wise("O-", pc.cast(data["id"], "string"), "")
                data = data.append_column("external_id", external)
                columns = [*columns, "external_id"]
            if name == "customers":
                external = pc.binary_join_element_wise("C-", pc.cast(data["id"], "string"), "")
                data = data.append_column("external_id", external)
                columns = [*columns, "external_id"]
            started = time.perf_counter()
            # In id order: a merged customer points at a lower id, already stored.
            insert_rows(session, table, [*columns, *extra], _money(_rows(data, columns, extra)))
            print(f"loaded {name}: {data.num_rows:,} rows in {time.perf_counter() - started:.0f} s")
        session.commit()
    engine.dispose()


def _money(rows: Any) -> Any:
    """Floats of two decimals as Decimal (the store's amounts)."""
    for row in rows:
        yield tuple(
            Decimal(repr(v)).quantize(Decimal("0.01")) if isinstance(v, float) else v for v in row
        )


class _TimedLines:
    """An order-line source that times its read (the store's, or an engine's)."""

    def __init__(self, read: Any) -> None:
        self.read = read
        self.seconds = 0.0

    def order_lines(self, *, until: dt.datetime | None = None) -> Any:
        started = time.perf_counter()
        lines = self.read(until=until)
        self.seconds = time.perf_counter() - started
        return lines


def run_one(input_dir: str, db: str, engine_name: str, model_dir: str) -> dict[str, Any]:
    """Time both steps on ``engine_name`` (``store``: no engine) in this process."""
    from kehu.core import Settings
    from kehu.jobs.recommend import load_order_lines, train_recommender
    from kehu.jobs.relations import StoreOrderFacts, build_snapshots
    from kehu.store import make_engine, make_session_factory

    url = f"sqlite:///{db}"
    settings = Settings(environment="test", database_url=url, model_dir=Path(model_dir))
    times: dict[str, float] = {}
    engine = make_engine(url)
    batch = None
    with make_session_factory(engine)() as session:
        if engine_name == "store":
            lines = _TimedLines(lambda until: load_order_lines(session, until=until))
            facts: Any = StoreOrderFacts(session)
        else:
            from kehu.batch import EngineOrderFacts, EnginePurchases, connect, read_tables

            mark = time.perf_counter()
            batch = connect(engine_name)
            tables = read_tables(batch, input_dir)
            times["engine_start_s"] = time.perf_counter() - mark
            lines = _TimedLines(EnginePurchases(batch, tables).order_lines)
            facts = EngineOrderFacts(batch, tables)
        mark = time.perf_counter()
        report = train_recommender(session, settings=settings, source=lines)
        times["recs_step_s"] = time.perf_counter() - mark
        times["recs_read_s"] = lines.seconds
        if not report.trained:
            raise SystemExit(report.message)
        mark = time.perf_counter()
        n_with_orders = len(facts.customer_orders(AS_OF))
        times["customer_orders_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        purchases = facts.service_purchases(
            after=AS_OF - dt.timedelta(days=400), as_of=AS_OF, **SERVICE
        )
        times["service_purchases_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        snapshots = build_snapshots(
            session, as_of=AS_OF, source=None if engine_name == "store" else facts
        )
        times["snapshots_s"] = time.perf_counter() - mark
        digest = hashlib.sha256(
            json.dumps(snapshots, default=str, sort_keys=True).encode()
        ).hexdigest()
        session.rollback()
    if batch is not None:
        batch.close()
    engine.dispose()
    return {
        "engine": engine_name,
        "n_lines": report.n_lines,
        "n_customers": report.n_customers,
        "n_items": report.n_items,
        "n_with_orders": n_with_orders,
        "n_service_purchases": len(set(purchases)),
        "n_snapshots": len(snapshots),
        "snapshots_sha256": digest,
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _same_models(first: Path, second: Path) -> bool:
    import numpy as np

    with (
        np.load(first / "recommender" / "arrays.npz") as a,
        np.load(second / "recommender" / "arrays.npz") as b,
    ):
        return a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("--db", required=True, help="scratch SQLite store (made if missing)")
    parser.add_argument("--engines", nargs="+", default=["store", "duckdb"])
    parser.add_argument("--models", default=None, help="where the runs save their models")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = Path(args.models or f"{args.db}.models")
    if args.one:
        engine = args.engines[0]
        print(json.dumps(run_one(args.input, args.db, engine, str(models / engine))))
        return
    if not Path(args.db).exists():
        load_store(Path(args.input), Path(args.db))
    results = []
    for engine in args.engines:
        command = [sys.executable, __file__, args.input, "--db", args.db, "--engines", engine]
        command += ["--models", str(models), "--one"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode != 0 or not line.startswith("{"):
            print(f"{engine} failed:\n{done.stderr[-3000:]}")
            continue
        print(line, flush=True)
        results.append(json.loads(line))
    if len(results) > 1:
        first = results[0]
        for other in results[1:]:
            same_model = _same_models(models / first["engine"], models / other["engine"])
            same_snapshots = other["snapshots_sha256"] == first["snapshots_sha256"]
            print(
                f"{other['engine']} against {first['engine']}: recommender arrays "
                f"{'equal' if same_model else 'DIFFERENT'}, snapshots "
                f"{'equal' if same_snapshots else 'DIFFERENT'}"
            )
            if not (same_model and same_snapshots):
                raise SystemExit(1)
    print(
        "\n| source | lines | recs read s | recs step s | customer orders s "
        "| service purchases s | snapshots s | peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s = r["seconds"]
        print(
            f"| {r['engine']} | {r['n_lines']:,} | {s['recs_read_s']:.1f} | {s['recs_step_s']:.1f} "
            f"| {s['customer_orders_s']:.1f} | {s['service_purchases_s']:.1f} "
            f"| {s['snapshots_s']:.1f} | {r['peak_mib']:,} |"
        )


if __name__ == "__main__":
    main()
