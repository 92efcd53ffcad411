"""Voice scoring: sentiment of new posts, demand mentions, spread risk and alerts.

One run:

1. links authors of new and recent posts to customers whose identity now matches;
2. scores the sentiment of every post not judged yet with the default model
   (:func:`kehu.text.sentiment.load_default_sentiment_model`, P(positive)), in batches; a post
   without text (a bare repost) gets no sentiment and no risk, and says so;
3. finds demand mentions (dictionary words, :mod:`kehu.voice.demand`) in those posts;
4. re-scores the spread risk of every post of the cluster window (velocity changes as a post
   ages, clusters as others join): negative, not duplicated posts are clustered together
   (:func:`kehu.voice.cluster_texts` over normalised texts), then each post gets
   :func:`kehu.voice.spread_risk` with the stored weights;
5. raises an alert for each post at or above the threshold that has none yet.

Spam is counted once: a post marked as a duplicate (same author, same normalised text, within
the dedupe window) is left out of clustering and gets no risk of its own.
"""

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy.orm import Session

from kehu.core import Actor, InvalidInputError, utcnow
from kehu.ingest.posts import match_authors
from kehu.text import normalize
from kehu.voice import (
    MAX_POSTS,
    Post,
    RiskInput,
    RiskWeights,
    ScoredPost,
    TermMatcher,
    age_in_hours,
    cluster_texts,
    get_voice_settings,
    link_post_authors,
    list_posts_to_score,
    list_recent_posts,
    list_terms,
    raise_alerts,
    save_mentions,
    save_risks,
    save_sentiments,
    seed_default_terms,
    spread_risk,
)

log = logging.getLogger(__name__)

#: Characters of a post the sentiment model reads (the opening says what the post is about).
MODEL_CHARS = 2000
BATCH_SIZE = 2000


class SentimentModel(Protocol):
    """What the job needs of a sentiment model: P(negative), P(positive) per text."""

    def predict_proba(self, texts: Sequence[str]) -> Any:
        """Return an (n, 2) array; column 1 is P(positive)."""


@dataclass
class VoiceRunResult:
    """What a scoring run did."""

    as_of: datetime
    n_linked: int = 0
    n_scored: int = 0
    n_without_text: int = 0
    n_mentions: int = 0
    n_risk_scored: int = 0
    n_alerts: int = 0
    alert_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _has_text(text: str) -> bool:
    return bool(text.strip())


def score_sentiments(model: SentimentModel, texts: Sequence[str]) -> list[float | None]:
    """Return P(positive) per text (None for an empty text), in batches of :data:`BATCH_SIZE`."""
    scores: list[float | None] = [None] * len(texts)
    todo = [i for i, t in enumerate(texts) if _has_text(t)]
    for start in range(0, len(todo), BATCH_SIZE):
        chunk = todo[start : start + BATCH_SIZE]
        probabilities = np.asarray(model.predict_proba([texts[i][:MODEL_CHARS] for i in chunk]))
        for i, p in zip(chunk, probabilities[:, 1].tolist(), strict=True):
            scores[i] = None if math.isnan(p) else min(1.0, max(0.0, float(p)))
    return scores


def _link_authors(session: Session, posts: Sequence[Post]) -> int:
    unlinked = [post for post in posts if post.customer_id is None]
    found = match_authors(session, [(p.platform, p.author_handle, p.author_id) for p in unlinked])
    links: dict[int, int] = {}
    for post in unlinked:
        customer_id = found[(post.platform, post.author_handle, post.author_id)]
        if customer_id is not None:
            links[post.id] = customer_id
            post.customer_id = customer_id
    return link_post_authors(session, links)


def _matcher(session: Session) -> TermMatcher:
    return TermMatcher.build((t.attribute, t.value, normalize(t.term)) for t in list_terms(session))


def _is_negative(p_positive: float | None) -> bool:
    return p_positive is not None and p_positive < 0.5


def _score_risks(
    posts: Sequence[Post],
    sentiments: dict[int, float | None],
    weights: RiskWeights,
    as_of: datetime,
) -> list[ScoredPost]:
    negatives = [
        p for p in posts if p.duplicate_of_id is None and _is_negative(sentiments.get(p.id))
    ]
    negatives = sorted(negatives, key=lambda p: (p.posted_at, p.id))[-MAX_POSTS:]
    clusters = cluster_texts(
        [normalize(p.text) for p in negatives],
        [f"{p.platform}:{p.author_handle}" for p in negatives],
    )
    size_of = {p.id: s for p, s in zip(negatives, clusters.sizes, strict=True)}
    key_of = {
        p.id: negatives[label].id for p, label in zip(negatives, clusters.labels, strict=True)
    }
    scored: list[ScoredPost] = []
    for post in posts:
        if post.duplicate_of_id is not None:
            scored.append(
                ScoredPost(post.id, None, None, None, f"duplicate of post {post.duplicate_of_id}")
            )
            continue
        p = sentiments.get(post.id)
        if p is None:
            scored.append(ScoredPost(post.id, None, None, None, "no text to judge"))
            continue
        risk = spread_risk(
            RiskInput(
                p_positive=p,
                followers=post.author_followers,
                reposts=post.reposts,
                comments=post.comments,
                age_hours=age_in_hours(post.posted_at, as_of),
                cluster_size=size_of.get(post.id, 1),
            ),
            weights,
        )
        scored.append(
            ScoredPost(post.id, risk, size_of.get(post.id, 1), key_of.get(post.id, post.id))
        )
    return scored


def run_voice_scoring(
    session: Session,
    *,
    actor: Actor,
    as_of: datetime | None = None,
    model: SentimentModel | None = None,
) -> VoiceRunResult:
    """Score new posts, refresh the spread risk of the window and raise alerts.

    Parameters
    ----------
    as_of
        The moment the risk is judged at (post ages, the window's end); default now.
    model
        A fitted sentiment model; default the shipped one.

    Returns
    -------
    VoiceRunResult
        Counts and the ids of the alerts raised. Writes are flushed, not committed.
    """
    started = time.perf_counter()
    as_of = as_of or utcnow()
    if not 1990 <= as_of.year <= 2100:
        raise InvalidInputError("as_of must be between 1990 and 2100.", code="voice.bad_as_of")
    result = VoiceRunResult(as_of=as_of)
    seed_default_terms(session, actor=actor)
    settings = get_voice_settings(session)
    weights = RiskWeights.from_dict(settings.weights)
    threshold = settings.risk_threshold

    new_posts = list(list_posts_to_score(session))
    window = list(
        list_recent_posts(session, as_of - timedelta(hours=settings.cluster_window_hours), as_of)
    )
    result.n_linked = _link_authors(session, [*new_posts, *window])

    sentiments: dict[int, float | None] = {}
    if new_posts:
        if model is None:
            from kehu.text.sentiment import load_default_sentiment_model

            model = load_default_sentiment_model()
        scores = score_sentiments(model, [p.text for p in new_posts])
        sentiments = {p.id: s for p, s in zip(new_posts, scores, strict=True)}
        result.n_scored = save_sentiments(session, sentiments, at=as_of)
        result.n_without_text = sum(s is None for s in scores)
        matcher = _matcher(session)
        found = {}
        for post in new_posts:
            pairs = matcher.find(normalize(post.text))
            if pairs:
                key = post.product_sku or post.topic or ""
                found[post.id] = (pairs, key, post.posted_at)
        result.n_mentions = save_mentions(session, found)

    window_sentiments = {p.id: sentiments.get(p.id, p.sentiment) for p in window}
    scored = _score_risks(window, window_sentiments, weights, as_of)
    result.n_risk_scored = save_risks(session, scored, at=as_of)
    risks = {item.post_id: item.risk for item in scored}
    risky = [
        (post, risk)
        for post in window
        if (risk := risks.get(post.id)) is not None and risk.score >= threshold
    ]
    result.alert_ids = [a.id for a in raise_alerts(session, risky, actor=actor) if a is not None]
    result.n_alerts = len(result.alert_ids)
    session.flush()
    session.expire_all()
    result.seconds = round(time.perf_counter() - started, 3)
    log.info(
        "voice scoring: %d scored, %d risk, %d alerts in %.1fs",
        result.n_scored,
        result.n_risk_scored,
        result.n_alerts,
        result.seconds,
    )
    return result


def voice_turn(session_factory: Any) -> str:
    """One scheduled turn of voice scoring inside ``kehu serve``; commits; returns ``succeeded``.

    :class:`kehu.jobs.schedule.PeriodicJob` runs it every ``KEHU_VOICE_SCORE_EVERY_MINUTES``
    (0 = off), so a post imported or posted through the API has its sentiment and spread risk
    within one period, and a risky one its alert. ``kehu voice score`` (cron) does the same work
    on demand.
    """
    with session_factory() as session:
        run_voice_scoring(session, actor=Actor.system("scheduled voice scoring"))
        session.commit()
    return "succeeded"


__all__ = [
    "BATCH_SIZE",
    "MODEL_CHARS",
    "SentimentModel",
    "VoiceRunResult",
    "run_voice_scoring",
    "score_sentiments",
    "voice_turn",
]
