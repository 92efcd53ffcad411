"""Relationship-health stages and churn risk on Online Retail II, on temporal splits.

Run: .venv/bin/python benchmarks/health/stages.py [--data PARQUET] [--window-days 90]

For each split day ``as_of`` every customer is staged from the data up to that day only
(:func:`kehu.analytics.health.evaluate_health`); the next ``window`` days say who churned (no
purchase) and what they spent. Reported per stage: customers, churn rate, lift over the
overall rate and over the mature stage, mean next-period spend and its index. The churn model
is fitted one window earlier and validated on the held-out window after ``as_of``: AUC of the
model, of 1 - P(alive) alone (BG/NBD on the same data) and of recency alone, over all
customers and over those who bought within the lapse window. Then the cohort retention curves
and what +5 % retention is worth from the data's own CLV (BG/NBD + Gamma-Gamma).

Timing anchor (same run): the RFM summary of the same lines (``summarize_transactions``);
the evaluation's time is reported as a multiple of it.

Results go to benchmarks/results/health-stages-<time>.json (git-ignored).
"""

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kehu.analytics.clv import summarize_transactions
from kehu.analytics.health import evaluate_health

DATA = Path("/work/shared/data/online-retail-ii-2009-2010/online_retail_ii_2009_2010.parquet")
SPLITS = ("2010-08-10", "2010-09-09")
RESULTS = Path(__file__).parents[1] / "results"  # git-ignored


def read_lines(path: Path) -> pa.Table:
    """Online Retail II as published: every row (returns and guests are handled downstream)."""
    raw = pq.read_table(path)
    return pa.table(
        {
            "customer_id": raw["Customer ID"],
            "order_id": raw["Invoice"],
            "timestamp": raw["InvoiceDate"],
            "item_id": raw["StockCode"],
            "quantity": raw["Quantity"],
            "unit_price": raw["Price"],
        }
    )


def _anchor(lines: pa.Table) -> float:
    known = lines.filter(pc.is_valid(lines["customer_id"]))
    transactions = pa.table(
        {
            "customer_id": pc.cast(known["customer_id"], pa.int64()),
            "timestamp": known["timestamp"],
            "amount": pc.multiply(pc.cast(known["quantity"], pa.float64()), known["unit_price"]),
        }
    )
    started = time.perf_counter()
    summarize_transactions(transactions, calibration_end="2010-12-09")
    return time.perf_counter() - started


def _pct(value: Any) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def _num(value: Any, fmt: str = "6.2f") -> str:
    return "   -  " if value is None else format(value, fmt)


def _print(report: dict[str, Any]) -> None:
    print(
        f"\n== as_of {report['as_of']}, window {report['window_days']} d: "
        f"{report['n_customers']:,} customers, churn {_pct(report['churn_rate'])}, "
        f"discounted = {report['discount_basis']} =="
    )
    print("stage          n   share  churn  lift  vs-mature  next-spend  index")
    for s in report["stages"]:
        print(
            f"{s['stage']:<12} {s['n_customers']:>5} {_pct(s['share'])} {_pct(s['churn_rate'])} "
            f"{_num(s['churn_lift'])} {_num(s['churn_vs_mature'])} "
            f"{_num(s['mean_next_spend'], '10,.0f')} {_num(s['spend_index'])}"
        )
    churn = report["churn"]
    for part in ("all", "active"):
        c = churn[part]
        print(
            f"AUC {part:<6} n={c['n_customers']:,}: model {_num(c['auc_model'], '.3f')}, "
            f"P(alive) {_num(c['auc_p_alive'], '.3f')}, recency {_num(c['auc_recency'], '.3f')}"
        )
    if churn.get("p_alive_note"):
        print(f"note: {churn['p_alive_note']} (P(alive) = 1 for all there)")
    value = report["retention_value"]
    if value:
        print(
            f"+5 % retention: {value['retention']:.3f} -> {value['improved_retention']:.3f} per "
            f"{value['period_days']} d; value {value['value_change']:+.1%} over "
            f"{value['periods']} periods ({value['added_value']:,.0f} of "
            f"{value['base_value']:,.0f}), lifetime {value['lifetime_value_change']:+.1%}; "
            "seed claim +35..85 % profit"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--window-days", type=int, default=90)
    args = parser.parse_args()
    lines = read_lines(args.data)
    anchor = _anchor(lines)
    reports = []
    for split in SPLITS:
        started = time.perf_counter()
        report = evaluate_health(lines, as_of=split, window_days=args.window_days)
        report["seconds"] = round(time.perf_counter() - started, 3)
        report["seconds_over_anchor"] = round(report["seconds"] / anchor, 2)
        reports.append(report)
        _print(report)
        print(
            f"time {report['seconds']:.1f} s = {report['seconds_over_anchor']:.1f} x the RFM "
            f"summary of the same lines ({anchor:.2f} s)"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"health-stages-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "data": str(args.data),
                "n_lines": lines.num_rows,
                "anchor_rfm_summary_s": round(anchor, 3),
                "python": sys.version.split()[0],
                "machine": platform.platform(),
                "reports": reports,
            },
            indent=1,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
