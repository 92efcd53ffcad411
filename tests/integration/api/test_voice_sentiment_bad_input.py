"""Issue 6 §7 through HTTP: awkward posts are imported, scored and listed, never a 500.

Emoji only, mixed Chinese and English, English only, a 1 MB post, an empty post and the same
complaint posted by many accounts: the import answers 200, the scoring run 201, and every post
gets a defined sentiment (or none, for no text) that the list and detail routes show.
"""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

import csv
import io

from kehu.voice import find_post

V = "/api/v1/voice"
HEADER = ["platform", "external_id", "author_handle", "posted_at", "text"]
SPAM = "送餐太慢了，等了两个小时，饭都凉了！！"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _rows() -> list[list[str]]:
    at = "2026-11-20 09:00:00"
    return [
        ["weibo", "EMOJI-NEG", "u1", at, "😡😡👎💔"],
        ["weibo", "EMOJI-POS", "u2", at, "😍👍👍"],
        ["weibo", "MIXED", "u3", at, "快递太慢了 terrible service, never again 😡"],
        ["forum", "ENGLISH", "u4", at, "Great support, the agent fixed it in minutes. Love it!"],
        # 1 MB of text: cut by the import, then by the model, and still judged.
        ["forum", "HUGE", "u5", at, "质量太差了，用了两天就坏了。" * 75_000],
        ["weibo", "EMPTY", "u6", at, ""],
        ["weibo", "SYMBOLS", "u7", at, "？？？……!!!"],
        *[["weibo", f"SPAM{i}", f"bot{i}", at, SPAM + "!" * (i % 3)] for i in range(30)],
    ]


def test_awkward_posts_are_imported_scored_and_listed(client, admin, session):
    data = _csv(_rows())
    assert len(data) > 1_000_000

    imported = client.post(
        "/api/v1/imports/posts", headers=admin, files={"file": ("posts.csv", data)}
    )
    run = client.post(f"{V}/runs", headers=admin, json={})
    listed = client.get(f"{V}/posts", headers=admin, params={"limit": 100})

    assert imported.status_code == 200, imported.text
    assert imported.json()["n_loaded"] == 37
    assert run.status_code == 201, run.text
    assert run.json()["n_without_text"] == 1
    assert listed.status_code == 200, listed.text
    sentiment = {
        external_id: find_post(session, platform, external_id).sentiment
        for platform, external_id, *_ in _rows()
    }
    assert sentiment["EMOJI-NEG"] < 0.5 < sentiment["EMOJI-POS"]
    assert sentiment["MIXED"] < 0.5 < sentiment["ENGLISH"]
    assert sentiment["HUGE"] < 0.5
    assert sentiment["EMPTY"] is None
    assert sentiment["SYMBOLS"] == 0.5  # nothing to judge: neutral, never a complaint
    assert all(sentiment[f"SPAM{i}"] < 0.5 for i in range(30))

    huge = find_post(session, "forum", "HUGE")
    detail = client.get(f"{V}/posts/{huge.id}", headers=admin)
    negative = client.get(f"{V}/posts", headers=admin, params={"sentiment": "negative"})

    assert detail.status_code == 200, detail.text
    assert detail.json()["post"]["sentiment_label"] == "negative"
    assert negative.status_code == 200
    assert {"EMOJI-NEG", "MIXED", "HUGE"} <= {p["external_id"] for p in negative.json()["data"]}
