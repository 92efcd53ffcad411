"""Spread risk: how likely a post is to become a crisis, from four explained parts.

Pure functions (no database). The score is

    risk = negativity * (w_sentiment + w_reach*reach + w_velocity*velocity + w_cluster*cluster)
           / (w_sentiment + w_reach + w_velocity + w_cluster)

with every part in [0, 1]:

- ``negativity`` = max(0, 1 - 2*P(positive)): 0 for a neutral or positive post (good news is
  not what spreads), 1 for a surely negative one. It gates the others: a famous author's happy
  post carries no risk.
- ``reach`` = log10(1 + followers) / log10(1 + reach_scale), capped at 1.
- ``velocity`` = log10(1 + v) / log10(1 + velocity_scale), capped at 1, where v is reposts plus
  comments per hour since posting (the age floored at ``min_age_hours`` so a post a minute old
  with two reposts is not "120 an hour").
- ``cluster`` = log(cluster size) / log(cluster_scale), capped at 1: how many negative posts of
  other authors say the same thing in the window (the "same fridge problem").

A part whose input is missing (no follower count, no counts) is *unknown*: it adds nothing,
the breakdown says so, and ``upper_bound`` tells what the score would be were it at its worst.
Logs because reach and velocity are heavy-tailed: 1,000 followers against 1,000,000 is one
order of magnitude of concern per factor of ten, not a thousand.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kehu.core import InvalidInputError

PARTS = ("sentiment", "reach", "velocity", "cluster")


@dataclass(frozen=True)
class RiskWeights:
    """The weights and scales of :func:`spread_risk` (stored as data, editable)."""

    sentiment: float = 0.25
    reach: float = 0.25
    velocity: float = 0.25
    cluster: float = 0.25
    reach_scale: float = 1_000_000.0
    velocity_scale: float = 100.0
    cluster_scale: float = 20.0
    min_age_hours: float = 1.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if not math.isfinite(getattr(self, name)):
                raise InvalidInputError(
                    f"The {name} setting must be a finite number.", code="voice.bad_weights"
                )
        for name in PARTS:
            if not 0 <= getattr(self, name) <= 100:
                raise InvalidInputError(
                    f"The {name} weight must be between 0 and 100.", code="voice.bad_weights"
                )
        if sum(getattr(self, name) for name in PARTS) <= 0:
            raise InvalidInputError(
                "At least one spread-risk weight must be above 0.", code="voice.bad_weights"
            )
        for name in ("reach_scale", "velocity_scale", "cluster_scale"):
            if not getattr(self, name) > 1:
                raise InvalidInputError(f"{name} must be above 1.", code="voice.bad_weights")
        if not 0 < self.min_age_hours <= 24 * 30:
            raise InvalidInputError(
                "min_age_hours must be above 0 and at most 720.", code="voice.bad_weights"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "RiskWeights":
        """Return weights from stored data; missing keys take the defaults."""
        known = {k: float(v) for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict[str, float]:
        """Return the weights as stored."""
        return {name: float(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RiskInput:
    """What the score needs about one post (None: unknown)."""

    p_positive: float | None
    followers: int | None
    reposts: int | None
    comments: int | None
    age_hours: float
    cluster_size: int | None


@dataclass
class Risk:
    """A spread-risk score and what it is made of."""

    score: float
    upper_bound: float
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the breakdown stored with the score."""
        return {
            "score": self.score,
            "upper_bound": self.upper_bound,
            "parts": self.parts,
            "unknown": self.unknown,
        }


def _log_share(value: float, scale: float) -> float:
    return min(1.0, math.log10(1.0 + max(value, 0.0)) / math.log10(1.0 + scale))


def negativity(p_positive: float) -> float:
    """Return how negative a post is, from P(positive): 1 - 2p below one half, else 0."""
    return max(0.0, min(1.0, 1.0 - 2.0 * p_positive))


def reach_share(followers: int, weights: RiskWeights) -> float:
    """Return the reach part (0..1) of an author with ``followers``."""
    return _log_share(float(followers), weights.reach_scale)


def velocity_per_hour(
    reposts: int | None, comments: int | None, age_hours: float, *, floor: float
) -> float | None:
    """Return reposts plus comments per hour since posting (None when both are unknown)."""
    if reposts is None and comments is None:
        return None
    return ((reposts or 0) + (comments or 0)) / max(age_hours, floor)


def cluster_share(size: int, weights: RiskWeights) -> float:
    """Return the cluster part (0..1) of a complaint said by ``size`` authors."""
    if size <= 1:
        return 0.0
    return min(1.0, math.log(size) / math.log(weights.cluster_scale))


def spread_risk(item: RiskInput, weights: RiskWeights | None = None) -> Risk:
    """Return the spread risk of one post with a breakdown of every part.

    Examples
    --------
    >>> r = spread_risk(RiskInput(0.0, 999_999, None, None, 2.0, 1))
    >>> r.score, r.unknown
    (0.5, ['velocity'])
    """
    weights = weights or RiskWeights()
    total = sum(getattr(weights, name) for name in PARTS)
    parts: dict[str, dict[str, Any]] = {}
    unknown: list[str] = []
    if item.p_positive is None:
        parts["sentiment"] = {"known": False, "weight": weights.sentiment, "contribution": 0.0}
        return Risk(0.0, 0.0, parts, ["sentiment"])
    gate = negativity(item.p_positive)
    values: dict[str, float | None] = {"sentiment": 1.0}
    parts["sentiment"] = {
        "known": True,
        "p_positive": round(item.p_positive, 4),
        "negativity": round(gate, 4),
    }
    if item.followers is None:
        values["reach"] = None
        parts["reach"] = {"known": False}
    else:
        values["reach"] = reach_share(item.followers, weights)
        parts["reach"] = {"known": True, "followers": item.followers}
    rate = velocity_per_hour(
        item.reposts, item.comments, item.age_hours, floor=weights.min_age_hours
    )
    if rate is None:
        values["velocity"] = None
        parts["velocity"] = {"known": False}
    else:
        values["velocity"] = _log_share(rate, weights.velocity_scale)
        parts["velocity"] = {
            "known": True,
            "per_hour": round(rate, 3),
            "reposts": item.reposts,
            "comments": item.comments,
            "age_hours": round(item.age_hours, 2),
            "partial": item.reposts is None or item.comments is None,
        }
    if item.cluster_size is None:
        values["cluster"] = None
        parts["cluster"] = {"known": False}
    else:
        values["cluster"] = cluster_share(item.cluster_size, weights)
        parts["cluster"] = {"known": True, "size": item.cluster_size}
    score = upper = 0.0
    for name in PARTS:
        weight = getattr(weights, name)
        value = values[name]
        share = weight / total
        parts[name]["weight"] = round(share, 4)
        if value is None:
            unknown.append(name)
            parts[name]["contribution"] = 0.0
            upper += gate * share
            continue
        contribution = gate * share * value
        parts[name]["value"] = round(value, 4)
        parts[name]["contribution"] = round(contribution, 4)
        score += contribution
        upper += contribution
    return Risk(round(score, 4), round(upper, 4), parts, unknown)


def age_in_hours(posted_at: datetime, as_of: datetime) -> float:
    """Return the hours from ``posted_at`` to ``as_of`` (0 for a post from the future)."""
    return max(0.0, (as_of - posted_at).total_seconds() / 3600.0)


__all__ = [
    "PARTS",
    "Risk",
    "RiskInput",
    "RiskWeights",
    "age_in_hours",
    "cluster_share",
    "negativity",
    "reach_share",
    "spread_risk",
    "velocity_per_hour",
]
