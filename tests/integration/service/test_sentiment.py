"""QA perception without a rating: the sentiment of the customer's last messages."""

# ruff: noqa: RUF001 - Chinese customer text uses full-width punctuation

import csv
from pathlib import Path

from kehu.jobs.service import score_sentiment
from kehu.service import add_message, record_outcome, ticket_quality
from kehu.text.sentiment import SentimentClassifier
from tests.factories import ACTOR
from tests.factories.service import make_ticket

DATA = Path(__file__).parents[2] / "data" / "service"


def _model() -> SentimentClassifier:
    with (DATA / "waimai_sentiment_slice.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return SentimentClassifier().fit([r["review"] for r in rows], [int(r["label"]) for r in rows])


def test_unrated_tickets_get_the_sentiment_of_their_last_customer_messages(session):
    happy = make_ticket(session, body="送餐太慢了")
    add_message(
        session, happy, body="很快，好吃，谢谢，非常满意", author_kind="customer", actor=ACTOR
    )
    angry = make_ticket(session, body="太难吃了，送得又慢，非常失望，再也不点了")
    rated = make_ticket(session, body="太难吃了")
    record_outcome(session, rated, rating=4, actor=ACTOR)

    n_scored = score_sentiment(session, actor=ACTOR, model=_model())

    assert n_scored == 2
    assert rated.sentiment is None  # a rating wins; nothing to score
    assert happy.sentiment is not None
    assert angry.sentiment is not None
    assert happy.sentiment > 0.5 > angry.sentiment
    quality = ticket_quality(session, angry, window_days=7)
    assert (quality.perception_source, quality.perception) == ("sentiment", angry.sentiment)
    assert ticket_quality(session, rated, window_days=7).perception == 0.75
