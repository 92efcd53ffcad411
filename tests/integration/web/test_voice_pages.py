"""Voice console pages: posts, alerts, crises with their clock, demand and polls."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from kehu.core import Actor
from kehu.ingest import run_import
from kehu.voice import (
    Crisis,
    RiskInput,
    find_post,
    raise_alert,
    save_mentions,
    save_risks,
    save_sentiments,
    spread_risk,
)
from kehu.voice.operations import ScoredPost
from tests.factories import make_customer
from tests.integration.web.conftest import csrf_of

DATA = Path(__file__).parents[2] / "data" / "voice"
ACTOR = Actor(kind="import", label="test")


def _posts(session):
    run_import(
        session,
        kind="posts",
        data=(DATA / "posts.csv").read_bytes(),
        filename="posts.csv",
        actor=ACTOR,
    )
    w1, f1 = find_post(session, "weibo", "W1"), find_post(session, "forum", "F1")
    save_sentiments(session, {w1.id: 0.05, f1.id: 0.97})
    risk = spread_risk(RiskInput(0.05, None, 35, 12, 2.0, 5))
    save_risks(session, [ScoredPost(w1.id, risk, 5, w1.id)])
    session.commit()
    session.expire_all()
    return w1, f1, risk


def test_posts_page_shows_sentiment_risk_and_unknown_counts(admin_client, session):
    _posts(session)

    page = admin_client.get("/voice", params={"sentiment": "negative"})
    everything = admin_client.get("/voice", params={"sort": "risk", "sentiment": "bogus"})

    assert page.status_code == 200
    assert page.text.count('data-testid="post-row"') == 1
    assert "送餐太慢" in page.text
    assert everything.text.count('data-testid="post-row"') == 24
    assert "unknown" in everything.text  # the forum post has no counts


def test_post_page_explains_the_risk(admin_client, session):
    w1, _, risk = _posts(session)

    page = admin_client.get(f"/voice/posts/{w1.id}")

    assert page.status_code == 200
    assert 'data-testid="risk-breakdown"' in page.text
    assert "5 authors say the same" in page.text
    assert "unknown: not counted" in page.text  # followers left out of this score
    assert f"{risk.upper_bound:.2f}" in page.text
    assert page.text.count('<tr><td class="nowrap">') == 3  # the three comments


def test_alert_to_crisis_checklist_response_and_close_through_forms(admin_client, session):
    customer = make_customer(session, name="王小明", identities=[("weibo_uid", "5001")])
    w1, _, risk = _posts(session)
    alert = raise_alert(session, find_post(session, "weibo", "W1"), risk, actor=ACTOR)
    session.commit()
    token = csrf_of(admin_client, "/voice/alerts")

    alerts = admin_client.get("/voice/alerts")
    opened = admin_client.post(
        f"/voice/alerts/{alert.id}/crisis", data={"csrf_token": token}, follow_redirects=False
    )
    crisis = session.scalar(select(Crisis))
    path = f"/voice/crises/{crisis.id}"
    ticked = admin_client.post(
        f"{path}/checklist/facts", data={"csrf_token": token, "done": "1", "note": "hinges"}
    )
    bad_item = admin_client.post(f"{path}/checklist/lunch", data={"csrf_token": token, "done": "1"})
    dashboard = admin_client.get("/voice/crises")
    responded = admin_client.post(
        f"{path}/responses", data={"csrf_token": token, "text": "我们深表歉意"}
    )
    closed = admin_client.post(f"{path}/close", data={"csrf_token": token, "note": "ok"})

    assert customer.name in alerts.text
    assert "not scored" in alerts.text
    assert opened.status_code == 303
    assert opened.headers["location"] == path
    assert 'data-testid="check-facts" data-done="true"' in ticked.text
    assert "Unknown checklist item" in bad_item.text
    assert 'class="badge badge-status-previewed crisis-clock"' in dashboard.text
    assert "min left" in dashboard.text
    assert "Responded after" in responded.text
    assert 'data-testid="crisis-status">Closed' in closed.text
    assert [
        e
        for e in ("opened", "checklist", "response", "closed")
        if f'data-kind="{e}"' in closed.text
    ] == [
        "opened",
        "checklist",
        "response",
        "closed",
    ]
    assert w1.id


def test_crisis_by_hand_needs_a_title(admin_client, session):
    token = csrf_of(admin_client, "/voice/crises")

    refused = admin_client.post("/voice/crises", data={"csrf_token": token, "title": " "})

    assert refused.status_code == 200
    assert "needs a title" in refused.text
    assert session.scalar(select(Crisis)) is None
    assert admin_client.get("/voice/crises/987654321").status_code == 404


def test_demand_page_charts_mentions_and_edits_the_dictionary(admin_client, session):
    w1, f1, _ = _posts(session)
    now = datetime.now(UTC)
    save_mentions(session, {w1.id: ({("colour", "white")}, "FRIDGE-1", now)})
    session.commit()
    token = csrf_of(admin_client, "/voice/demand")

    page = admin_client.get("/voice/demand", params={"attribute": "colour"})
    added = admin_client.post(
        "/voice/demand/terms",
        data={"csrf_token": token, "attribute": "colour", "value": "white", "term": "象牙白"},
    )
    again = admin_client.post(
        "/voice/demand/terms",
        data={"csrf_token": token, "attribute": "colour", "value": "white", "term": "象牙白"},
    )

    assert 'data-voice-chart="demand-data"' in page.text
    assert "white · 1" in page.text
    assert "象牙白" in added.text
    assert "already has" in again.text
    assert f1.id


def test_poll_created_voted_and_charted(admin_client, session):
    token = csrf_of(admin_client, "/voice/polls")

    created = admin_client.post(
        "/voice/polls",
        data={"csrf_token": token, "question": "Which colour?", "options": "white\nblack\n"},
        follow_redirects=False,
    )
    path = created.headers["location"]
    poll_page = admin_client.get(path)
    option = poll_page.text.split('<option value="', 1)[1].split('"', 1)[0]
    voted = admin_client.post(
        f"{path}/votes", data={"csrf_token": token, "option_id": option, "voter": "fan1"}
    )
    one_option = admin_client.post(
        "/voice/polls", data={"csrf_token": token, "question": "Q", "options": "only"}
    )

    assert created.status_code == 303
    assert 'data-testid="n-votes">1<' in voted.text
    assert 'data-voice-chart="poll-data"' in voted.text
    assert "2 to 20 options" in one_option.text
