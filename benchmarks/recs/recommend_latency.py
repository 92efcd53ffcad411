"""Latency of ``Recommender.recommend(k=10)`` with reasons: the serving hot path.

Run: .venv/bin/python benchmarks/recs/recommend_latency.py [--data PARQUET] [--repeats N]
     [--against GIT_REF]

The model is the demo-size one: ``Recommender()`` (default settings) fitted on the demo's
order lines (``src/kehu/demo/data/online_retail_ii_demo.parquet``, an Online Retail II
slice, cleaned as in ``quality.py``). Every customer the model knows is asked once per
repeat (after one warm-up pass that builds the lookups), in a fixed shuffled order; each
call is timed alone (wall clock, ``time.perf_counter``) and its CPU time
(``time.process_time``) too, which is steadier on a shared machine. Goal: p50 <= 0.5 ms and
p99 <= 1.5 ms (wall). ``--against REF`` also fits the ``Recommender`` of
``src/kehu/analytics/recommend/_model.py`` at git ``REF`` (e.g. ``HEAD``) on the same lines
and times both in turns, customer by customer, so that the ratio holds on a busy machine.
"""

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from quality import load_clean

from kehu.analytics.recommend import Recommender

DEMO = Path(__file__).parents[2] / "src/kehu/demo/data/online_retail_ii_demo.parquet"


def _summary(wall: list[float], cpu: list[float]) -> dict[str, float]:
    ms = np.asarray(wall) * 1e3
    return {
        "calls": len(ms),
        "wall_p50_ms": float(np.percentile(ms, 50)),
        "wall_p90_ms": float(np.percentile(ms, 90)),
        "wall_p99_ms": float(np.percentile(ms, 99)),
        "wall_max_ms": float(ms.max()),
        "cpu_mean_ms": float(np.mean(cpu) * 1e3),
    }


def measure(models: dict[str, Any], customers: list[int], repeats: int) -> dict[str, Any]:
    """Time ``recommend(c, k=10)`` of each model for every customer, in turns."""
    for customer in customers:  # warm-up: lookups, caches, the CPU's
        for model in models.values():
            model.recommend(customer, k=10)
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in models}
    for _ in range(repeats):
        for customer in customers:
            for name, model in models.items():
                w, c = time.perf_counter(), time.process_time()
                model.recommend(customer, k=10)
                times[name][1].append(time.process_time() - c)
                times[name][0].append(time.perf_counter() - w)
    return {name: _summary(*samples) for name, samples in times.items()}


def reference_class(ref: str) -> Any:
    """The ``Recommender`` class of ``_model.py`` at git ``ref`` (loaded from a copy)."""
    command = ["git", "show", f"{ref}:src/kehu/analytics/recommend/_model.py"]
    source = subprocess.run(  # noqa: S603 - git and a ref from our own command line
        command,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / "reference_model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("reference_model", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the Recommender of {ref}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Recommender


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEMO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", help="also time the Recommender at this git ref")
    args = parser.parse_args()
    lines = load_clean(args.data)
    models: dict[str, Any] = {"current": Recommender().fit(lines)}
    if args.against:
        models[args.against] = reference_class(args.against)().fit(lines)
    customers = [int(c) for c in models["current"].customer_ids_.tolist()]
    random.Random(0).shuffle(customers)
    timings = measure(models, customers, args.repeats)
    result: dict[str, Any] = {
        "data": str(args.data),
        "n_lines": lines.num_rows,
        "n_customers": len(customers),
        "n_items": len(models["current"].item_ids_),
        **timings,
    }
    if args.against:
        mine, theirs = timings["current"], timings[args.against]
        result["ratio_current_over_reference"] = {
            key: mine[key] / theirs[key] for key in ("wall_p50_ms", "wall_p99_ms", "cpu_mean_ms")
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
