"""Demo recommendations: train the recommender on the demo orders, and a month of feedback.

A few of the biggest buyers were "shown" recommendations in the web channel once a week for
the last four weeks (through the real serving path, so restraint decided what they saw), and
reacted: some clicked or bought, one dismissed an item, others ignored everything, so the
customer 360 shows reasons, discounted and held-back items and an impression history.
"""

import random
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.commerce import Order, OrderKind
from kehu.core import Actor, Settings, get_settings, utcnow
from kehu.engagement import (
    RecommendationEventIn,
    RecommendationEventKind,
    count_feedback_events,
    record_recommendation_events,
)
from kehu.jobs.recommend import load_recommender, serve_recommendations, train_recommender

ACTOR = Actor(kind="system", label="demo")
N_CUSTOMERS = 12
WEEKS = 4


def _top_buyers(session: Session) -> list[int]:
    n_orders = func.count(Order.id)
    return [
        int(customer_id or 0)
        for customer_id, _ in session.execute(
            select(Order.customer_id, n_orders)
            .where(Order.kind == OrderKind.SALE, Order.customer_id.is_not(None))
            .group_by(Order.customer_id)
            .order_by(n_orders.desc(), Order.customer_id)
            .limit(N_CUSTOMERS)
        )
    ]


def seed_recommendations(session: Session, *, settings: Settings | None = None) -> None:
    """Train the recommender (if none is saved) and seed feedback once (idempotent)."""
    settings = settings or get_settings()
    if load_recommender(settings)[0] is None:
        train_recommender(session, settings=settings)
    buyers = _top_buyers(session)
    if not buyers or any(count_feedback_events(session, c) for c in buyers):
        return
    rng = random.Random(20261125)
    today = utcnow().replace(hour=10, minute=0, second=0, microsecond=0)
    events: list[RecommendationEventIn] = []
    for n, customer_id in enumerate(buyers):
        style = ("clicks", "ignores", "buys", "dismisses")[n % 4]
        for week in range(WEEKS, 0, -1):
            at = today - timedelta(days=7 * week, hours=rng.randint(0, 8))
            served = serve_recommendations(
                session,
                customer_id,
                settings=settings,
                channel="web",
                k=6,
                serve_id=f"demo-{customer_id}-{week}",
                now=at,
            )
            session.flush()
            if not served.items or style == "ignores":
                continue
            item = served.items[rng.randrange(min(3, len(served.items)))]
            kind = {"clicks": "click", "buys": "purchase", "dismisses": "dismiss"}[style]
            if style == "dismisses" and week != WEEKS:
                continue
            events.append(
                RecommendationEventIn(
                    event_id=f"demo-{customer_id}-{week}-{kind}",
                    kind=RecommendationEventKind(kind),
                    customer_id=customer_id,
                    item_id=item.item_id,
                    channel="web",
                    occurred_at=at + timedelta(minutes=rng.randint(1, 90)),
                    serve_id=served.serve_id,
                )
            )
    record_recommendation_events(session, events, actor=ACTOR, now=today)
