"""Pure pieces of the batch package: no database, no Spark."""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kehu.batch import engine_orders, export_parquet
from kehu.batch._export import _conform, _schema, _select
from kehu.batch._synthetic import write_synthetic_parquet
from kehu.core import InvalidInputError


def test_sqlite_text_times_become_utc_timestamps() -> None:
    batch = pa.record_batch(
        {
            "id": pa.array([1, 2], pa.int64()),
            "customer_id": pa.array([7, None], pa.int64()),
            "kind": ["sale", "return"],
            "ordered_at": ["2024-01-01 23:30:00.000000", "2024-02-29 00:00:00.000001"],
            "currency": ["GBP", "GBP"],
            "total": pa.array([17, -3.5], pa.float64()),
        }
    )

    out = _conform(batch, _schema("orders"))

    assert out.schema == _schema("orders")
    assert out.column("ordered_at").to_pylist() == [
        dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=dt.UTC),
    ]


def test_all_null_columns_take_the_export_type() -> None:
    batch = pa.record_batch(
        {
            "id": pa.array([1], pa.int64()),
            "is_active": pa.array([1], pa.int64()),
            "merged_into_id": pa.nulls(1),
            "created_at": ["2024-01-01 00:00:00"],
        }
    )

    out = _conform(batch, _schema("customers"))

    assert out.column("merged_into_id").type == pa.int64()
    assert out.column("is_active").to_pylist() == [True]


def test_amounts_are_read_as_floats_per_dialect() -> None:
    assert "CAST(total AS DOUBLE PRECISION) AS total" in _select("orders", "postgresql")
    assert "CAST(total AS REAL) AS total" in _select("orders", "sqlite")


def test_in_memory_and_unknown_stores_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="in-memory SQLite"):
        export_parquet("sqlite://", tmp_path)
    with pytest.raises(InvalidInputError, match="PostgreSQL and SQLite"):
        export_parquet("mysql://nobody@localhost/kehu", tmp_path)
    with pytest.raises(InvalidInputError, match="rows_per_file"):
        export_parquet("sqlite:///x.db", tmp_path, rows_per_file=0)
    assert list(tmp_path.iterdir()) == []


def test_no_engine_and_no_input_reads_the_store() -> None:
    with engine_orders(None, None) as computed:
        assert computed is None


def test_an_engine_without_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="give --input DIR"), engine_orders("spark", None):
        pass


def test_synthetic_store_is_seeded(tmp_path: Path) -> None:
    first = write_synthetic_parquet(tmp_path / "a", n_customers=50, seed=3, chunk_customers=20)
    second = write_synthetic_parquet(tmp_path / "b", n_customers=50, seed=3, chunk_customers=20)

    assert first == second
    assert first.customers == 50
    for name in ("customers", "orders", "order_lines", "service_tickets"):
        assert len(list((tmp_path / "a" / name).glob("*.parquet"))) == 3
    a = pq.read_table(tmp_path / "a" / "orders" / "part-1.parquet")
    b = pq.read_table(tmp_path / "b" / "orders" / "part-1.parquet")
    assert a.equals(b)
    assert a.column("id")[0].as_py() > 1  # ids continue across chunks
