"""The recommender and the relationship playbooks learn the same from an engine as from the store.

A SQLite store is filled from the seeded synthetic data (repeated items in an order, returns,
inactive and merged customers, an order without a customer), exported with
:func:`kehu.batch.export_parquet`, and each step is run both ways on it.
"""

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from kehu.analytics.persistence import load_model
from kehu.batch import EngineOrderFacts, EnginePurchases, connect, export_parquet, read_tables
from kehu.batch._synthetic import write_synthetic_parquet
from kehu.commerce import BulkOrder, OrderKind, Product, ensure_products, load_orders
from kehu.core import Settings
from kehu.customers import Customer, ensure_customers
from kehu.jobs.recommend import train_recommender
from kehu.jobs.relations import StoreOrderFacts, build_snapshots
from kehu.store import make_engine, make_session_factory, upgrade_to_head
from tests.factories import ACTOR

# pyspark 4.0 and Ibis call pandas APIs that pandas 3 deprecates; nothing kehu can change.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

AS_OF = dt.date(2024, 12, 31)
UNTIL = dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Store:
    url: str
    parquet: Path
    base: Path


def _fill(session: Session, source: Path) -> None:
    """Store the synthetic customers, products, orders and lines (external ids as text)."""
    customers = ds.dataset(source / "customers").to_table().to_pylist()
    products = ds.dataset(source / "products").to_table().to_pylist()
    orders = ds.dataset(source / "orders").to_table().to_pylist()
    lines = ds.dataset(source / "order_lines").to_table().to_pylist()
    ids, _ = ensure_customers(
        session, {f"S-{c['id']}": "United Kingdom" for c in customers}, actor=ACTOR
    )
    sku_ids, _ = ensure_products(session, {p["sku"]: p["sku"] for p in products}, actor=ACTOR)
    for p in products:
        session.execute(
            update(Product).where(Product.id == sku_ids[p["sku"]]).values(category=p["category"])
        )
    product_of = {p["id"]: sku_ids[p["sku"]] for p in products}
    by_order: dict[int, list[Any]] = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(line)
    bulk = [
        BulkOrder(
            # External ids whose text order is not the ids' order.
            external_id=f"O-{o['id'] * 7919 % 100_003}",
            customer_id=ids[f"S-{o['customer_id']}"],
            kind=OrderKind(o["kind"]),
            ordered_at=o["ordered_at"],
            channel="web",
            currency=o["currency"],
            country=None,
            lines=[
                (
                    line["line_no"],
                    product_of[line["product_id"]],
                    line["quantity"],
                    Decimal(repr(line["unit_price"])).quantize(Decimal("0.01")),
                    Decimal(repr(line["discount"])).quantize(Decimal("0.01")),
                )
                for line in by_order.get(o["id"], [])
            ],
        )
        for o in orders
    ]
    first_sku = sku_ids[products[0]["sku"]]
    bulk.append(
        BulkOrder(
            external_id="O-anonymous",
            customer_id=None,
            kind=OrderKind.SALE,
            ordered_at=dt.datetime(2024, 6, 1, 9, tzinfo=dt.UTC),
            channel="web",
            currency="GBP",
            country=None,
            lines=[(1, first_sku, 2, Decimal("9.99"), Decimal(0))],
        )
    )
    # A sale with a returned line and a return with a positive line: neither is a purchase.
    known = next(c["id"] for c in customers if c["is_active"] and c["merged_into_id"] is None)
    for number, kind, quantity in ((1, OrderKind.SALE, -1), (2, OrderKind.RETURN, 1)):
        bulk.append(
            BulkOrder(
                external_id=f"O-odd-{number}",
                customer_id=ids[f"S-{known}"],
                kind=kind,
                ordered_at=dt.datetime(2024, 6, number, 9, tzinfo=dt.UTC),
                channel="web",
                currency="GBP",
                country=None,
                lines=[
                    (1, first_sku, 1, Decimal("9.99"), Decimal(0)),
                    (2, sku_ids[products[-number]["sku"]], quantity, Decimal("5.00"), Decimal(0)),
                ],
            )
        )
    load_orders(session, bulk, actor=ACTOR)
    for c in customers:
        if not c["is_active"]:
            session.execute(
                update(Customer).where(Customer.id == ids[f"S-{c['id']}"]).values(is_active=False)
            )
        if c["merged_into_id"] is not None:
            session.execute(
                update(Customer)
                .where(Customer.id == ids[f"S-{c['id']}"])
                .values(merged_into_id=ids[f"S-{c['merged_into_id']}"])
            )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A committed SQLite store of 300 synthetic customers and its Parquet export."""
    base = tmp_path_factory.mktemp("recs")
    write_synthetic_parquet(base / "synthetic", n_customers=300, seed=8, chunk_customers=150)
    url = f"sqlite:///{base / 'kehu.db'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            _fill(session, base / "synthetic")
            session.commit()
    finally:
        engine.dispose()
    export_parquet(url, base / "parquet")
    return Store(url=url, parquet=base / "parquet", base=base)


@pytest.fixture
def store_session(store: Store) -> Iterator[Session]:
    engine = make_engine(store.url)
    try:
        with make_session_factory(engine)() as session:
            yield session
            session.rollback()
    finally:
        engine.dispose()


@pytest.fixture(params=["duckdb", "spark"])
def opened(request: pytest.FixtureRequest, store: Store) -> Iterator[tuple[Any, Any]]:
    """The engine (DuckDB, or the shared Spark session) over the store's export."""
    spark = request.getfixturevalue("spark") if request.param == "spark" else None
    engine = connect(request.param, spark=spark)
    yield engine, read_tables(engine, store.parquet)
    engine.close()


@pytest.fixture
def on_duckdb(store: Store) -> Iterator[tuple[Any, Any]]:
    """DuckDB over the store's export (checks that need not cost a Spark run)."""
    engine = connect("duckdb")
    yield engine, read_tables(engine, store.parquet)
    engine.close()


def _settings(store: Store, model_dir: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=store.url,
        secret_key="test-secret-key-0123456789abcdef",
        model_dir=model_dir,
    )


def _saved(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    params = json.loads((path / "params.json").read_text())
    params.get("metrics", {}).pop("trained_at", None)
    arrays: dict[str, np.ndarray] = {}
    for file in sorted(path.glob("*.npz")):
        with np.load(file, allow_pickle=False) as data:
            arrays.update({f"{file.name}:{key}": data[key] for key in data.files})
    return params, arrays


@pytest.mark.parametrize(
    ("opened", "until"),
    [("duckdb", None), ("duckdb", UNTIL), ("spark", None)],
    ids=["duckdb", "duckdb-until", "spark"],
    indirect=["opened"],
)
def test_recommender_from_engine_is_the_store_one(
    store: Store,
    store_session: Session,
    opened: tuple[Any, Any],
    until: dt.datetime | None,
    tmp_path: Path,
) -> None:
    engine, tables = opened
    from_store = _settings(store, tmp_path / "store")
    from_engine = _settings(store, tmp_path / "engine")

    ours = train_recommender(
        store_session, settings=from_engine, until=until, source=EnginePurchases(engine, tables)
    )
    theirs = train_recommender(store_session, settings=from_store, until=until)

    assert ours.trained, ours.message
    assert theirs.trained, theirs.message
    assert (ours.n_lines, ours.n_customers, ours.n_items) == (
        theirs.n_lines,
        theirs.n_customers,
        theirs.n_items,
    )
    assert theirs.n_customers > 200
    params, arrays = _saved(ours.path)
    store_params, store_arrays = _saved(theirs.path)
    assert params == store_params
    assert arrays.keys() == store_arrays.keys()
    assert len(arrays) > 10
    for key, value in arrays.items():
        np.testing.assert_array_equal(value, store_arrays[key], err_msg=key)
    # And so the same lists, reasons included.
    model, store_model = load_model(ours.path), load_model(theirs.path)
    customers = store_model.customer_ids_.tolist()
    assert model.recommend_many(customers, k=10) == store_model.recommend_many(customers, k=10)


def test_recommender_fold_counts_every_line(on_duckdb: tuple[Any, Any]) -> None:
    engine, tables = on_duckdb

    purchases = EnginePurchases(engine, tables).order_lines()

    # Repeated items in one order are folded, and n_lines keeps their count.
    assert purchases.num_rows < int(pa.compute.sum(purchases.column("n_lines")).as_py())
    keys = purchases.select(["order_id", "item_id"]).group_by(["order_id", "item_id"]).aggregate([])
    assert keys.num_rows == purchases.num_rows


def test_snapshots_from_engine_equal_the_store_ones(
    store_session: Session, opened: tuple[Any, Any]
) -> None:
    engine, tables = opened

    ours = build_snapshots(store_session, as_of=AS_OF, source=EngineOrderFacts(engine, tables))
    theirs = build_snapshots(store_session, as_of=AS_OF)

    assert len(ours) == len(theirs) > 250
    assert ours == theirs
    assert sum(1 for s in theirs if s["n_orders"] > 1) > 100
    assert sum(s["total_spend"] for s in theirs) > 0


def test_service_purchases_from_engine_equal_the_store_ones(
    store_session: Session, on_duckdb: tuple[Any, Any]
) -> None:
    engine, tables = on_duckdb
    wanted: dict[str, Any] = {
        "after": AS_OF - dt.timedelta(days=200),
        "as_of": AS_OF,
        "product_ids": [2, 3],
        "categories": ["category-7"],
    }

    ours = EngineOrderFacts(engine, tables).service_purchases(**wanted)
    theirs = StoreOrderFacts(store_session).service_purchases(**wanted)

    # The store gives a row per line, the engine one per (customer, product, day).
    assert sorted(ours) == sorted(set(theirs))
    assert len(ours) > 20
    assert {category for *_, category, _ in theirs} >= {"category-7", "category-2"}
