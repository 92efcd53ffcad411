"""``kehu export parquet`` on SQLite and PostgreSQL: what the store holds, as Parquet."""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kehu.batch import connect, export_parquet, read_tables, value_summary_expr
from kehu.cli.main import app
from kehu.commerce import LineInput
from kehu.core import InvalidInputError, get_settings
from kehu.store import make_engine, upgrade_to_head
from tests.conftest import migrated_pg_schema
from tests.factories import make_customer, make_order


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store of its own, migrated, whose rows are committed (ADBC reads on its own connection)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'kehu.db'}"
        upgrade_to_head(url)
        yield url
        return
    yield from migrated_pg_schema("kehu_export")


@pytest.fixture(scope="module")
def store(store_url: str) -> dict[str, int]:
    """Three customers (one merged away), four orders, one a return, five lines."""
    engine = make_engine(store_url)
    with Session(engine) as session:
        ann, bob, gone = (make_customer(session) for _ in range(3))
        gone.merged_into_id = ann.id
        one = [LineInput(sku="A", quantity=2, unit_price=Decimal("3.50"))]
        late = dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.UTC)
        make_order(
            session,
            ann,
            ordered_at=late,
            lines=[
                LineInput(sku="A", quantity=2, unit_price=Decimal("3.50")),
                LineInput(sku="B", quantity=1, unit_price=Decimal("10.00")),
            ],
        )
        make_order(session, ann, ordered_at=dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC), lines=one)
        make_order(
            session,
            bob,
            ordered_at=dt.datetime(2024, 1, 15, tzinfo=dt.UTC),
            lines=[LineInput(sku="A", quantity=-1, unit_price=Decimal("3.50"))],
        )
        make_order(session, gone, ordered_at=dt.datetime(2024, 1, 20, tzinfo=dt.UTC), lines=one)
        session.commit()
        ids = {"ann": ann.id, "bob": bob.id, "gone": gone.id}
    engine.dispose()
    return ids


def _read(out: Path, name: str) -> pa.Table:
    return ds.dataset(out / name, format="parquet").to_table().sort_by("id")


def test_export_writes_every_table_with_types(
    store_url: str, store: dict[str, int], tmp_path: Path
) -> None:
    report = export_parquet(store_url, tmp_path, rows_per_file=2)

    counts = {t.name: t.n_rows for t in report.tables}
    assert counts == {
        "customers": 3,
        "orders": 4,
        "order_lines": 5,
        "products": 2,
        "service_tickets": 0,
    }
    assert {t.name: t.n_files for t in report.tables}["orders"] == 2
    orders = _read(tmp_path, "orders")
    assert orders.schema.field("ordered_at").type == pa.timestamp("us", tz="UTC")
    assert orders.column("ordered_at")[0].as_py() == dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.UTC)
    assert orders.column("total").to_pylist() == [17.0, 7.0, -3.5, 7.0]
    assert orders.column("customer_id").to_pylist() == [
        store["ann"],
        store["ann"],
        store["bob"],
        store["gone"],
    ]
    customers = _read(tmp_path, "customers")
    assert customers.column("merged_into_id").to_pylist() == [None, None, store["ann"]]
    assert customers.column("is_active").to_pylist() == [True, True, True]
    lines = _read(tmp_path, "order_lines")
    assert lines.column("quantity").to_pylist() == [2, 1, 2, -1, 2]
    assert lines.column("unit_price").to_pylist() == [3.5, 10.0, 3.5, 3.5, 3.5]


def test_exported_orders_feed_the_batch_summary(
    store_url: str, store: dict[str, int], tmp_path: Path
) -> None:
    export_parquet(store_url, tmp_path)
    engine = connect("duckdb")
    try:
        tables = read_tables(engine, tmp_path)
        summary = engine.to_arrow(
            value_summary_expr(tables, as_of=dt.date(2024, 2, 29)).order_by("customer_id")
        )
    finally:
        engine.close()
    # The merged customer is left out; the 23:30 UTC order counts on its UTC day.
    assert summary.column("customer_id").to_pylist() == [str(store["ann"])]
    row = summary.to_pylist()[0]
    assert row["first_purchase"] == dt.date(2024, 1, 1)
    assert row["frequency"] == 1
    assert row["total_spend"] == 24.0


def test_export_command(
    store_url: str, store: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEHU_DATABASE_URL", store_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["export", "parquet", "--out", str(tmp_path), "--table", "orders"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "orders" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["orders"]
    assert _read(tmp_path, "orders").num_rows == 4


def test_unknown_table_is_refused(store_url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="Unknown table"):
        export_parquet(store_url, tmp_path, tables=["secrets"])
    assert list(tmp_path.iterdir()) == []
