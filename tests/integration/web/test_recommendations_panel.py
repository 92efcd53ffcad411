"""The recommendations panel of the customer 360: items, reasons in words, impression history."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kehu.commerce import LineInput
from kehu.core import Actor, utcnow
from kehu.engagement import RecommendationEventIn, record_recommendation_events
from kehu.jobs.recommend import forget_loaded_recommender, train_recommender
from tests.factories import make_customer, make_order

HX = {"HX-Request": "true"}


@pytest.fixture
def buyer(app, session, test_settings, tmp_path):
    settings = test_settings.model_copy(update={"model_dir": tmp_path / "models"})
    app.state.settings = settings
    forget_loaded_recommender()
    buyer, other = make_customer(session, name="Ada"), make_customer(session, name="Bo")
    day = datetime(2010, 3, 1, 10, tzinfo=UTC)
    for n, (who, skus) in enumerate(
        [(buyer, ["TEA", "CUP"]), (other, ["TEA", "POT"]), (other, ["CUP", "POT"])]
    ):
        make_order(
            session,
            who,
            ordered_at=day + timedelta(days=n),
            lines=[
                LineInput(sku=s, quantity=1, unit_price=Decimal("2"), name=f"{s.title()} item")
                for s in skus
            ],
        )
    session.commit()
    yield buyer, settings
    forget_loaded_recommender()


def test_the_360_page_loads_the_panel_with_htmx(admin_client, buyer):
    customer, _ = buyer

    page = admin_client.get(f"/customers/{customer.id}")

    assert page.status_code == 200
    assert f'hx-get="/customers/{customer.id}/recommendations"' in page.text


def test_the_panel_shows_items_reasons_and_history(admin_client, session, buyer):
    customer, settings = buyer
    assert train_recommender(session, settings=settings).trained
    now = utcnow()
    record_recommendation_events(
        session,
        [
            RecommendationEventIn(
                event_id="imp-1",
                kind="impression",
                customer_id=customer.id,
                item_id="POT",
                occurred_at=now - timedelta(days=1),
            ),
            RecommendationEventIn(
                event_id="clk-1",
                kind="click",
                customer_id=customer.id,
                item_id="POT",
                occurred_at=now - timedelta(hours=20),
            ),
        ],
        actor=Actor.system("test"),
    )
    session.commit()

    panel = admin_client.get(f"/customers/{customer.id}/recommendations", headers=HX)

    assert panel.status_code == 200
    assert 'data-testid="recommendations-panel"' in panel.text
    assert "Bought before: TEA Tea item on 2010-03-01" in panel.text
    assert "Pot item" in panel.text
    assert "1 impressions, 1 clicks, 0 purchases, 0 dismissed" in panel.text
    assert panel.text.count('<li><span class="timeline-when">') == 2


def test_without_a_model_the_panel_says_popular(admin_client, buyer):
    customer, _ = buyer

    panel = admin_client.get(f"/customers/{customer.id}/recommendations", headers=HX)

    assert "No model trained yet: popular items" in panel.text
    assert "Popular with customers now" in panel.text
    assert "No recommendation shown to this customer yet." in panel.text


def test_a_plain_request_goes_to_the_360_page(admin_client, buyer):
    customer, _ = buyer

    answer = admin_client.get(f"/customers/{customer.id}/recommendations", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/customers/{customer.id}#recommendations"
