"""The voice scoring job with the shipped sentiment model (SQLite and PostgreSQL)."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, func, select

from kehu.core import Actor
from kehu.ingest import run_import
from kehu.jobs.voice import run_voice_scoring
from kehu.voice import (
    Alert,
    Mention,
    Post,
    RiskInput,
    find_post,
    get_voice_settings,
    list_alerts,
    raise_alerts,
    spread_risk,
    update_voice_settings,
)
from tests.factories import make_customer, make_user

DATA = Path(__file__).parents[2] / "data" / "voice"
ACTOR = Actor(kind="system", label="test")
#: Three and a half hours after the first complaint of tests/data/voice/posts.csv.
AS_OF = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


def _import(session, name="posts.csv"):
    path = DATA / name
    return run_import(
        session, kind="posts", data=path.read_bytes(), filename=path.name, actor=ACTOR
    )


def test_scoring_judges_every_post_and_flags_the_complaints(session):
    _import(session)

    result = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    assert (result.n_scored, result.n_without_text) == (24, 0)
    complaints = [find_post(session, "weibo", f"W{i}") for i in range(1, 10)]
    assert all(p.sentiment < 0.5 for p in complaints)
    assert find_post(session, "forum", "F1").sentiment > 0.5  # a happy customer
    traditional = find_post(session, "forum", "F4")
    assert traditional.sentiment < 0.5
    assert 0.0 <= find_post(session, "forum", "F2").sentiment <= 1.0  # emoji only: judged


def test_spread_risk_is_explained_and_spam_is_counted_once(session):
    _import(session)

    result = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    w1 = find_post(session, "weibo", "W1")
    parts = w1.risk_breakdown["parts"]
    assert set(parts) == {"sentiment", "reach", "velocity", "cluster"}
    assert parts["reach"]["followers"] == 12000
    assert parts["velocity"]["per_hour"] == round((35 + 12) / 3.5, 3)
    burst = [find_post(session, "weibo", f"W{i}") for i in range(1, 10)]
    biggest = max(burst, key=lambda p: p.cluster_size)
    assert biggest.cluster_size >= 3  # slow-delivery complaints of several authors
    assert biggest.risk_breakdown["parts"]["cluster"]["size"] == biggest.cluster_size
    spam = [find_post(session, "weibo", f"S{i}") for i in (1, 2, 3)]
    assert spam[0].risk_score is not None
    assert [s.risk_score for s in spam[1:]] == [None, None]
    assert spam[1].risk_breakdown == {"note": f"duplicate of post {spam[0].id}"}
    forum = find_post(session, "forum", "F1")
    assert forum.risk_breakdown["unknown"] == ["reach", "velocity"]
    assert result.n_risk_scored == 24 - 5  # the Taobao reviews are older than the window


def test_an_alert_goes_to_the_owner_of_the_authors_customer(session):
    owner = make_user(session, role="owner")
    make_customer(session, identities=[("weibo_uid", "5001")], owner_id=owner.id)
    _import(session)
    update_voice_settings(session, actor=ACTOR, risk_threshold=0.3)

    result = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    w1 = find_post(session, "weibo", "W1")
    alert = session.scalar(select(Alert).where(Alert.post_id == w1.id))
    assert alert is not None
    assert alert.id in result.alert_ids
    assert (alert.owner_id, alert.routed_to) == (owner.id, "customer_owner")
    assert alert.score == w1.risk_score
    others = [a for a in list_alerts(session, limit=100)[0] if a.post_id != w1.id]
    assert all(a.routed_to == "managers" for a in others)


def test_a_second_run_scores_nothing_new_and_raises_no_duplicate_alert(session):
    _import(session)
    update_voice_settings(session, actor=ACTOR, risk_threshold=0.3)
    first = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    second = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    assert first.n_alerts > 0
    assert (second.n_scored, second.n_alerts) == (0, 0)
    assert session.scalar(select(func.count()).select_from(Alert)) == first.n_alerts


def test_a_high_threshold_raises_nothing(session):
    _import(session)
    update_voice_settings(session, actor=ACTOR, risk_threshold=1.0)

    result = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    assert result.n_alerts == 0
    assert get_voice_settings(session).risk_threshold == 1.0


def test_demand_mentions_are_found_with_the_default_dictionaries(session):
    _import(session)

    result = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    rows = session.execute(
        select(Mention.attribute, Mention.value, Mention.product_key)
        .join(Post, Post.id == Mention.post_id)
        .where(Post.platform == "taobao")
    ).all()
    colours = {(a, v) for a, v, _ in rows if a == "colour"}
    # T1: "ordered gold (金色), got white (白色)"; T4 wants a black (黑色) case
    assert colours == {("colour", "white"), ("colour", "black"), ("colour", "gold")}
    assert ("feature", "screen") in {(a, v) for a, v, _ in rows}  # T5: 屏幕有问题
    assert {key for *_, key in rows} == {"FRIDGE-1"}
    assert result.n_mentions == session.scalar(select(func.count()).select_from(Mention))


def test_empty_text_gets_no_sentiment_and_says_why(session):
    data = "platform,external_id,author_handle,posted_at,reposts\nweibo,E1,a,2026-11-20 11:00,3\n"
    run_import(session, kind="posts", data=data.encode(), filename="e.csv", actor=ACTOR)

    result = run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    post = find_post(session, "weibo", "E1")
    assert (result.n_scored, result.n_without_text) == (1, 1)
    assert (post.sentiment, post.risk_score) == (None, None)
    assert post.risk_breakdown == {"note": "no text to judge"}
    assert post.sentiment_at is not None


def test_an_extremely_long_post_is_scored(session):
    text = "送餐太慢了，等了两个小时，" * 3000
    data = f"platform,external_id,author_handle,posted_at,text\nweibo,L1,a,2026-11-20,{text}\n"
    run_import(session, kind="posts", data=data.encode(), filename="l.csv", actor=ACTOR)

    run_voice_scoring(session, actor=ACTOR, as_of=AS_OF)

    assert find_post(session, "weibo", "L1").sentiment < 0.5


def _selects(connection, call):
    seen = []

    def remember(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", remember)
    try:
        result = call()
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    return len(seen), result


def test_alerts_are_raised_for_many_posts_without_reads_per_post(session, connection):
    _import(session)
    owner = make_user(session, role="agent", email="owner@example.com")
    posts = session.scalars(select(Post).order_by(Post.id)).all()[:10]
    customers = [make_customer(session, owner_id=owner.id) for _ in posts]
    for post, customer in zip(posts, customers, strict=True):
        post.customer_id = customer.id
    session.flush()
    risk = spread_risk(RiskInput(0.0, 10**6, 100, 100, 1.0, 20))

    few, _ = _selects(connection, lambda: raise_alerts(session, [(posts[0], risk)], actor=ACTOR))
    many, raised = _selects(
        connection, lambda: raise_alerts(session, [(p, risk) for p in posts], actor=ACTOR)
    )

    assert many == few
    assert raised[0] is None  # the first post already had its alert
    assert [a.routed_to for a in raised[1:]] == ["customer_owner"] * 9
    assert {a.owner_id for a in raised[1:]} == {owner.id}
    assert session.scalar(select(func.count()).select_from(Alert)) == 10
