"""Demo voice of the customer: real review texts as posts and comments, a burst, a crisis, a poll.

The texts are real Chinese reviews (``data/voice_reviews.csv``, see ATTRIBUTION.md); authors,
counts and times are invented around the moment of seeding so the spread-risk window (the last
72 hours) holds a burst of 18 slow-delivery complaints on Weibo. The posts go through the real
import (``kind="posts"``) and the real scoring job; the first complaint's author is a known,
owned customer (a Weibo uid on their record), so its alert goes to that customer's owner.
Idempotent: nothing happens when posts already exist.
"""

# ruff: noqa: RUF001 - Chinese demo text uses full-width punctuation

import csv
import io
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.core import Actor, KehuError, utcnow
from kehu.customers import Customer, add_identity
from kehu.ingest import run_import
from kehu.jobs.voice import run_voice_scoring
from kehu.voice import (
    Post,
    add_crisis_note,
    cast_vote,
    create_poll,
    find_post,
    get_alert,
    list_alerts,
    list_poll_options,
    open_crisis,
    set_checklist_item,
)

log = logging.getLogger(__name__)

ACTOR = Actor(kind="system", label="demo")
DATA_FILE = "voice_reviews.csv"
#: The Weibo uid of the known customer who starts the burst.
KNOWN_AUTHOR_UID = "demo-5001"
PRODUCTS = {"手机": "PHONE-X1", "平板": "PAD-8", "衣服": "DRESS-21", "热水器": "HEATER-60"}


@dataclass
class VoiceDemoSummary:
    """What :func:`seed_voice` did."""

    n_posts: int = 0
    n_alerts: int = 0
    crisis_id: int | None = None
    poll_id: int | None = None


def _reviews() -> list[dict[str, str]]:
    text = (resources.files("kehu.demo") / "data" / DATA_FILE).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _when(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _rows(reviews: list[dict[str, str]], now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    burst = [r["review"] for r in reviews if r["role"] == "burst"]
    start = now - timedelta(hours=3)
    for i, text in enumerate(burst[:14]):
        rows.append(
            {
                "platform": "weibo",
                "external_id": f"wb-burst-{i + 1}",
                "author_handle": "吃货小王" if i == 0 else f"微博用户{rng.randint(1000, 9999)}",
                "author_id": KNOWN_AUTHOR_UID if i == 0 else f"demo-{6000 + i}",
                "author_followers": 120_000 if i == 0 else int(rng.lognormvariate(7, 1.2)),
                "reposts": 600 if i == 0 else rng.randint(0, 40),
                "comments": 150 if i == 0 else rng.randint(0, 15),
                "likes": rng.randint(5, 300),
                "posted_at": _when(start + timedelta(minutes=12 * i + rng.randint(0, 10))),
                "url": f"https://weibo.com/demo/wb-burst-{i + 1}",
                "text": text,
                "topic": "外卖",
            }
        )
    for i, text in enumerate(burst[14:]):
        rows.append(
            {
                "platform": "weibo",
                "external_id": f"wb-burst-1-c{i + 1}",
                "parent_id": "wb-burst-1",
                "author_handle": f"评论用户{i + 1}",
                "likes": rng.randint(0, 30),
                "posted_at": _when(start + timedelta(minutes=20 + 15 * i)),
                "text": text,
                "topic": "外卖",
            }
        )
    for i in range(3):  # one author pasting the same complaint: counted once
        rows.append(
            {
                "platform": "weibo",
                "external_id": f"wb-spam-{i + 1}",
                "author_handle": "刷屏君",
                "author_followers": 12,
                "reposts": 0,
                "comments": 0,
                "posted_at": _when(now - timedelta(hours=2, minutes=10 * i)),
                "text": burst[0],
                "topic": "外卖",
            }
        )
    platforms = ("weibo", "forum", "wechat")
    for i, review in enumerate(r for r in reviews if r["role"] == "background"):
        platform = platforms[i % 3]
        known = platform != "forum"  # forum exports carry no counts
        rows.append(
            {
                "platform": platform,
                "external_id": f"{platform}-bg-{i + 1}",
                "author_handle": f"{platform}_user_{rng.randint(100, 999)}",
                "author_followers": int(rng.lognormvariate(5, 1.5)) if known else None,
                "reposts": rng.randint(0, 5) if known else None,
                "comments": rng.randint(0, 5) if known else None,
                "posted_at": _when(now - timedelta(hours=rng.uniform(4, 24 * 14))),
                "text": review["review"],
                "topic": "外卖",
            }
        )
    for i, review in enumerate(r for r in reviews if r["role"] == "demand"):
        rows.append(
            {
                "platform": "taobao" if i % 2 else "jd",
                "external_id": f"review-{i + 1}",
                "author_handle": f"买家{rng.randint(10000, 99999)}",
                "posted_at": _when(now - timedelta(hours=rng.uniform(4, 24 * 28))),
                "text": review["review"],
                "product_sku": PRODUCTS.get(review["category"], "OTHER"),
            }
        )
    return rows


def _known_customer(session: Session) -> Customer | None:
    """Return the owned customer (a VIP after the value analysis) who starts the burst."""
    return session.scalar(
        select(Customer)
        .where(Customer.owner_id.is_not(None), Customer.merged_into_id.is_(None))
        .order_by(Customer.id)
        .limit(1)
    ) or session.scalar(select(Customer).order_by(Customer.id).limit(1))


def _seed_poll(session: Session, now: datetime, rng: random.Random) -> int:
    poll = create_poll(
        session,
        question="新款手机 PHONE-X1 的配色，你最想要哪一款？",
        options=["白色", "黑色", "香槟金"],
        product_key="PHONE-X1",
        actor=ACTOR,
    )
    options = list_poll_options(session, poll.id)
    for n in range(120):
        option = options[0] if rng.random() < 0.55 else options[1 if rng.random() < 0.7 else 2]
        cast_vote(
            session,
            poll,
            option_id=option.id,
            voter=f"fan{n}",
            at=now - timedelta(hours=rng.uniform(0, 24 * 5)),
        )
    return poll.id


def seed_voice(session: Session, *, now: datetime | None = None) -> VoiceDemoSummary:
    """Load the voice demo (posts, scores, an alert, a crisis, a poll) unless posts exist."""
    summary = VoiceDemoSummary()
    if session.scalar(select(func.count()).select_from(Post)):
        return summary
    now = now or utcnow()
    rng = random.Random(20261125)
    known = _known_customer(session)
    if known is not None:
        add_identity(session, known, "weibo_uid", KNOWN_AUTHOR_UID, actor=ACTOR, source="demo")
    rows = _rows(_reviews(), now, rng)
    data = "\n".join(
        json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
        for row in rows
    )
    run = run_import(
        session, kind="posts", data=data.encode(), filename="voice_demo.jsonl", actor=ACTOR
    )
    summary.n_posts = run.n_loaded
    try:
        result = run_voice_scoring(session, actor=ACTOR, as_of=now)
    except KehuError as exc:  # no sentiment model in this installation: posts stay unscored
        log.warning("voice demo: posts not scored (%s)", exc.message)
    else:
        summary.n_alerts = result.n_alerts
        alerts, _ = list_alerts(session, limit=100)
        first = find_post(session, "weibo", "wb-burst-1")
        # The crisis starts from the known customer's complaint when it raised an alert.
        alerts = sorted(alerts, key=lambda a: first is None or a.post_id != first.id)
        if alerts:
            alert = get_alert(session, alerts[0].id)
            crisis = open_crisis(
                session, actor=ACTOR, alert=alert, title="外卖送餐慢：微博集中投诉"
            )
            set_checklist_item(
                session,
                crisis,
                "facts",
                done=True,
                note="18 条同类投诉集中在 3 小时内，多为午高峰",
                actor=ACTOR,
            )
            add_crisis_note(session, crisis, "已联系配送站长核实午高峰运力", actor=ACTOR)
            summary.crisis_id = crisis.id
    summary.poll_id = _seed_poll(session, now, rng)
    return summary


__all__ = ["VoiceDemoSummary", "seed_voice"]
