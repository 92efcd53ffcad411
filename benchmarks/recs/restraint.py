"""Restraint, shown (issue 4 §5): the seeded simulation with restraint on against off.

Run: .venv/bin/python benchmarks/recs/restraint.py [--customers 400] [--days 120] [--no-sweep]

The world and the click model are in :mod:`kehu.playbooks.simulation` (built from the seed
alone; the policy sees only events and item categories). The headline run uses the default
world; the sweep repeats it with other click models, including the adverse one in which
customers click an item at the same rate however often they have seen it, so the report shows
where restraint costs clicks as well as where it gains them. Results go to
benchmarks/results/restraint-<time>.json.
"""

import argparse
import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kehu.playbooks.restraint import RestraintPolicy
from kehu.playbooks.simulation import Comparison, SimulationConfig, compare

SWEEP = (
    {"repeat_fatigue": 0.0, "click_scale": 0.15},
    {"repeat_fatigue": 0.0, "click_scale": 0.4},
    {"repeat_fatigue": 0.1, "click_scale": 0.4},
    {"repeat_fatigue": 0.25, "click_scale": 0.15},
)


def _row(config: SimulationConfig, result: Comparison, seconds: float) -> dict[str, Any]:
    return {
        "world": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("seed",)}
        | {"seed": config.seed},
        "off": result.off.as_dict(),
        "on": result.on.as_dict(),
        "non_responder_impressions_fall": round(result.non_responder_impressions_fall, 4),
        "clicks_fall": round(result.clicks_fall, 4),
        "ctr_off": round(result.off.clicks / max(result.off.impressions, 1), 4),
        "ctr_on": round(result.on.clicks / max(result.on.impressions, 1), 4),
        "seconds": round(seconds, 1),
    }


def main() -> None:
    """Run the headline comparison (and the sweep) and print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()
    base = SimulationConfig(n_customers=args.customers, days=args.days)
    policy = RestraintPolicy()
    runs = []
    for changes in ({}, *(() if args.no_sweep else SWEEP)):
        config = dataclasses.replace(base, **changes)
        started = time.perf_counter()
        result = compare(config, policy)
        row = _row(config, result, time.perf_counter() - started)
        runs.append(row)
        print(
            f"repeat_fatigue={config.repeat_fatigue} click_scale={config.click_scale}: "
            f"impressions to non-responders {row['off']['impressions_to_non_responders']} -> "
            f"{row['on']['impressions_to_non_responders']} "
            f"(-{row['non_responder_impressions_fall']:.1%}), clicks "
            f"{row['off']['clicks']} -> {row['on']['clicks']} "
            f"({-row['clicks_fall']:+.1%}), CTR {row['ctr_off']:.2%} -> {row['ctr_on']:.2%} "
            f"[{row['seconds']} s]"
        )
    report = {
        "policy": {k: v for k, v in dataclasses.asdict(policy).items() if k != "channels"},
        "goal": "impressions to non-responders fall >= 80 %, clicks fall <= 5 %",
        "headline_meets_goal": runs[0]["non_responder_impressions_fall"] >= 0.8
        and runs[0]["clicks_fall"] <= 0.05,
        "runs": runs,
    }
    out = Path(__file__).resolve().parents[1] / "results"
    out.mkdir(exist_ok=True)
    path = out / f"restraint-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
