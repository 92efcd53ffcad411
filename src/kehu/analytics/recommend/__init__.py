"""Recommendations: buy-again, also-bought and bought-together, blended per customer.

Every recommendation carries its reasons ("because you bought X on <date>", "often bought
together with Y", "popular"); :func:`evaluate_recommenders` measures ranking quality on a
temporal split.
"""

from kehu.analytics.recommend._evaluation import (
    Holdout,
    PopularityBaseline,
    evaluate_recommenders,
    holdout_metrics,
    make_holdout,
    ndcg_ratios,
    ranking_metrics,
    split_at,
    user_metrics,
)
from kehu.analytics.recommend._model import (
    AlsoBoughtRecommender,
    BuyAgainRecommender,
    Reason,
    Recommendation,
    Recommender,
)

__all__ = [
    "AlsoBoughtRecommender",
    "BuyAgainRecommender",
    "Holdout",
    "PopularityBaseline",
    "Reason",
    "Recommendation",
    "Recommender",
    "evaluate_recommenders",
    "holdout_metrics",
    "make_holdout",
    "ndcg_ratios",
    "ranking_metrics",
    "split_at",
    "user_metrics",
]
