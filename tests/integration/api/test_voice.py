"""Voice API: posts, alerts, crises, settings, demand and polls, through HTTP."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, func, select

from kehu.core import Actor
from kehu.ingest import run_import
from kehu.value import CustomerValue, ValueRun, ValueTier
from kehu.voice import (
    Alert,
    Crisis,
    Post,
    RiskInput,
    find_post,
    link_post_authors,
    raise_alert,
    save_mentions,
    save_sentiments,
    spread_risk,
)
from tests.factories import make_customer

DATA = Path(__file__).parents[2] / "data" / "voice"
ACTOR = Actor(kind="import", label="test")
V = "/api/v1/voice"


def _load_posts(session):
    run_import(
        session,
        kind="posts",
        data=(DATA / "posts.csv").read_bytes(),
        filename="posts.csv",
        actor=ACTOR,
    )
    w1 = find_post(session, "weibo", "W1")
    f1 = find_post(session, "forum", "F1")
    save_sentiments(session, {w1.id: 0.05, f1.id: 0.97})
    session.commit()
    return w1, f1


def test_posts_import_through_the_import_route_then_list_and_filter(client, admin, session):
    response = client.post(
        "/api/v1/imports/posts",
        headers=admin,
        files={"file": ("posts.csv", (DATA / "posts.csv").read_bytes())},
    )
    assert response.status_code == 200, response.text
    assert response.json()["n_loaded"] == 24
    w1 = find_post(session, "weibo", "W1")
    save_sentiments(session, {w1.id: 0.05})
    session.commit()

    everything = client.get(f"{V}/posts", headers=admin, params={"limit": 100}).json()
    negative = client.get(f"{V}/posts", headers=admin, params={"sentiment": "negative"}).json()
    unscored = client.get(f"{V}/posts", headers=admin, params={"sentiment": "unscored"}).json()

    assert everything["count"] == 24
    assert [p["external_id"] for p in negative["data"]] == ["W1"]
    assert negative["data"][0]["sentiment_label"] == "negative"
    assert unscored["count"] == 23


def test_post_detail_has_its_comments(client, admin, session):
    w1, _ = _load_posts(session)

    body = client.get(f"{V}/posts/{w1.id}", headers=admin).json()

    assert body["post"]["author_followers"] == 12000
    assert [c["external_id"] for c in body["comments"]] == ["C1", "C2", "C3"]
    assert body["n_comments"] == 3


def test_alert_shows_the_customer_and_opens_a_crisis_with_a_clock(client, admin, session, staff):
    owner = staff["owner"].user
    customer = make_customer(session, identities=[("weibo_uid", "5001")], owner_id=owner.id)
    w1, _ = _load_posts(session)
    risk = spread_risk(RiskInput(0.05, 12000, 35, 12, 2.0, 5))
    alert = raise_alert(session, w1, risk, actor=ACTOR)
    session.commit()

    listed = client.get(f"{V}/alerts", headers=staff["owner"].headers, params={"mine": True})
    one = listed.json()["data"][0]
    assert (one["id"], one["routed_to"], one["owner_id"]) == (alert.id, "customer_owner", owner.id)
    assert one["customer"]["id"] == customer.id
    assert one["customer"]["tier"] is None  # no value analysis has run
    assert one["post"]["external_id"] == "W1"
    assert set(one["breakdown"]["parts"]) == {"sentiment", "reach", "velocity", "cluster"}

    opened = client.post(f"{V}/alerts/{alert.id}/crisis", headers=admin, json={})
    assert opened.status_code == 201, opened.text
    crisis = opened.json()["crisis"]
    assert crisis["owner_id"] == owner.id
    assert crisis["seconds_left"] > 7000  # two hours by default
    assert opened.json()["timeline"][0]["kind"] == "opened"
    again = client.post(f"{V}/alerts/{alert.id}/crisis", headers=admin, json={})
    assert again.status_code == 409
    assert client.get(f"{V}/alerts", headers=admin).json()["count"] == 0


def test_crisis_checklist_timeline_response_and_close(client, admin, session, staff):
    created = client.post(
        f"{V}/crises",
        headers=admin,
        json={"title": "Fridge doors do not close", "response_target_minutes": 30},
    )
    assert created.status_code == 201, created.text
    crisis_id = created.json()["crisis"]["id"]
    assert created.json()["crisis"]["owner_id"] == staff["admin"].user.id

    ticked = client.put(
        f"{V}/crises/{crisis_id}/checklist/facts",
        headers=admin,
        json={"done": True, "note": "Batch 2026-10 hinges"},
    )
    bad_item = client.put(
        f"{V}/crises/{crisis_id}/checklist/lunch", headers=admin, json={"done": True}
    )
    noted = client.post(
        f"{V}/crises/{crisis_id}/notes", headers=admin, json={"text": "Called the blogger"}
    )
    responded = client.post(
        f"{V}/crises/{crisis_id}/responses",
        headers=admin,
        json={
            "text": "We are sorry; free repair for every door",
            "url": "https://weibo.com/brand/1",
        },
    )
    moved = client.post(
        f"{V}/crises/{crisis_id}/owner", headers=admin, json={"owner_id": staff["manager"].user.id}
    )
    closed = client.post(f"{V}/crises/{crisis_id}/close", headers=admin, json={"note": "Done"})
    after_close = client.post(f"{V}/crises/{crisis_id}/notes", headers=admin, json={"text": "x"})
    closed_response = client.post(
        f"{V}/crises/{crisis_id}/responses", headers=admin, json={"text": "late"}
    )

    assert ticked.json()["crisis"]["checklist"]["facts"]["done"] is True
    assert bad_item.status_code == 422
    assert "facts, cause, remedy, statement, follow_ups" in bad_item.json()["detail"]
    assert noted.status_code == 201
    body = responded.json()["crisis"]
    assert body["first_response_at"] is not None
    assert body["checklist"]["statement"]["done"] is True
    assert body["is_overdue"] is False
    assert body["responded_after_minutes"] < 1
    assert moved.json()["crisis"]["owner_id"] == staff["manager"].user.id
    assert closed.json()["crisis"]["status"] == "closed"
    assert after_close.status_code == 201  # notes stay possible on a closed case
    assert closed_response.status_code == 409
    kinds = [e["kind"] for e in closed.json()["timeline"]]
    assert kinds == ["opened", "checklist", "note", "response", "owner", "closed"]
    assert client.get(f"{V}/crises", headers=admin).json()["count"] == 0
    assert client.get(f"{V}/crises", headers=admin, params={"status": "all"}).json()["count"] == 1


def test_crisis_with_an_unknown_owner_or_post_is_refused(client, admin, session):
    unknown_owner = client.post(
        f"{V}/crises", headers=admin, json={"title": "X", "owner_id": 999999}
    )
    unknown_post = client.post(f"{V}/crises", headers=admin, json={"title": "X", "post_id": 999999})

    assert unknown_owner.status_code == 422
    assert "no user 999999" in unknown_owner.json()["detail"]
    assert unknown_post.status_code == 422
    assert session.scalar(select(func.count()).select_from(Crisis)) == 0


def test_dismissing_an_alert_twice_is_a_conflict(client, admin, session):
    w1, _ = _load_posts(session)
    alert = raise_alert(
        session, w1, spread_risk(RiskInput(0.0, 10**6, 100, 100, 1.0, 20)), actor=ACTOR
    )
    session.commit()

    first = client.post(f"{V}/alerts/{alert.id}/dismiss", headers=admin, json={"reason": "a joke"})
    second = client.post(f"{V}/alerts/{alert.id}/dismiss", headers=admin, json={})

    assert first.json()["status"] == "dismissed"
    assert second.status_code == 409
    assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_settings_change_and_refuse_nonsense(client, admin, staff):
    changed = client.patch(
        f"{V}/settings",
        headers=admin,
        json={
            "risk_threshold": 0.7,
            "crisis_owner_id": staff["manager"].user.id,
            "weights": {"cluster": 0.5},
        },
    )
    bad_weights = client.patch(
        f"{V}/settings", headers=admin, json={"weights": {"reach_scale": 0.5}}
    )
    all_zero = client.patch(
        f"{V}/settings",
        headers=admin,
        json={"weights": {"sentiment": 0, "reach": 0, "velocity": 0, "cluster": 0}},
    )
    unknown_owner = client.patch(f"{V}/settings", headers=admin, json={"crisis_owner_id": 999999})

    assert changed.status_code == 200, changed.text
    assert changed.json()["risk_threshold"] == 0.7
    assert changed.json()["weights"]["cluster"] == 0.5
    assert changed.json()["weights"]["reach"] == 0.25
    assert (bad_weights.status_code, all_zero.status_code, unknown_owner.status_code) == (
        422,
        422,
        422,
    )
    assert client.get(f"{V}/settings", headers=admin).json()["risk_threshold"] == 0.7


def test_demand_dictionary_and_mentions_over_time(client, admin, session):
    w1, f1 = _load_posts(session)
    save_mentions(
        session,
        {
            w1.id: ({("colour", "white")}, "FRIDGE-1", datetime(2026, 11, 20, 9, tzinfo=UTC)),
            f1.id: (
                {("colour", "white"), ("colour", "black")},
                "FRIDGE-1",
                datetime(2026, 11, 19, 20, tzinfo=UTC),
            ),
        },
    )
    session.commit()

    added = client.post(
        f"{V}/demand/terms",
        headers=admin,
        json={"attribute": "colour", "value": "white", "term": "象牙白"},
    )
    duplicate = client.post(
        f"{V}/demand/terms",
        headers=admin,
        json={"attribute": "colour", "value": "white", "term": "象牙白"},
    )
    bad = client.post(
        f"{V}/demand/terms", headers=admin, json={"attribute": "Colour!", "value": "w", "term": "w"}
    )
    series = client.get(
        f"{V}/demand/mentions",
        headers=admin,
        params={"attribute": "colour", "days": 3, "until": "2026-11-21T00:00:00Z"},
    ).json()
    deleted = client.delete(f"{V}/demand/terms/{added.json()['id']}", headers=admin)

    assert added.status_code == 201
    assert (duplicate.status_code, bad.status_code) == (409, 422)
    assert series["days"] == ["2026-11-19", "2026-11-20", "2026-11-21"]
    assert series["series"] == {"white": [1, 1, 0], "black": [1, 0, 0]}
    assert series["totals"] == {"white": 2, "black": 1}
    assert series["products"] == ["FRIDGE-1"]
    assert deleted.status_code == 204
    assert client.get(f"{V}/demand/terms", headers=admin).json()["count"] == 0


def test_poll_votes_and_tallies_over_time(client, admin, session):
    customer = make_customer(session)
    session.commit()
    created = client.post(
        f"{V}/polls",
        headers=admin,
        json={"question": "白色还是黑色？", "options": ["白色", "黑色"], "product_key": "PHONE-9"},
    )
    assert created.status_code == 201, created.text
    poll = created.json()
    white, black = (o["option_id"] for o in poll["options"])

    for voter, option in (("a", white), ("b", white), ("c", black)):
        vote = client.post(
            f"{V}/polls/{poll['id']}/votes",
            headers=admin,
            json={"option_id": option, "voter": voter},
        )
        assert vote.status_code == 201
    moved = client.post(
        f"{V}/polls/{poll['id']}/votes",
        headers=admin,
        json={"option_id": black, "voter": "b", "customer_id": customer.id},
    )
    wrong_option = client.post(
        f"{V}/polls/{poll['id']}/votes", headers=admin, json={"option_id": 999999, "voter": "d"}
    )
    unknown_customer = client.post(
        f"{V}/polls/{poll['id']}/votes",
        headers=admin,
        json={"option_id": white, "voter": "e", "customer_id": 999999},
    )
    closed = client.post(f"{V}/polls/{poll['id']}/close", headers=admin)
    late = client.post(
        f"{V}/polls/{poll['id']}/votes", headers=admin, json={"option_id": white, "voter": "f"}
    )
    one_option = client.post(
        f"{V}/polls", headers=admin, json={"question": "Q", "options": ["a", "A"]}
    )

    tallies = moved.json()
    assert tallies["n_votes"] == 3
    assert [(o["label"], o["votes"]) for o in tallies["options"]] == [("白色", 1), ("黑色", 2)]
    assert len(tallies["days"]) == 1
    assert tallies["options"][1]["cumulative"] == [2]
    assert (wrong_option.status_code, unknown_customer.status_code) == (422, 422)
    assert closed.json()["is_open"] is False
    assert late.status_code == 409
    assert one_option.status_code == 422


def test_bad_paths_and_queries_answer_4xx(client, admin):
    assert client.get(f"{V}/posts/0", headers=admin).status_code == 422
    assert client.get(f"{V}/posts", headers=admin, params={"sentiment": "angry"}).status_code == 422
    assert client.get(f"{V}/posts", headers=admin, params={"min_risk": 2}).status_code == 422
    assert client.get(f"{V}/crises/{2**63}", headers=admin).status_code == 422
    assert client.get(f"{V}/demand/mentions", headers=admin, params={"days": 0}).status_code == 422


def test_dates_out_of_range_are_refused_not_overflowed(client, admin):
    run = client.post(f"{V}/runs", headers=admin, json={"as_of": "0001-01-01T00:00:00Z"})
    mentions = client.get(f"{V}/demand/mentions", headers=admin, params={"until": "0001-01-01"})

    assert run.status_code == 422
    assert "between 1990 and 2100" in run.json()["detail"]
    assert mentions.status_code == 422


def _selects(connection, call):
    statements = []

    def remember(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", remember)
    try:
        assert call().status_code == 200
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    return len(statements)


def test_post_and_alert_lists_do_not_grow_with_rows(client, admin, session, connection):
    _load_posts(session)
    posts = session.scalars(select(Post).order_by(Post.id)).all()
    risk = spread_risk(RiskInput(0.0, 10**6, 100, 100, 1.0, 20))
    raise_alert(session, posts[1], risk, actor=ACTOR)
    session.commit()
    client.get(f"{V}/posts", headers=admin)  # the token's first lookup is not the list's
    few_posts = _selects(connection, lambda: client.get(f"{V}/posts", headers=admin))
    few_alerts = _selects(connection, lambda: client.get(f"{V}/alerts", headers=admin))
    for post in posts[2:8]:
        raise_alert(session, post, risk, actor=ACTOR)
    session.commit()

    many_posts = _selects(connection, lambda: client.get(f"{V}/posts", headers=admin))
    many_alerts = _selects(connection, lambda: client.get(f"{V}/alerts", headers=admin))

    assert many_posts == few_posts
    assert many_alerts == few_alerts


def _valued_customer(session, run, n):
    customer = make_customer(session, name=f"Valued {n}")
    session.add(
        CustomerValue(
            customer_id=customer.id,
            run_id=run.id,
            frequency=n,
            recency=1.0,
            T=10.0,
            monetary_value=Decimal("10.00"),
            p_alive=0.9,
            expected_purchases=1.5,
            expected_spend=Decimal("15.00"),
            clv=Decimal(f"{100 + n}.50"),
            value_rank=n,
            value_percentile=0.5,
            tier=ValueTier.VIP if n % 2 else ValueTier.LOW,
            rfm_r=3,
            rfm_f=3,
            rfm_m=3,
            rfm_segment="loyal",
            total_spend=Decimal("50.00"),
        )
    )
    return customer


def test_alert_list_names_every_authors_tier_without_a_query_per_author(
    client, admin, session, connection
):
    _load_posts(session)
    posts = session.scalars(select(Post).order_by(Post.id)).all()[1:9]
    run = ValueRun(status="succeeded")
    session.add(run)
    session.flush()
    customers = [_valued_customer(session, run, n) for n in range(len(posts))]
    session.flush()
    link_post_authors(session, {p.id: c.id for p, c in zip(posts, customers, strict=True)})
    session.expire_all()
    risk = spread_risk(RiskInput(0.0, 10**6, 100, 100, 1.0, 20))
    raise_alert(session, posts[0], risk, actor=ACTOR)
    session.commit()
    client.get(f"{V}/alerts", headers=admin)  # the token's first lookup is not the list's
    few = _selects(connection, lambda: client.get(f"{V}/alerts", headers=admin))
    for post in posts[1:]:
        raise_alert(session, post, risk, actor=ACTOR)
    session.commit()

    many = _selects(connection, lambda: client.get(f"{V}/alerts", headers=admin))
    body = client.get(f"{V}/alerts", headers=admin, params={"limit": 100}).json()

    assert many == few
    briefs = {a["customer"]["name"]: a["customer"] for a in body["data"]}
    assert len(briefs) == 8
    assert briefs["Valued 3"]["tier"] == "vip"
    assert briefs["Valued 3"]["clv"] == "103.50"
    assert briefs["Valued 4"]["tier"] == "low"
