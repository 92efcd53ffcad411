"""Recommendations with restraint, and feedback events, through the API (SQLite and PostgreSQL)."""

import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from kehu.analytics.recommend import Recommender
from kehu.commerce import LineInput, Product
from kehu.core import utcnow
from kehu.customers import record_consent
from kehu.engagement import RecommendationEvent, record_impressions
from kehu.jobs.recommend import forget_loaded_recommender, train_recommender
from tests.factories import ACTOR, make_customer, make_order

URL = "/api/v1/customers/{}/recommendations"


@pytest.fixture
def shop(app, session, test_settings, tmp_path):
    """Three customers, five products bought in a pattern, no model trained (popular items)."""
    app.state.settings = test_settings.model_copy(update={"model_dir": tmp_path / "models"})
    forget_loaded_recommender()
    buyers = [make_customer(session, name=f"Buyer {i}") for i in range(3)]
    day = datetime(2010, 3, 1, 10, tzinfo=UTC)
    baskets = [["TEA", "CUP"], ["TEA", "POT"], ["TEA", "CUP", "JAM"], ["TEA"], ["CUP", "SPOON"]]
    for n, basket in enumerate(baskets):
        make_order(
            session,
            buyers[n % 3],
            ordered_at=day + timedelta(days=n),
            lines=[LineInput(sku=sku, quantity=1, unit_price=Decimal("2.00")) for sku in basket],
        )
    session.commit()
    yield buyers
    forget_loaded_recommender()


def event(n, kind, customer, item, at, **extra):
    return {
        "event_id": f"e{n}",
        "kind": kind,
        "customer_id": customer.id,
        "item_id": item,
        "occurred_at": at.isoformat(),
        **extra,
    }


def n_events(session):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(RecommendationEvent))


# ---------------------------------------------------------------- events


def test_events_are_recorded_once_with_a_result_each(client, session, admin, shop):
    now = utcnow()
    batch = [
        event(1, "impression", shop[0], "TEA", now - timedelta(days=2)),
        event(2, "click", shop[0], "TEA", now - timedelta(days=1)),
        event(1, "impression", shop[0], "TEA", now - timedelta(days=2)),  # repeated in batch
    ]

    first = client.post("/api/v1/events", json={"events": batch}, headers=admin)
    again = client.post("/api/v1/events", json={"events": batch[:2]}, headers=admin)

    assert first.status_code == 200, first.text
    assert first.json()["n_recorded"] == 2
    assert [r["status"] for r in first.json()["results"]] == ["recorded", "recorded", "duplicate"]
    assert again.json()["n_duplicates"] == 2
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert n_events(session) == 2


def test_a_duplicate_with_other_content_keeps_the_stored_event(client, admin, shop):
    now = utcnow()
    client.post(
        "/api/v1/events", json={"events": [event(1, "click", shop[0], "TEA", now)]}, headers=admin
    )

    answer = client.post(
        "/api/v1/events", json={"events": [event(1, "dismiss", shop[0], "TEA", now)]}, headers=admin
    )

    result = answer.json()["results"][0]
    assert result["status"] == "duplicate"
    assert "different content" in result["message"]


def test_unknown_customer_and_item_refuse_the_batch_naming_them(client, session, admin, shop):
    now = utcnow()
    ghost = type("Ghost", (), {"id": 999_999})()
    batch = [
        event(1, "click", shop[0], "TEA", now),
        event(2, "click", ghost, "TEA", now),
        event(3, "click", shop[0], "NO-SUCH-SKU", now),
    ]

    answer = client.post("/api/v1/events", json={"events": batch}, headers=admin)

    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "engagement.bad_events"
    assert "there is no customer 999999" in body["detail"]
    assert "'NO-SUCH-SKU'" in body["detail"]
    assert [p["index"] for p in body["details"]] == [1, 2]
    assert n_events(session) == 0


def test_events_from_the_future_are_refused_but_clock_skew_is_fine(client, session, admin, shop):
    now = utcnow()
    skewed = event(1, "click", shop[0], "TEA", now + timedelta(minutes=2))
    future = event(2, "click", shop[0], "TEA", now + timedelta(hours=1))

    refused = client.post("/api/v1/events", json={"events": [skewed, future]}, headers=admin)
    accepted = client.post("/api/v1/events", json={"events": [skewed]}, headers=admin)

    assert refused.status_code == 422
    assert "in the future" in refused.json()["detail"]
    assert accepted.status_code == 200
    assert n_events(session) == 1


def test_late_events_out_of_order_count_and_purchases_are_attributed(client, admin, shop):
    now = utcnow()
    batch = [
        event(3, "purchase", shop[0], "JAM", now - timedelta(days=1)),
        event(1, "impression", shop[0], "JAM", now - timedelta(days=3)),
        event(2, "click", shop[0], "JAM", now - timedelta(days=2)),
        event(4, "purchase", shop[0], "POT", now - timedelta(days=1)),
    ]

    answer = client.post("/api/v1/events", json={"events": batch}, headers=admin)

    results = {r["event_id"]: r for r in answer.json()["results"]}
    assert results["e3"]["attributed_to"] == "e2"  # the newest exposure in the window
    assert results["e4"]["attributed_to"] is None  # never recommended


def test_bad_event_kind_and_oversized_batch_are_422(client, admin, shop):
    now = utcnow()
    bad_kind = client.post(
        "/api/v1/events", json={"events": [event(1, "like", shop[0], "TEA", now)]}, headers=admin
    )
    too_many = client.post(
        "/api/v1/events",
        json={"events": [event(n, "click", shop[0], "TEA", now) for n in range(1001)]},
        headers=admin,
    )

    assert bad_kind.status_code == 422
    assert too_many.status_code == 422


# ---------------------------------------------------------------- serving


def test_without_a_model_the_popular_items_are_served(client, admin, shop):
    answer = client.get(URL.format(shop[2].id), params={"channel": "console"}, headers=admin)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"].startswith("popular")
    assert [item["item_id"] for item in body["data"]] == ["TEA", "CUP", "JAM", "POT", "SPOON"]
    assert body["data"][0]["reasons"][0]["kind"] == "popular"
    assert body["n_recorded"] == 0  # the console shows staff, not the customer


def test_serving_records_impressions_once_per_serve_id(client, session, admin, shop):
    params = {"channel": "web", "k": 2, "serve_id": "req-1"}

    first = client.get(URL.format(shop[0].id), params=params, headers=admin)
    retry = client.get(URL.format(shop[0].id), params=params, headers=admin)

    assert first.json()["n_recorded"] == 2
    assert retry.json()["n_recorded"] == 0
    assert [i["item_id"] for i in retry.json()["data"]] == [
        i["item_id"] for i in first.json()["data"]
    ]
    assert n_events(session) == 2


def test_after_three_ignored_impressions_the_item_disappears(client, admin, shop):
    now = utcnow()
    ignored = [
        event(n, "impression", shop[0], "TEA", now - timedelta(days=days))
        for n, days in ((1, 3), (2, 2), (3, 1))
    ]
    params = {"channel": "web", "record": "false"}
    before = client.get(URL.format(shop[0].id), params=params, headers=admin).json()

    client.post("/api/v1/events", json={"events": ignored[:2]}, headers=admin)
    after_two = client.get(URL.format(shop[0].id), params=params, headers=admin).json()
    client.post("/api/v1/events", json={"events": ignored[2:]}, headers=admin)
    after_three = client.get(URL.format(shop[0].id), params=params, headers=admin).json()

    assert before["data"][0]["item_id"] == "TEA"
    tea = next(i for i in after_two["data"] if i["item_id"] == "TEA")
    # Two ignored, the last two days ago: 1 - (1 - 0.6^2) e^(-2/7)
    assert tea["discount"] == pytest.approx(1 - 0.64 * math.exp(-2 / 7), rel=1e-4)
    assert "TEA" not in [i["item_id"] for i in after_three["data"]]
    assert {"item_id": "TEA", "reason": "ignored"}.items() <= after_three["withheld"][0].items()


def test_a_click_brings_the_item_back(client, admin, shop):
    now = utcnow()
    batch = [
        event(n, "impression", shop[0], "TEA", now - timedelta(days=days))
        for n, days in ((1, 4), (2, 3), (3, 2))
    ]
    batch.append(event(4, "click", shop[0], "TEA", now - timedelta(days=1)))
    client.post("/api/v1/events", json={"events": batch}, headers=admin)

    body = client.get(URL.format(shop[0].id), params={"record": "false"}, headers=admin).json()

    assert body["data"][0]["item_id"] == "TEA"
    assert body["data"][0]["discount"] == 1.0


def test_consent_closes_outbound_channels_and_a_withdrawal_closes_web(client, session, admin, shop):
    customer = shop[1]
    email = client.get(URL.format(customer.id), params={"channel": "email"}, headers=admin).json()
    record_consent(
        session, customer, channel="web", purpose="marketing", status="withdrawn", actor=ACTOR
    )
    session.commit()
    web = client.get(URL.format(customer.id), params={"channel": "web"}, headers=admin).json()

    assert email["data"] == []
    assert email["channel_closed"]["reason"] == "no_consent"
    assert web["data"] == []
    assert web["channel_closed"]["reason"] == "no_consent"
    assert n_events(session) == 0


def test_frequency_cap_of_a_channel(client, session, admin, shop):
    customer = shop[1]
    record_consent(
        session, customer, channel="email", purpose="marketing", status="granted", actor=ACTOR
    )
    session.commit()

    answers = [
        client.get(
            URL.format(customer.id), params={"channel": "email", "k": 3}, headers=admin
        ).json()
        for _ in range(3)
    ]

    assert [a["count"] for a in answers] == [3, 3, 0]  # e-mail: 2 a week
    assert answers[2]["channel_closed"]["reason"] == "frequency_cap"
    assert answers[2]["channel_closed"]["until"] is not None


def test_unknown_channel_is_422_and_unknown_customer_404(client, admin, shop):
    channel = client.get(URL.format(shop[0].id), params={"channel": "fax"}, headers=admin)
    customer = client.get(URL.format(999_999), headers=admin)

    assert channel.status_code == 422
    assert "web, app, email" in channel.json()["detail"]
    assert customer.status_code == 404


def test_a_trained_model_is_served_with_reasons_and_reloaded_when_retrained(
    client, app, session, admin, shop
):
    settings = app.state.settings
    report = train_recommender(session, settings=settings)
    first = client.get(URL.format(shop[0].id), params={"channel": "console"}, headers=admin)
    make_order(
        session,
        shop[0],
        ordered_at=datetime(2010, 4, 1, 10, tzinfo=UTC),
        lines=[LineInput(sku="HONEY", quantity=1, unit_price=Decimal("4.00"))],
    )
    session.commit()
    time.sleep(0.01)  # a distinct modification time for the new params.json
    train_recommender(session, settings=settings)
    second = client.get(URL.format(shop[0].id), params={"channel": "console"}, headers=admin)

    assert report.trained, report.message
    assert (report.n_customers, report.n_items) == (3, 5)
    body = first.json()
    assert body["model"] == "recommender"
    assert body["model_trained_at"] is not None
    tea = next(i for i in body["data"] if i["item_id"] == "TEA")
    assert tea["reasons"][0]["kind"] == "bought_before"
    assert tea["reasons"][0]["text"].startswith("You bought TEA on 2010-03-")
    assert "HONEY" not in [i["item_id"] for i in body["data"]]
    assert "HONEY" in [i["item_id"] for i in second.json()["data"]]


def test_proposals_are_remembered_while_the_model_is_loaded(
    client, app, session, admin, shop, monkeypatch
):
    assert train_recommender(session, settings=app.state.settings).trained
    first = client.get(URL.format(shop[0].id), params={"channel": "console"}, headers=admin)

    def not_again(self, customer_id, **kwargs):
        raise AssertionError("the model was asked again")

    monkeypatch.setattr(Recommender, "recommend", not_again)
    again = client.get(URL.format(shop[0].id), params={"channel": "console"}, headers=admin)

    assert first.status_code == again.status_code == 200
    assert [i["item_id"] for i in again.json()["data"]] == [
        i["item_id"] for i in first.json()["data"]
    ]
    assert again.json()["data"][0]["reasons"] == first.json()["data"][0]["reasons"]


def test_training_without_sales_says_why(session, test_settings, tmp_path):
    settings = test_settings.model_copy(update={"model_dir": tmp_path / "models"})

    report = train_recommender(session, settings=settings)

    assert not report.trained
    assert "no sale lines" in report.message
    assert not (tmp_path / "models" / "recommender").exists()


def test_serving_runs_four_reads_and_one_insert(client, app, connection, session, admin, shop):
    # Query budget of the hot path: a token checked a moment ago, a trained model.
    assert train_recommender(session, settings=app.state.settings).trained
    client.get(URL.format(shop[1].id), params={"channel": "console"}, headers=admin)
    seen: list[str] = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()[:4]).upper())

    sql_event.listen(connection, "before_cursor_execute", collect)
    try:
        served = client.get(URL.format(shop[0].id), params={"channel": "web"}, headers=admin)
    finally:
        sql_event.remove(connection, "before_cursor_execute", collect)

    assert served.status_code == 200
    assert served.json()["n_recorded"] == served.json()["count"] > 0
    work = [s.split()[0] for s in seen if s.split()[0] in {"SELECT", "INSERT", "UPDATE"}]
    # the customer, its consent, its feedback with their products, the proposed products
    assert work == ["SELECT", "SELECT", "SELECT", "SELECT", "INSERT"]


def test_impressions_partly_recorded_before_add_only_the_new_ones(session, shop):
    now = utcnow()
    tea, cup, pot = (
        session.scalar(select(Product.id).where(Product.sku == sku))
        for sku in ("TEA", "CUP", "POT")
    )

    first = record_impressions(
        session, customer_id=shop[0].id, channel="web", serve_id="s1", shown=[(tea, 1.0)], at=now
    )
    again = record_impressions(
        session,
        customer_id=shop[0].id,
        channel="web",
        serve_id="s1",
        shown=[(tea, 1.0), (cup, 0.5), (pot, 0.2)],
        at=now,
    )

    assert (first, again) == (1, 2)
    assert n_events(session) == 3
    positions = session.execute(
        select(RecommendationEvent.event_id, RecommendationEvent.position).order_by(
            RecommendationEvent.position
        )
    ).all()
    assert [tuple(p) for p in positions] == [(f"s1:{tea}", 1), (f"s1:{cup}", 2), (f"s1:{pot}", 3)]
