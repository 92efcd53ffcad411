# ruff: noqa: T201, ARG005 - a one-off script
"""Rebuild online_retail_ii_sample.csv from the full UCI Online Retail II (2009-2010) Parquet.

Run: .venv/bin/python tests/data/make_online_retail_sample.py \
    PATH/TO/online_retail_ii_2009_2010.parquet
Whole invoices are kept (an order loads whole or not at all), chosen to cover every case.
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq


def main(source: str) -> None:
    rows = pq.read_table(source).to_pylist()
    invoices: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        invoices[row["Invoice"]].append(row)

    def has_customer(lines: list[dict]) -> bool:
        return lines[0]["Customer ID"] is not None

    small = {k: v for k, v in invoices.items() if len(v) <= 12}
    picks: list[str] = []

    def take(predicate, n: int) -> None:
        chosen = [k for k, v in sorted(small.items()) if k not in picks and predicate(k, v)]
        picks.extend(chosen[:n])

    take(lambda k, v: k[0].isdigit() and has_customer(v) and all(r["Price"] > 0 for r in v), 20)
    take(lambda k, v: k.startswith("C") and has_customer(v), 6)
    take(lambda k, v: k.startswith("C") and not has_customer(v) and v[0]["Quantity"] < 0, 2)
    take(lambda k, v: k.startswith("C") and v[0]["Quantity"] > 0, 1)
    take(lambda k, v: k[0].isdigit() and not has_customer(v) and v[0]["Price"] > 0, 5)
    take(lambda k, v: k[0].isdigit() and has_customer(v) and any(r["Price"] == 0 for r in v), 3)
    take(lambda k, v: k[0].isdigit() and not has_customer(v) and v[0]["Quantity"] < 0, 5)
    take(
        lambda k, v: (
            k[0].isdigit() and not has_customer(v) and v[0]["Quantity"] > 0 and v[0]["Price"] == 0
        ),
        3,
    )
    take(lambda k, v: k.startswith("A"), 1)
    # a customer's own cancellation of an earlier invoice: keep both sides
    out = Path(__file__).with_name("online_retail_ii_sample.csv")
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
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
        for key in sorted(picks, key=lambda k: invoices[k][0]["InvoiceDate"]):
            for r in invoices[key]:
                customer = r["Customer ID"]
                writer.writerow(
                    [
                        r["Invoice"],
                        r["StockCode"],
                        r["Description"] or "",
                        r["Quantity"],
                        r["InvoiceDate"],
                        repr(r["Price"]),
                        "" if customer is None else str(int(customer)),
                        r["Country"],
                    ]
                )
    print(f"{out}: {sum(len(invoices[k]) for k in picks)} rows, {len(picks)} invoices")


if __name__ == "__main__":
    main(sys.argv[1])
