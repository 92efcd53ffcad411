# ruff: noqa: T201 - a one-off script
"""Rebuild online_retail_ii_recs.csv: whole histories of 200 customers of Online Retail II.

Run: .venv/bin/python tests/data/recs/make_slice.py \
    PATH/TO/online_retail_ii_2009_2010.parquet
120 customers who bought both before and after 2010-10-26 (the recommender's test period)
and 80 others, drawn with a fixed seed among customers with at most 150 lines; every line
of theirs is kept (cancellations too: their quantity is negative).
"""

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CUT = "2010-10-26"


def main(source: str) -> None:
    raw = pq.read_table(source)
    raw = raw.filter(pc.is_valid(raw["Customer ID"]))
    customer = pc.cast(raw["Customer ID"], pa.int64()).to_numpy()
    when = raw["InvoiceDate"].to_numpy(zero_copy_only=False).astype(str)
    ids, n_lines = np.unique(customer, return_counts=True)
    small = set(ids[n_lines <= 150].tolist())
    before = set(customer[when < CUT].tolist()) & small
    after = set(customer[when >= CUT].tolist()) & small
    rng = np.random.default_rng(20261125)
    both = sorted(before & after)
    others = sorted(small - (before & after))
    chosen = set(rng.choice(both, 120, replace=False).tolist())
    chosen |= set(rng.choice(others, 80, replace=False).tolist())
    keep = np.isin(customer, sorted(chosen))
    rows = raw.filter(pa.array(keep))
    table = pa.table(
        {
            "customer_id": pc.cast(rows["Customer ID"], pa.int64()),
            "order_id": rows["Invoice"],
            "item_id": rows["StockCode"],
            "timestamp": rows["InvoiceDate"],
            "quantity": rows["Quantity"],
            "price": rows["Price"],
        }
    )
    target = Path(__file__).with_name("online_retail_ii_recs.csv")
    pacsv.write_csv(table, target)
    print(f"{table.num_rows} lines, {len(chosen)} customers -> {target}")


if __name__ == "__main__":
    main(sys.argv[1])
