"""The health analysis's inputs from an engine equal the one-machine functions on the same lines."""

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from kehu.analytics.health import (
    SIGNAL_COLUMNS,
    cohort_retention,
    compute_signals,
    next_period,
    normalise_lines,
    p_alive_or_ones,
)
from kehu.batch import EngineHealth, connect, read_tables

# pyspark 4.0 and Ibis call pandas APIs that pandas 3 deprecates; nothing kehu can change.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

AS_OF = dt.date(2024, 12, 31)
WINDOW = 90


def _store_like(synthetic_dir: Path) -> tuple[pa.Table, pa.Table]:
    """The lines and tickets as the store path reads them (known, active customers)."""
    customers = ds.dataset(synthetic_dir / "customers").to_table()
    known = customers.filter(
        pc.and_(customers.column("is_active"), pc.is_null(customers.column("merged_into_id")))
    ).column("id")
    orders = ds.dataset(synthetic_dir / "orders").to_table()
    orders = orders.filter(pc.is_in(orders.column("customer_id"), known))
    lines = ds.dataset(synthetic_dir / "order_lines").to_table()
    joined = lines.join(
        orders.select(["id", "customer_id", "ordered_at"]), "order_id", "id", join_type="inner"
    )
    table = pa.table(
        {
            "customer_id": joined.column("customer_id"),
            "order_id": pc.cast(joined.column("order_id"), pa.string()),
            "timestamp": joined.column("ordered_at"),
            "item_id": pc.cast(joined.column("product_id"), pa.string()),
            "quantity": joined.column("quantity"),
            "unit_price": joined.column("unit_price"),
            "discount": joined.column("discount"),
        }
    )
    tickets = ds.dataset(synthetic_dir / "service_tickets").to_table()
    return table, tickets.select(["customer_id", "opened_at"])


@pytest.fixture(scope="module")
def store_like(synthetic_dir: Path) -> tuple[pa.Table, pa.Table]:
    return _store_like(synthetic_dir)


@pytest.fixture(params=["duckdb", "spark"])
def source(request: pytest.FixtureRequest, synthetic_dir: Path) -> Any:
    spark = request.getfixturevalue("spark") if request.param == "spark" else None
    engine = connect(request.param, spark=spark)
    health = EngineHealth(engine, read_tables(engine, synthetic_dir))
    assert health.first_day(AS_OF) is not None
    yield health
    engine.close()


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def test_signals_equal_compute_signals(
    source: EngineHealth, store_like: tuple[pa.Table, pa.Table]
) -> None:
    lines, tickets = store_like
    expected = compute_signals(lines, as_of=AS_OF, window_days=WINDOW, tickets=tickets)

    got = source.signals(AS_OF, WINDOW, tickets=tickets)

    assert got.column_names == list(SIGNAL_COLUMNS)
    assert got.num_rows == expected.num_rows > 100
    assert got.schema.metadata == expected.schema.metadata  # discount basis "field"
    # Returns, discounts and tickets are all there to be counted.
    assert pc.sum(expected.column("interactions_now")).as_py() > 0
    for name in SIGNAL_COLUMNS:
        ours, theirs = got.column(name).to_pylist(), expected.column(name).to_pylist()
        assert all(_close(a, b) for a, b in zip(ours, theirs, strict=True)), name


def test_p_alive_next_period_and_cohorts_equal(
    source: EngineHealth, store_like: tuple[pa.Table, pa.Table]
) -> None:
    lines, _ = store_like
    day = AS_OF - dt.timedelta(days=WINDOW)
    ids = compute_signals(lines, as_of=day, window_days=WINDOW).column("customer_id")
    ids = ids.combine_chunks()

    p, why = source.p_alive(day, ids)
    expected_p, expected_why = p_alive_or_ones(lines, day, ids)
    assert why == expected_why == ""
    np.testing.assert_allclose(p, expected_p, rtol=1e-9)
    assert 0 < p.min() < 1

    got = source.next_period(ids, day, WINDOW)
    expected = next_period(lines, ids, as_of=day, days=WINDOW)
    assert got.column("customer_id").equals(expected.column("customer_id"))
    assert got.column("churned").equals(expected.column("churned"))
    for name in ("next_orders", "next_spend"):
        np.testing.assert_allclose(got.column(name), expected.column(name), rtol=1e-9)
    assert 0 < pc.sum(got.column("churned")).as_py() < len(ids)

    normal = normalise_lines(lines)
    cohorts = cohort_retention(
        pa.table(
            {
                "customer_id": normal.column("customer_id"),
                "date": normal.column("day"),
                "quantity": normal.column("quantity"),
            }
        ),
        as_of=AS_OF,
    )
    assert source.cohorts(AS_OF).equals(cohorts)
