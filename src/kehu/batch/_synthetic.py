"""Seeded synthetic stores in Parquet, in the layout :func:`export_parquet` writes.

For the engine-equality tests (a few thousand rows) and the scale benchmark (up to 10M
customers / 42M orders / 100M order lines): customers are generated in chunks, each chunk
written as one Parquet file per table, so memory holds one chunk, whatever the size.
Per customer about 4.2 orders over two years (a heavy-tailed count), about 2.4 lines per
order over a Zipf-like catalogue, some returns and discounts, and 0.3 service tickets.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
SPAN_DAYS = 730
N_PRODUCTS = 5_000
N_CATEGORIES = 40
_US_PER_DAY = 86_400 * 1_000_000


@dataclass(frozen=True)
class SyntheticCounts:
    """Rows written per table."""

    customers: int
    orders: int
    order_lines: int
    service_tickets: int


def _timestamps(microseconds: np.ndarray) -> pa.Array:
    start = int(START.timestamp() * 1_000_000)
    return pa.array(start + microseconds, pa.timestamp("us", tz="UTC"))


def _chunk(
    rng: np.random.Generator, first_id: int, n: int, order_id0: int, line_id0: int, ticket_id0: int
) -> dict[str, pa.Table]:
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    is_active = rng.random(n) > 0.01
    merged = np.where(rng.random(n) < 0.01, np.maximum(ids - 1, 1), -1)
    created = rng.integers(0, SPAN_DAYS // 2, n) * _US_PER_DAY
    customers = pa.table(
        {
            "id": ids,
            "is_active": is_active,
            "merged_into_id": pa.array(merged, pa.int64(), mask=merged < 0),
            "created_at": _timestamps(created),
        }
    )
    # Orders follow the BG/NBD story (kehu's value model, so the benchmark can fit it): the
    # first purchase on the customer's first day; then, while alive, a Poisson process of
    # rate lambda ~ Gamma(r, alpha) a week; after each repeat purchase the customer drops
    # out with probability p ~ Beta(a, b). About 4.2 orders per customer over two years.
    first = created // _US_PER_DAY
    weeks = (SPAN_DAYS - first) / 7.0
    rate = rng.gamma(0.6, 1.0 / 6.0, n)
    p_drop = rng.beta(0.8, 2.5, n)
    n_window = rng.poisson(rate * weeks)
    n_before_drop = rng.geometric(p_drop)
    n_repeat = np.minimum(n_window, n_before_drop)
    # The first n_repeat of the n_window arrival times (uniform given their number).
    who = np.repeat(np.arange(n), n_window)
    when = rng.random(len(who))
    order = np.lexsort((when, who))
    who, when = who[order], when[order]
    rank = np.arange(len(who)) - np.repeat(np.cumsum(n_window) - n_window, n_window)
    keep = rank < n_repeat[who]
    repeat_owner, repeat_day = (
        who[keep],
        first[who[keep]] + (when[keep] * (SPAN_DAYS - first[who[keep]])).astype(np.int64),
    )
    owner_index = np.concatenate([np.arange(n), repeat_owner])
    day = np.concatenate([first, repeat_day])
    by_owner = np.argsort(owner_index, kind="stable")
    owner_index, day = owner_index[by_owner], day[by_owner]
    owner = ids[owner_index]
    m = len(owner)
    moment = day * _US_PER_DAY + rng.integers(0, _US_PER_DAY, m)
    is_return = rng.random(m) < 0.03
    order_ids = np.arange(order_id0, order_id0 + m, dtype=np.int64)
    # Lines: 1 + Poisson(1.4) per order; products Zipf-like over the catalogue.
    n_lines = rng.poisson(1.4, m) + 1
    line_order = np.repeat(order_ids, n_lines)
    k = len(line_order)
    starts = np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    line_no = np.arange(k) - starts + 1
    product = np.minimum((rng.pareto(1.1, k) * 50).astype(np.int64), N_PRODUCTS - 1) + 1
    # Each customer's own price level (nu ~ Gamma in the Gamma-Gamma story): spend per order
    # varies between customers, not only between orders.
    level = np.repeat(rng.gamma(4.0, 0.25, n)[owner_index], n_lines)
    base_price = (5.0 + (product * 7919 % 200).astype(np.float64)) * level
    discounted = rng.random(k) < 0.15
    unit_price = np.round(base_price * np.where(discounted, 0.8, 1.0), 2)
    quantity = rng.integers(1, 4, k)
    line_return = np.repeat(is_return, n_lines)
    quantity = np.where(line_return, -quantity, quantity)
    discount = np.round(np.where(discounted, base_price * 0.2 * np.abs(quantity), 0.0), 2)
    line_total = quantity * unit_price
    totals = np.bincount(np.repeat(np.arange(m), n_lines), weights=line_total, minlength=m)
    orders = pa.table(
        {
            "id": order_ids,
            "customer_id": owner,
            "kind": pa.array(np.where(is_return, "return", "sale")),
            "ordered_at": _timestamps(moment),
            "currency": pa.array(["GBP"] * m),
            "total": np.round(totals, 2),
        }
    )
    lines = pa.table(
        {
            "id": np.arange(line_id0, line_id0 + k, dtype=np.int64),
            "order_id": line_order,
            "line_no": line_no.astype(np.int64),
            "product_id": product,
            "quantity": quantity.astype(np.int64),
            "unit_price": unit_price,
            "discount": discount,
        }
    )
    n_tickets = rng.binomial(1, 0.3, n)
    ticket_owner = np.repeat(ids, n_tickets)
    t = len(ticket_owner)
    tickets = pa.table(
        {
            "id": np.arange(ticket_id0, ticket_id0 + t, dtype=np.int64),
            "customer_id": ticket_owner,
            "category_id": rng.integers(1, N_CATEGORIES + 1, t),
            "opened_at": _timestamps(rng.integers(0, SPAN_DAYS * _US_PER_DAY, t)),
        }
    )
    return {
        "customers": customers,
        "orders": orders,
        "order_lines": lines,
        "service_tickets": tickets,
    }


def write_synthetic_parquet(
    out_dir: str | Path, *, n_customers: int, seed: int = 0, chunk_customers: int = 500_000
) -> SyntheticCounts:
    """Write a synthetic store of ``n_customers`` customers to ``out_dir/<table>/``.

    The same ``seed`` and ``chunk_customers`` give the same files.
    """
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    counts = {"customers": 0, "orders": 0, "order_lines": 0, "service_tickets": 0}
    ids = {"orders": 1, "order_lines": 1, "service_tickets": 1}
    products = pa.table(
        {
            "id": np.arange(1, N_PRODUCTS + 1, dtype=np.int64),
            "sku": [f"SKU-{i:05d}" for i in range(1, N_PRODUCTS + 1)],
            "category": [f"category-{i % N_CATEGORIES}" for i in range(1, N_PRODUCTS + 1)],
        }
    )
    (out / "products").mkdir(parents=True, exist_ok=True)
    pq.write_table(products, out / "products" / "part-0.parquet")
    for number, first in enumerate(range(1, n_customers + 1, chunk_customers)):
        n = min(chunk_customers, n_customers - first + 1)
        tables = _chunk(rng, first, n, ids["orders"], ids["order_lines"], ids["service_tickets"])
        for name, table in tables.items():
            (out / name).mkdir(parents=True, exist_ok=True)
            pq.write_table(table, out / name / f"part-{number}.parquet")
            counts[name] += table.num_rows
            if name in ids:
                ids[name] += table.num_rows
        del tables
    return SyntheticCounts(**counts)
