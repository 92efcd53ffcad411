"""Importing posts and comments through the neutral schema (SQLite and PostgreSQL)."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from kehu.core import Actor, InvalidInputError
from kehu.ingest import preview_import, run_import
from kehu.ingest.posts import match_authors
from kehu.voice import Post, PostIn, PostKind, find_post, upsert_posts
from tests.factories import make_customer

DATA = Path(__file__).parents[2] / "data" / "voice"
POSTS = DATA / "posts.csv"
ACTOR = Actor(kind="import", label="test")


def _import(session, path, **kwargs):
    return run_import(
        session, kind="posts", data=path.read_bytes(), filename=path.name, actor=ACTOR, **kwargs
    )


def _n_posts(session):
    return session.scalar(select(func.count()).select_from(Post))


def test_posts_file_loads_every_row_with_threads_spam_and_unknown_counts(session):
    run = _import(session, POSTS)

    assert (run.status, run.n_rows, run.n_loaded, run.n_errors) == ("applied", 24, 24, 0)
    assert run.counts["posts"] == {"created": 24, "updated": 0, "unchanged": 0}
    assert run.counts["duplicates"] == {"n": 2}
    w1 = find_post(session, "weibo", "W1")
    assert (w1.kind, w1.author_followers, w1.reposts, w1.comments, w1.likes) == (
        PostKind.POST,
        12000,
        35,
        12,
        80,
    )
    assert w1.posted_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    comments = session.scalars(select(Post).where(Post.parent_id == w1.id)).all()
    assert sorted(c.external_id for c in comments) == ["C1", "C2", "C3"]
    assert {c.kind for c in comments} == {PostKind.COMMENT}
    forum = find_post(session, "forum", "F1")
    assert (forum.author_followers, forum.reposts, forum.comments, forum.likes) == (
        None,
        None,
        None,
        None,
    )
    assert find_post(session, "forum", "F2").language == "none"
    assert find_post(session, "forum", "F3").language == "mixed"
    spam = [find_post(session, "weibo", f"S{i}") for i in (1, 2, 3)]
    assert spam[0].duplicate_of_id is None
    assert [s.duplicate_of_id for s in spam[1:]] == [spam[0].id, spam[0].id]
    assert len({s.text_hash for s in spam}) == 1


def test_traditional_and_simplified_spellings_hash_alike(session):
    traditional = "送餐太慢了，等了兩個小時"
    simplified = "送餐太慢了，等了两个小时"
    data = (
        "platform,external_id,author_handle,posted_at,text\n"
        f"forum,T1,a,2026-11-20 09:00:00,{traditional}\n"
        f"forum,T2,a,2026-11-20 09:30:00,{simplified}\n"
    )

    run_import(session, kind="posts", data=data.encode(), filename="t.csv", actor=ACTOR)

    first, second = find_post(session, "forum", "T1"), find_post(session, "forum", "T2")
    assert first.text_hash == second.text_hash
    assert second.duplicate_of_id == first.id


def test_reimport_upserts_on_platform_and_external_id(session):
    _import(session, POSTS)
    w1 = find_post(session, "weibo", "W1")
    w1.sentiment, w1.sentiment_at = 0.1, datetime(2026, 11, 20, tzinfo=UTC)
    session.flush()
    rows = list(csv.DictReader(io.StringIO(POSTS.read_text())))
    rows[0]["reposts"] = "350"
    rows[1]["text"] = "其实还行"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

    run = run_import(
        session, kind="posts", data=buffer.getvalue().encode(), filename="again.csv", actor=ACTOR
    )

    assert run.counts["posts"] == {"created": 0, "updated": 2, "unchanged": 22}
    assert _n_posts(session) == 24
    session.expire_all()
    w1 = find_post(session, "weibo", "W1")
    assert (w1.reposts, w1.sentiment) == (350, 0.1)  # counts change, the judgement stays
    w2 = find_post(session, "weibo", "W2")
    assert (w2.text, w2.sentiment, w2.sentiment_at) == ("其实还行", None, None)


def test_author_is_linked_to_the_customer_with_a_matching_identity(session):
    fan = make_customer(session, identities=[("weibo_uid", "5001")])
    forum = make_customer(session, identities=[("forum_handle", "lao_li")])

    run = _import(session, POSTS)

    assert run.counts["linked_authors"] == {"n": 2}
    assert find_post(session, "weibo", "W1").customer_id == fan.id
    assert find_post(session, "forum", "F1").customer_id == forum.id
    assert find_post(session, "weibo", "W2").customer_id is None


def test_comment_imported_before_its_post_is_adopted_later(session):
    comment = (
        "platform,external_id,parent_id,author_handle,posted_at,text\n"
        "weibo,K2,K1,b,2026-11-20 10:00:00,同感\n"
    )
    post = (
        "platform,external_id,author_handle,posted_at,text\n"
        "weibo,K1,a,2026-11-20 09:00:00,冰箱门关不严\n"
    )

    run_import(session, kind="posts", data=comment.encode(), filename="c.csv", actor=ACTOR)
    run_import(session, kind="posts", data=post.encode(), filename="p.csv", actor=ACTOR)

    session.expire_all()
    assert find_post(session, "weibo", "K2").parent_id == find_post(session, "weibo", "K1").id


def test_platform_export_names_and_json_array_are_understood(session):
    jsonl = _import(session, DATA / "weibo_export.jsonl")
    array = _import(session, DATA / "forum_export.json")

    assert (jsonl.n_loaded, jsonl.n_errors, array.n_loaded, array.n_errors) == (3, 0, 2, 0)
    j1 = find_post(session, "weibo", "J1")
    assert (j1.author_handle, j1.author_id, j1.author_followers, j1.comments) == (
        "导出用户1",
        "771",
        100,
        None,
    )
    assert j1.posted_at == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 01:00 +08:00
    assert find_post(session, "forum", "A2").text


def test_broken_rows_are_reported_and_good_rows_load(session):
    run = _import(session, DATA / "broken.csv")

    assert (run.n_rows, run.n_loaded, run.n_errors) == (6, 1, 5)
    by_line = {e["line"]: e for e in run.errors}
    assert by_line[3]["column"] == "reposts"
    assert "not a count" in by_line[3]["reason"]
    assert by_line[4]["column"] == "posted_at"
    assert "ambiguous" in by_line[4]["reason"]
    assert by_line[5]["column"] == "platform"
    assert "http" in by_line[6]["reason"]
    assert "0 or more" in by_line[7]["reason"]
    assert [p.external_id for p in session.scalars(select(Post))] == ["B1"]


def test_dry_run_writes_no_post(session):
    run = _import(session, POSTS, dry_run=True)

    assert (run.status, run.n_loaded) == ("previewed", 24)
    assert _n_posts(session) == 0


def test_extremely_long_text_is_cut_and_flagged(session):
    long_text = "冰箱门关不严" * 10_000
    data = f"platform,external_id,author_handle,posted_at,text\nforum,L1,a,2026-11-20,{long_text}\n"

    run = run_import(session, kind="posts", data=data.encode(), filename="l.csv", actor=ACTOR)

    post = find_post(session, "forum", "L1")
    assert run.n_loaded == 1
    assert (len(post.text), post.is_truncated) == (20_000, True)


def test_preview_shows_parsed_counts_and_row_problems():
    rows = preview_import(
        kind="posts", data=(DATA / "broken.csv").read_bytes(), filename="broken.csv", n=3
    )

    assert rows[0]["reposts"] == 5
    assert rows[0]["errors"] == []
    assert rows[1]["errors"][0]["field"] == "reposts"


def test_nul_characters_and_impossible_dates_never_break_the_import(session):
    data = (
        '{"platform": "forum", "external_id": "N1", "author_handle": "a\\u0000b", '
        '"posted_at": "2026-11-20", "text": "好\\u0000吃"}\n'
        '{"platform": "forum", "external_id": "N2", "author_handle": "a", '
        '"posted_at": "0001-01-01", "text": "x"}\n'
    )

    run = run_import(session, kind="posts", data=data.encode(), filename="n.jsonl", actor=ACTOR)

    assert (run.n_loaded, run.n_errors) == (1, 1)
    assert find_post(session, "forum", "N1").text == "好吃"
    assert "between 1990 and 2100" in run.errors[0]["reason"]


def test_a_malformed_json_array_is_refused_whole(session):
    with pytest.raises(InvalidInputError, match="expected a JSON object"):
        run_import(session, kind="posts", data=b'[{"a": 1}, 2]', filename="x.json", actor=ACTOR)
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        run_import(session, kind="posts", data=b'[{"a": 1},', filename="x.json", actor=ACTOR)

    assert _n_posts(session) == 0


def test_spam_in_reverse_time_order_keeps_the_earliest_as_the_original(session):
    data = (
        "platform,external_id,author_handle,posted_at,text\n"
        "weibo,R3,spammer,2026-11-20 12:00:00,送餐太慢\n"
        "weibo,R2,spammer,2026-11-20 11:00:00,送餐太慢\n"
        "weibo,R1,spammer,2026-11-20 10:00:00,送餐太慢！\n"
    )

    run_import(session, kind="posts", data=data.encode(), filename="r.csv", actor=ACTOR)

    first = find_post(session, "weibo", "R1")
    assert first.duplicate_of_id is None
    assert find_post(session, "weibo", "R2").duplicate_of_id == first.id
    assert find_post(session, "weibo", "R3").duplicate_of_id == first.id


def _posts_csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["platform", "external_id", "parent_id", "author_handle", "posted_at", "text"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _statements(connection, call):
    seen = []

    def remember(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", remember)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    return len(seen)


def _thread_rows(n, prefix):
    """n posts, each second one a comment on the one before, every tenth a spam copy."""
    rows = []
    for i in range(n):
        parent = f"{prefix}{i - 1}" if i % 2 else ""
        author, text = f"{prefix}-author{i}", f"第{i}条评论 送餐太慢"
        if i % 10 == 9:
            author, text = f"{prefix}-author{i - 1}", f"第{i - 1}条评论 送餐太慢"
        rows.append(["weibo", f"{prefix}{i}", parent, author, "2026-11-20 10:00:00", text])
    return rows


def test_the_import_is_set_wise_not_a_query_per_row(session, connection):
    few = _posts_csv(_thread_rows(20, "S"))
    many = _posts_csv(_thread_rows(600, "M"))

    n_few = _statements(
        connection,
        lambda: run_import(session, kind="posts", data=few, filename="f.csv", actor=ACTOR),
    )
    n_many = _statements(
        connection,
        lambda: run_import(session, kind="posts", data=many, filename="m.csv", actor=ACTOR),
    )

    assert _n_posts(session) == 620
    assert n_many <= n_few + 5  # row by row, 600 rows cost several thousand statements
    comment = find_post(session, "weibo", "M301")
    assert comment.parent_id == find_post(session, "weibo", "M300").id
    assert (
        find_post(session, "weibo", "M19").duplicate_of_id == find_post(session, "weibo", "M18").id
    )


def test_a_changed_text_leaves_the_spam_group_and_its_copies_are_remarked(session):
    rows = [
        ["weibo", "D1", "", "spammer", "2026-11-20 09:00:00", "快来领红包"],
        ["weibo", "D2", "", "spammer", "2026-11-20 09:05:00", "快来领红包！"],
        ["weibo", "D3", "", "spammer", "2026-11-20 09:10:00", "快来领红包"],
    ]
    first = run_import(session, kind="posts", data=_posts_csv(rows), filename="a.csv", actor=ACTOR)
    rows[0][5] = "我是真心推荐这家店"

    again = run_import(session, kind="posts", data=_posts_csv(rows), filename="b.csv", actor=ACTOR)

    assert first.counts["duplicates"] == {"n": 2}
    assert again.counts["posts"] == {"created": 0, "updated": 1, "unchanged": 2}
    d1, d2, d3 = (find_post(session, "weibo", f"D{i}") for i in (1, 2, 3))
    assert (d1.duplicate_of_id, d2.duplicate_of_id, d3.duplicate_of_id) == (None, None, d2.id)


def test_one_post_twice_in_a_call_is_refused(session):
    item = PostIn(
        platform="weibo",
        external_id="X1",
        author_handle="a",
        posted_at=datetime(2026, 11, 20, tzinfo=UTC),
    )

    with pytest.raises(InvalidInputError, match="once per call"):
        upsert_posts(session, [item, item])
    assert _n_posts(session) == 0


def test_authors_of_merged_customers_resolve_to_the_survivor(session):
    survivor = make_customer(session)
    merged = make_customer(session, identities=[("weibo_uid", "7007")])
    merged.merged_into_id = survivor.id
    session.flush()

    found = match_authors(session, [("weibo", "someone", "7007"), ("weibo", "nobody", "1")])

    assert found == {("weibo", "someone", "7007"): survivor.id, ("weibo", "nobody", "1"): None}
