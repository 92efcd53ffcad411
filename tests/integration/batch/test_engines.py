"""Each batch feature gives the same result on DuckDB and on Spark (local mode)."""

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from kehu.batch import FEATURES, connect, feature_expressions, read_tables
from kehu.core import InvalidInputError

# pyspark 4.0 and Ibis call pandas APIs that pandas 3 deprecates; nothing kehu can change.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

AS_OF = dt.date(2024, 12, 31)


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """Rows in a canonical order (engines return groups in any order)."""
    names = sorted(table.column_names)
    return sorted(zip(*(table.column(n).to_pylist() for n in names), strict=True), key=repr)


def _same(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> bool:
    if len(left) != len(right):
        return False
    for a, b in zip(left, right, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


@pytest.fixture(scope="module")
def duckdb_results(synthetic_dir: Path) -> dict[str, pa.Table]:
    engine = connect("duckdb")
    try:
        exprs = feature_expressions(read_tables(engine, synthetic_dir), as_of=AS_OF)
        return {name: engine.to_arrow(expr) for name, expr in exprs.items()}
    finally:
        engine.close()


@pytest.fixture(scope="module")
def spark_results(synthetic_dir: Path, spark: Any) -> dict[str, pa.Table]:
    engine = connect("spark", spark=spark)
    # The baskets cached once (as the scale benchmark runs them), against DuckDB's uncached.
    exprs = feature_expressions(read_tables(engine, synthetic_dir), as_of=AS_OF, cache=True)
    # One Spark job per feature, as the scale benchmark runs them.
    return {name: engine.to_arrow(expr) for name, expr in exprs.items()}


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_feature_equal_on_spark_and_duckdb(
    feature: str, duckdb_results: dict[str, pa.Table], spark_results: dict[str, pa.Table]
) -> None:
    ours, theirs = duckdb_results[feature], spark_results[feature]
    assert ours.num_rows > 0
    assert sorted(ours.column_names) == sorted(theirs.column_names)
    assert _same(_rows(ours), _rows(theirs))


def test_cached_baskets_give_the_same_counts(
    synthetic_dir: Path, duckdb_results: dict[str, pa.Table]
) -> None:
    engine = connect("duckdb")
    try:
        exprs = feature_expressions(read_tables(engine, synthetic_dir), as_of=AS_OF, cache=True)
        for name in ("cooccurrence", "item_counts"):
            assert _rows(engine.to_arrow(exprs[name])) == _rows(duckdb_results[name])
    finally:
        engine.close()


def test_day_is_the_utc_date_whatever_the_session_zone(synthetic_dir: Path) -> None:
    # DuckDB's own cast follows the session's time zone; the batch day is always UTC.
    engine = connect("duckdb")
    try:
        engine.backend.raw_sql("SET TimeZone = 'Asia/Shanghai'")
        orders = read_tables(engine, synthetic_dir)["orders"]
        utc = engine.to_arrow(orders.select("ordered_at", "day", local=orders.ordered_at.date()))
    finally:
        engine.close()
    import pyarrow.compute as pc

    stamps = utc.column("ordered_at")
    assert pc.all(pc.equal(pc.cast(stamps, pa.date32()), utc.column("day"))).as_py()
    assert not pc.all(pc.equal(utc.column("local"), utc.column("day"))).as_py()


def test_value_summary_matches_the_one_machine_summary(
    synthetic_dir: Path, duckdb_results: dict[str, pa.Table]
) -> None:
    # The engine path equals summarize_transactions on the same orders (the store's path).
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from kehu.analytics.clv import summarize_transactions

    orders = ds.dataset(synthetic_dir / "orders").to_table()
    customers = ds.dataset(synthetic_dir / "customers").to_table()
    known = customers.filter(
        pc.and_(customers.column("is_active"), pc.is_null(customers.column("merged_into_id")))
    ).column("id")
    orders = orders.filter(pc.is_in(orders.column("customer_id"), known))
    tx = pa.table(
        {
            "customer_id": orders.column("customer_id"),
            "timestamp": orders.column("ordered_at"),
            "amount": orders.column("total"),
        }
    )
    expected = summarize_transactions(tx, calibration_end=AS_OF)
    got = duckdb_results["value_summary"].drop_columns(["total_spend"])
    assert _same(_rows(got), _rows(expected.replace_schema_metadata(None)))


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="Unknown engine 'flink'"):
        connect("flink")


def test_input_without_orders_is_refused(tmp_path: Path) -> None:
    engine = connect("duckdb")
    try:
        with pytest.raises(InvalidInputError, match="no orders/ directory"):
            read_tables(engine, tmp_path)
    finally:
        engine.close()
