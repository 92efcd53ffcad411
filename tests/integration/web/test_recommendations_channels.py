"""The 360 recommendations panel: each channel's consent, frequency cap and the stopped items."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kehu.commerce import LineInput
from kehu.core import Actor, utcnow
from kehu.customers import record_consent
from kehu.engagement import RecommendationEventIn, record_recommendation_events
from kehu.jobs.recommend import forget_loaded_recommender
from tests.factories import make_customer, make_order

HX = {"HX-Request": "true"}
ACTOR = Actor.system("test")


@pytest.fixture
def customer(app, session, test_settings, tmp_path):
    app.state.settings = test_settings.model_copy(update={"model_dir": tmp_path / "models"})
    forget_loaded_recommender()
    ada = make_customer(session, name="Ada")
    make_order(
        session,
        ada,
        ordered_at=datetime(2010, 3, 1, 10, tzinfo=UTC),
        lines=[
            LineInput(sku=s, quantity=1, unit_price=Decimal("2"), name=f"{s.title()} item")
            for s in ("TEA", "CUP", "POT", "JAM")
        ],
    )
    session.commit()
    yield ada
    forget_loaded_recommender()


def _impression(n, customer, item, at, channel, serve_id):
    return RecommendationEventIn(
        event_id=f"imp-{n}",
        kind="impression",
        customer_id=customer.id,
        item_id=item,
        occurred_at=at,
        channel=channel,
        serve_id=serve_id,
    )


def _row(html, channel):
    found = re.search(rf'<tr data-testid="recs-channel-{channel}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row for {channel}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_each_channel_shows_consent_cap_and_whether_it_is_open(admin_client, session, customer):
    # given: e-mail granted and used twice this week (its cap), web withdrawn, SMS never asked
    now = utcnow()
    for channel, status in (("email", "granted"), ("web", "withdrawn")):
        record_consent(
            session, customer, channel=channel, purpose="marketing", status=status, actor=ACTOR
        )
    events = [
        _impression(1, customer, "TEA", now - timedelta(days=3), "email", "mail-1"),
        _impression(2, customer, "CUP", now - timedelta(days=3), "email", "mail-1"),
        _impression(3, customer, "TEA", now - timedelta(days=1), "email", "mail-2"),
        _impression(4, customer, "POT", now - timedelta(days=9), "email", "mail-0"),
    ]
    record_recommendation_events(session, events, actor=ACTOR)
    session.commit()

    # when
    panel = admin_client.get(f"/customers/{customer.id}/recommendations", headers=HX)

    # then
    assert panel.status_code == 200
    frees = (now - timedelta(days=3) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert _row(panel.text, "email") == (
        f"email granted 2 of 2 used in 7 days, 0 left closed: cap reached until {frees}"
    )
    assert _row(panel.text, "sms") == (
        "sms not asked (needed) 0 of 1 used in 7 days, 1 left closed: no consent"
    )
    assert _row(panel.text, "web") == "web withdrawn no cap (0 in 7 days) closed: no consent"
    assert _row(panel.text, "app") == "app not asked no cap (0 in 7 days) open"
    assert 'data-testid="recs-channel-console"' not in panel.text
    assert 'data-testid="recs-stopped"' not in panel.text


def test_items_ignored_three_times_or_dismissed_are_listed_as_stopped(
    admin_client, session, customer
):
    # given: TEA shown three times (a day apart) without a response, JAM dismissed, CUP shown
    # three times but clicked after
    now = utcnow()
    events = [
        _impression(n, customer, item, now - timedelta(days=days), "web", f"s-{item}-{n}")
        for n, (item, days) in enumerate(
            [("TEA", 5), ("TEA", 4), ("TEA", 3), ("CUP", 5), ("CUP", 4), ("CUP", 3)]
        )
    ] + [
        RecommendationEventIn(
            event_id="clk-cup",
            kind="click",
            customer_id=customer.id,
            item_id="CUP",
            occurred_at=now - timedelta(days=2),
        ),
        RecommendationEventIn(
            event_id="dis-jam",
            kind="dismiss",
            customer_id=customer.id,
            item_id="JAM",
            occurred_at=now - timedelta(days=1),
        ),
    ]
    record_recommendation_events(session, events, actor=ACTOR)
    session.commit()

    # when
    panel = admin_client.get(f"/customers/{customer.id}/recommendations", headers=HX)

    # then: TEA back 30 days after its last impression, JAM 90 days after the dismiss
    stopped = re.search(
        r'<ul class="list muted small" data-testid="recs-stopped">(.*?)</ul>', panel.text, re.S
    )
    assert stopped is not None
    lines = [
        " ".join(re.sub(r"<[^>]+>", " ", li).split())
        for li in re.findall(r"<li>(.*?)</li>", stopped.group(1), re.S)
    ]
    tea_back = (now - timedelta(days=3) + timedelta(days=30)).strftime("%Y-%m-%d")
    jam_back = (now - timedelta(days=1) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert lines == [
        f"TEA Tea item · shown several times without response · until {tea_back}",
        f"JAM Jam item · dismissed by the customer · until {jam_back}",
    ]
    assert "Stopped in every channel (2)" in panel.text
    assert _row(panel.text, "web") == "web not asked no cap (6 in 7 days) open"
