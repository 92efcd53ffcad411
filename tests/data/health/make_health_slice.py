"""Rebuild ``online_retail_ii_health_slice.csv``: every row of 60 customers of Online Retail II.

Customers are drawn at random (seed 7) among those with 3 to 20 invoices, so the slice has
repeat buyers whose cadence, prices and breadth can change and stays small (the biggest
wholesalers alone would be megabytes); rows are kept as published. Run with the path of
``online_retail_ii_2009_2010.parquet`` (../shared/data/online-retail-ii-2009-2010/).
"""

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

N_CUSTOMERS = 60
SEED = 7


def main(source: str) -> None:
    table = pq.read_table(source)
    known = table.filter(pc.is_valid(table["Customer ID"]))
    per = known.group_by("Customer ID").aggregate([("Invoice", "count_distinct")])
    invoices = per["Invoice_count_distinct"]
    eligible = np.sort(
        per.filter(pc.and_(pc.greater_equal(invoices, 3), pc.less_equal(invoices, 20)))[
            "Customer ID"
        ].to_numpy()
    )
    chosen = np.random.default_rng(SEED).choice(eligible, N_CUSTOMERS, replace=False)
    rows = table.filter(pc.is_in(table["Customer ID"], value_set=pa.array(chosen)))
    pacsv.write_csv(rows, Path(__file__).with_name("online_retail_ii_health_slice.csv"))


if __name__ == "__main__":
    main(sys.argv[1])
