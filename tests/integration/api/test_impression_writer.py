"""Impressions stored behind the request, in batches (issue 4 §3), on SQLite and PostgreSQL.

The writer needs a store of its own (its thread commits on its own connections), so these
tests use a fresh SQLite file and a PostgreSQL schema of their own, not the rolled-back test
transaction.
"""

import gc
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from kehu.app import GC_THRESHOLD, create_app
from kehu.commerce import LineInput, Product
from kehu.core import Actor, Settings, utcnow
from kehu.customers import Customer, record_consent
from kehu.engagement import ImpressionWriter, RecommendationEvent
from kehu.store import make_engine, make_session_factory, session_scope, upgrade_to_head
from kehu.users import Role, create_api_token
from tests.conftest import migrated_pg_schema
from tests.factories import make_customer, make_order, make_user

URL = "/api/v1/customers/{}/recommendations"


@pytest.fixture(scope="module")
def pg_store() -> Iterator[str]:
    yield from migrated_pg_schema("kehu_impressions")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated store the writer's thread may commit to, with a shop in it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kehu.db'}"
        upgrade_to_head(url)
    else:
        url = str(request.getfixturevalue("pg_store"))
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        session.execute(RecommendationEvent.__table__.delete())  # the PG schema is shared
    yield url, engine
    engine.dispose()


def _shop(engine: Engine) -> tuple[int, list[int]]:
    """Return a new customer's id and the ids of three products they bought."""
    with session_scope(make_session_factory(engine)) as session:
        customer = make_customer(session)
        skus = [f"SKU-{customer.id}-{n}" for n in range(3)]
        make_order(
            session,
            customer,
            ordered_at=datetime(2010, 3, 1, tzinfo=UTC),
            lines=[LineInput(sku=sku, quantity=1, unit_price=Decimal("2.00")) for sku in skus],
        )
        session.flush()
        ids = [session.scalar(select(Product.id).where(Product.sku == sku)) for sku in skus]
        return customer.id, [int(i) for i in ids if i is not None]


def _stored(engine: Engine) -> list[tuple[str, int | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(RecommendationEvent.event_id, RecommendationEvent.position).order_by(
                RecommendationEvent.event_id
            )
        ).all()
    return [(row[0], row[1]) for row in rows]


def test_queued_lists_are_all_stored_by_one_flush(store):
    _, engine = store
    customer, products = _shop(engine)
    writer = ImpressionWriter(make_session_factory(engine), flush_ms=10_000)
    now = utcnow()

    queued = [
        writer.submit(
            customer_id=customer,
            channel="web",
            serve_id=f"s{n}",
            shown=[(p, 1.0 / (i + 1)) for i, p in enumerate(products)],
            at=now,
        )
        for n in range(4)
    ]
    before = _stored(engine)
    added = writer.flush()

    assert queued == [3, 3, 3, 3]
    assert before == []  # nothing is written in the caller's thread
    assert added == 12 == writer.n_written
    assert writer.n_pending == 0
    stored = _stored(engine)
    assert len(stored) == 12
    assert (f"s0:{products[1]}", 2) in stored


def test_a_list_stored_twice_adds_nothing(store):
    _, engine = store
    customer, products = _shop(engine)
    writer = ImpressionWriter(make_session_factory(engine), flush_ms=10_000)
    shown = [(p, 1.0) for p in products]
    at = utcnow()

    writer.submit(customer_id=customer, channel="web", serve_id="again", shown=shown, at=at)
    first = writer.flush()
    writer.submit(customer_id=customer, channel="web", serve_id="again", shown=shown, at=at)
    writer.submit(customer_id=customer, channel="web", serve_id="again", shown=shown[:1], at=at)
    second = writer.flush()

    assert (first, second) == (3, 0)
    assert len(_stored(engine)) == 3
    assert writer.n_pending == 0


def test_stop_stores_what_is_still_queued(store):
    _, engine = store
    customer, products = _shop(engine)
    writer = ImpressionWriter(make_session_factory(engine), flush_ms=60_000)
    writer.start()
    writer.submit(
        customer_id=customer,
        channel="app",
        serve_id="last",
        shown=[(products[0], 1.0)],
        at=utcnow(),
    )

    left = writer.stop(timeout=10)

    assert left == 0
    assert _stored(engine) == [(f"last:{products[0]}", 1)]


def test_the_thread_stores_a_list_within_flush_ms(store):
    _, engine = store
    customer, products = _shop(engine)
    writer = ImpressionWriter(make_session_factory(engine), flush_ms=20)
    writer.start()
    try:
        writer.submit(
            customer_id=customer,
            channel="web",
            serve_id="soon",
            shown=[(p, 1.0) for p in products],
            at=utcnow(),
        )
        deadline = time.monotonic() + 5
        while len(_stored(engine)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stored = len(_stored(engine))
    finally:
        writer.stop()

    assert stored == 3


def test_a_list_naming_a_deleted_product_is_dropped_alone(store):
    _, engine = store
    customer, products = _shop(engine)
    writer = ImpressionWriter(make_session_factory(engine), flush_ms=10_000)
    at = utcnow()
    writer.submit(
        customer_id=customer, channel="web", serve_id="ok1", shown=[(products[0], 1)], at=at
    )
    writer.submit(
        customer_id=customer, channel="web", serve_id="gone", shown=[(99_999_999, 1)], at=at
    )
    writer.submit(
        customer_id=customer, channel="web", serve_id="ok2", shown=[(products[1], 1)], at=at
    )

    added = writer.flush()

    assert added == 2
    assert writer.n_dropped == 1
    assert writer.n_pending == 0
    assert [event_id for event_id, _ in _stored(engine)] == [
        f"ok1:{products[0]}",
        f"ok2:{products[1]}",
    ]


def test_a_database_refusing_writes_keeps_the_lists_queued(tmp_path):
    path = tmp_path / "kehu.db"
    upgrade_to_head(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    customer, products = _shop(engine)
    read_only = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    writer = ImpressionWriter(make_session_factory(read_only), flush_ms=10_000)
    writer.submit(
        customer_id=customer, channel="web", serve_id="later", shown=[(products[0], 1)], at=utcnow()
    )

    refused = writer.flush()
    writer.session_factory = make_session_factory(engine)  # the database accepts writes again
    stored = writer.flush()

    assert refused == 0
    assert writer.n_failed_flushes == 1
    assert stored == 1
    assert _stored(engine) == [(f"later:{products[0]}", 1)]
    read_only.dispose()
    engine.dispose()


def test_submit_over_max_pending_drops_the_oldest_lists(store):
    _, engine = store
    writer = ImpressionWriter(make_session_factory(engine), flush_ms=10, max_rows=2, max_pending=4)
    for n in range(4):
        writer.submit(
            customer_id=1, channel="web", serve_id=f"s{n}", shown=[(1, 1.0), (2, 1.0)], at=utcnow()
        )

    assert writer.n_pending == 4
    assert writer.n_dropped == 4


# ---------------------------------------------------------------- through the server


def _settings(url: str, tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_path,
        model_dir=tmp_path / "models",
        analyze_every_hours=0,
        voice_score_every_minutes=0,
        webhook_deliver_every_seconds=0,
        **extra,  # type: ignore[arg-type]
    )


def _token(engine: Engine) -> str:
    with session_scope(make_session_factory(engine)) as session:
        user = make_user(session, role=Role.ADMIN)
        _, token = create_api_token(session, user, name="t", actor=Actor.system("test"))
    return token


def _n_events(engine: Engine, customer: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).where(RecommendationEvent.customer_id == customer)
            )
            or 0
        )


def test_the_server_stores_web_impressions_behind_the_request(store, tmp_path):
    url, engine = store
    customer, _ = _shop(engine)
    headers = {"Authorization": f"Bearer {_token(engine)}"}
    app = create_app(_settings(url, tmp_path, recs_impression_flush_ms=10_000))

    with TestClient(app) as client:
        served = client.get(URL.format(customer), params={"channel": "web"}, headers=headers)
        queued = app.state.impression_writer.n_pending
        in_store_while_serving = _n_events(engine, customer)
    after_stop = _n_events(engine, customer)

    assert served.status_code == 200, served.text
    body = served.json()
    assert body["count"] > 0
    assert body["n_recorded"] == body["count"] == queued
    assert in_store_while_serving == 0  # the request wrote nothing
    assert after_stop == body["count"]  # the server's shutdown stored the batch


def test_a_retry_with_the_callers_serve_id_is_recorded_in_the_request(store, tmp_path):
    url, engine = store
    customer, _ = _shop(engine)
    headers = {"Authorization": f"Bearer {_token(engine)}"}
    app = create_app(_settings(url, tmp_path, recs_impression_flush_ms=10_000))
    params = {"channel": "web", "serve_id": "mine-1"}

    with TestClient(app) as client:
        first = client.get(URL.format(customer), params=params, headers=headers).json()
        retry = client.get(URL.format(customer), params=params, headers=headers).json()
        in_store = _n_events(engine, customer)

    assert first["n_recorded"] == first["count"] > 0
    assert retry["n_recorded"] == 0
    assert in_store == first["count"]


def test_an_outreach_list_is_recorded_in_the_request(store, tmp_path):
    # E-mail has a frequency cap and spends the contact budget: the next request must see it.
    url, engine = store
    customer, _ = _shop(engine)
    with session_scope(make_session_factory(engine)) as session:
        record_consent(
            session,
            session.get_one(Customer, customer),
            channel="email",
            purpose="marketing",
            status="granted",
            actor=Actor.system("test"),
        )
    headers = {"Authorization": f"Bearer {_token(engine)}"}
    app = create_app(_settings(url, tmp_path, recs_impression_flush_ms=10_000))

    with TestClient(app) as client:
        served = client.get(URL.format(customer), params={"channel": "email"}, headers=headers)
        queued = app.state.impression_writer.n_pending
        in_store = _n_events(engine, customer)

    body = served.json()
    assert served.status_code == 200, served.text
    assert body["n_recorded"] == body["count"] == in_store > 0
    assert queued == 0


def test_flush_ms_zero_records_in_the_request(store, tmp_path):
    url, engine = store
    customer, _ = _shop(engine)
    headers = {"Authorization": f"Bearer {_token(engine)}"}
    app = create_app(_settings(url, tmp_path, recs_impression_flush_ms=0))

    with TestClient(app) as client:
        served = client.get(URL.format(customer), params={"channel": "web"}, headers=headers)
        in_store = _n_events(engine, customer)

    assert app.state.impression_writer is None
    assert in_store == served.json()["count"] > 0


def test_served_lists_keep_their_restraint_when_written_behind(store, tmp_path):
    # Three views of the same list, each more than the policy's 30-minute fold apart, are
    # three ignored impressions: the next list holds the items back (hard stop), whether the
    # impressions were written in the request or behind it.
    url, engine = store
    customer, products = _shop(engine)
    headers = {"Authorization": f"Bearer {_token(engine)}"}
    app = create_app(_settings(url, tmp_path, recs_impression_flush_ms=10))
    first_view = utcnow() - timedelta(days=3)

    with TestClient(app) as client:
        writer = app.state.impression_writer
        for day in range(3):
            writer.submit(
                customer_id=customer,
                channel="web",
                serve_id=f"view-{day}",
                shown=[(p, 1.0) for p in products],
                at=first_view + timedelta(days=day),
            )
        writer.flush()
        after = client.get(URL.format(customer), params={"channel": "web"}, headers=headers)

    body = after.json()
    stopped = {w["item_id"] for w in body["withheld"] if w["reason"] == "ignored"}
    assert len(stopped) == 3
    assert body["n_recorded"] == body["count"]


def test_a_writer_on_one_connection_is_refused(engine):
    """A test's app shares one connection: writing impressions behind it must be switched off."""
    with engine.connect() as connection:
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")

        with pytest.raises(ValueError, match="KEHU_RECS_IMPRESSION_FLUSH_MS=0"):
            ImpressionWriter(factory, flush_ms=50)


@pytest.mark.parametrize("freeze", [True, False])
def test_the_server_tunes_the_collector_when_the_setting_asks(sqlite_url, freeze):
    before = gc.get_threshold()
    app = create_app(
        Settings(
            environment="test",
            database_url=sqlite_url,
            analyze_every_hours=0,
            voice_score_every_minutes=0,
            recs_impression_flush_ms=0,
            server_gc_freeze=freeze,
        )
    )

    with TestClient(app):
        serving = gc.get_threshold(), gc.get_freeze_count()

    assert serving[0] == ((GC_THRESHOLD, 10, 10) if freeze else before)
    assert (serving[1] > 0) is freeze
    assert gc.get_threshold() == before  # given back at shutdown
    assert gc.get_freeze_count() == 0
