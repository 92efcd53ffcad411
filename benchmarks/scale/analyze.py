"""The `kehu analyze` batch path on DuckDB and on Spark local mode, at several sizes.

    .venv/bin/python benchmarks/scale/analyze.py /tmp/kehu-scale/100000 /tmp/kehu-scale/1000000 \
        --engines duckdb spark

Each (input, engine) runs in a fresh process so its peak memory (driver, and for Spark the
JVM, a child process) is its own. Per run: the value step as `kehu analyze --engine E
--input DIR` does it (orders summarised on the engine, BG/NBD and Gamma-Gamma fitted and
every customer scored on the driver; writing the scores to the store is left out, it does
not depend on the engine), then the other batch features (health windows and history,
cohorts, item counts, co-occurrences, ticket categories) run to completion on the engine.
Prints one JSON line per run and a Markdown table at the end. *features* counts the
customers' baskets (computed once, cached on the engine, for item counts and co-occurrences)
and *health* what the health step asks the engine for (`--skip health` leaves it out);
*recommender* the purchases the engine folds for the recommender (`recs_engine`) and the fit
on the driver (`recs_fit`), and *relations* the order facts of the relationship playbooks
(`--skip recommender relations` leaves them out). `steps.py` times those two steps from
the store as well.

Spark at 10M on one machine, one command (minutes of both cores and ~10 GB; see README):

    .venv/bin/python benchmarks/scale/analyze.py /tmp/kehu-scale/10000000 --engines spark
"""

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from typing import Any

AS_OF = dt.date(2024, 12, 31)
FEATURES = (
    "baskets",
    "health_history",
    "health_windows",
    "cohort_counts",
    "item_counts",
    "category_counts",
    "cooccurrence",
)


def _jvm_peak_mib(spark: Any) -> float:
    """Peak resident memory of Spark's JVM (VmHWM), read before it stops."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (AttributeError, OSError):
        pass
    return 0.0


def _peak_mib(jvm: float) -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"driver_peak_mib": round(own), "jvm_peak_mib": round(jvm)}


def _health_inputs(engine: Any, tables: Any) -> int:
    """What `kehu analyze --engine` asks the engine for in its health step (no store writes).

    Signals now and one and two windows back, P(alive) and next-window outcomes at the two
    earlier days (the churn model's fit and check), cohorts: as ``jobs.health`` calls them.
    """
    from kehu.batch import EngineHealth

    health = EngineHealth(engine, tables)
    window = 90
    health.first_day(AS_OF)
    now = health.signals(AS_OF, window)
    for back in (1, 2):
        day = AS_OF - dt.timedelta(days=back * window)
        ids = health.signals(day, window).column("customer_id").combine_chunks()
        health.p_alive(day, ids)
        health.next_period(ids, day, window)
    health.cohorts(AS_OF)
    return now.num_rows


def _recommender(engine: Any, tables: Any) -> tuple[int, float, float]:
    """The recommender's purchases from the engine, then the fit: rows, engine s, fit s."""
    from kehu.analytics.recommend import Recommender
    from kehu.batch import EnginePurchases

    mark = time.perf_counter()
    purchases = EnginePurchases(engine, tables).order_lines()
    engine_s = time.perf_counter() - mark
    mark = time.perf_counter()
    Recommender().fit(purchases.drop_columns(["n_lines"]))
    return purchases.num_rows, engine_s, time.perf_counter() - mark


def _relations(engine: Any, tables: Any) -> int:
    """The relationship playbooks' order facts: per-customer sales, and service purchases."""
    from kehu.batch import EngineOrderFacts

    facts = EngineOrderFacts(engine, tables)
    n = len(facts.customer_orders(AS_OF))
    facts.service_purchases(
        after=AS_OF - dt.timedelta(days=400),
        as_of=AS_OF,
        product_ids=[7, 42],
        categories=["category-3"],
    )
    return n


def run_one(input_dir: str, engine_name: str, skip: list[str]) -> dict[str, Any]:
    """Time one engine on one input (in this process)."""
    import numpy as np

    from kehu.analytics.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
    from kehu.batch import connect, feature_expressions, read_tables, spark_session
    from kehu.batch._analyze import compute_orders

    times: dict[str, float] = {}
    started = time.perf_counter()
    spark = None
    if engine_name == "spark":
        spark = spark_session(
            config={"spark.driver.memory": "10g", "spark.sql.shuffle.partitions": "8"}
        )
    engine = connect(engine_name, spark=spark)
    times["start_s"] = time.perf_counter() - started
    tables = read_tables(engine, input_dir)
    mark = time.perf_counter()
    computed = compute_orders(engine, tables, as_of=AS_OF)
    times["summary_s"] = time.perf_counter() - mark
    summary = computed.summary
    mark = time.perf_counter()
    purchases = BetaGeoModel().fit(summary)
    spend = GammaGammaModel().fit(summary)
    times["fit_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    p_alive = purchases.probability_alive(summary)
    clv = customer_lifetime_value(purchases, spend, summary, months=12, discount_rate=0.008)
    if not np.all(np.isfinite(clv)) or len(p_alive) != summary.num_rows:
        raise SystemExit("the scores are not finite for every customer")
    times["score_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    # The customers' baskets once (cached on the engine) for item counts and co-occurrences.
    exprs = feature_expressions(tables, as_of=AS_OF, cache="cooccurrence" not in skip)
    times["baskets_s"] = time.perf_counter() - mark
    rows: dict[str, int] = {}
    for name in FEATURES:
        if name in skip or name not in exprs:
            continue
        mark = time.perf_counter()
        rows[name] = engine.to_arrow(exprs[name]).num_rows
        times[f"{name}_s"] = time.perf_counter() - mark
    if "health" not in skip:
        mark = time.perf_counter()
        rows["health_signals"] = _health_inputs(engine, tables)
        times["health_s"] = time.perf_counter() - mark
    if "recommender" not in skip:
        rows["recs_purchases"], times["recs_engine_s"], times["recs_fit_s"] = _recommender(
            engine, tables
        )
    if "relations" not in skip:
        mark = time.perf_counter()
        rows["relations_customers"] = _relations(engine, tables)
        times["relations_s"] = time.perf_counter() - mark
    times["total_s"] = time.perf_counter() - started
    jvm = _jvm_peak_mib(spark) if spark is not None else 0.0
    engine.close()
    if spark is not None:
        spark.stop()
    return {
        "input": input_dir,
        "engine": engine_name,
        "n_customers_scored": summary.num_rows,
        "n_orders": computed.n_orders,
        "distinct_purchase_tuples": purchases.n_distinct_
        if hasattr(purchases, "n_distinct_")
        else None,
        "feature_rows": rows,
        "seconds": {k: round(v, 2) for k, v in times.items()},
        **_peak_mib(jvm),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--skip", nargs="*", default=[], help="features to leave out")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.inputs[0], args.engines[0], args.skip)))
        return
    results = []
    for input_dir in args.inputs:
        for engine in args.engines:
            command = [sys.executable, __file__, input_dir, "--engines", engine, "--one"]
            if args.skip:
                command += ["--skip", *args.skip]
            done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
            line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if done.returncode != 0 or not line.startswith("{"):
                print(f"{input_dir} {engine} failed:\n{done.stderr[-3000:]}")
                continue
            result = json.loads(line)
            print(line, flush=True)
            results.append(result)
    print(
        "\n| customers | orders | engine | summary s | fit+score s | features s | health s "
        "| recs engine s | recs fit s | relations s | total s | driver MiB | JVM MiB |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s = r["seconds"]
        features = sum(v for k, v in s.items() if k.removesuffix("_s") in FEATURES)
        print(
            f"| {r['n_customers_scored']:,} | {r['n_orders']:,} | {r['engine']} "
            f"| {s['summary_s']:.1f} | {s['fit_s'] + s['score_s']:.1f} | {features:.1f} "
            f"| {s.get('health_s', 0.0):.1f} | {s.get('recs_engine_s', 0.0):.1f} "
            f"| {s.get('recs_fit_s', 0.0):.1f} | {s.get('relations_s', 0.0):.1f} "
            f"| {s['total_s']:.1f} "
            f"| {r['driver_peak_mib']:,} | {r['jvm_peak_mib']:,} |"
        )


if __name__ == "__main__":
    main()
