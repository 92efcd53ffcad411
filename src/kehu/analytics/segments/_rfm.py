"""RFM: recency, frequency and monetary scores from 1 to 5, and the 11 named segments.

Scores are quintiles of each customer's rank among all customers, so ties share a score and
no score depends on the order of the input. The segment comes from the recency score and the
mean of the frequency and monetary scores (rounded half up) through the usual 11-segment map
(a 5 x 5 grid, :data:`SEGMENT_GRID`).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kehu.analytics._base import InvalidDataError

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Segment:
    """A named RFM segment."""

    code: str
    name_en: str
    name_zh: str
    description: str


#: The segments, from the most to the least valuable relationship.
SEGMENTS: dict[str, Segment] = {
    s.code: s
    for s in (
        Segment("champions", "Champions", "冠军客户", "Bought recently, buy often and spend most."),
        Segment("loyal", "Loyal", "忠诚客户", "Buy often and spend well; respond to promotions."),
        Segment(
            "potential_loyalists",
            "Potential loyalists",
            "潜力客户",
            "Recent customers with average frequency and spend.",
        ),
        Segment("new", "New", "新客户", "Bought most recently, but only once or little."),
        Segment("promising", "Promising", "有潜力", "Recent shoppers who have not spent much."),
        Segment(
            "need_attention",
            "Need attention",
            "需要关注",
            "Average recency, frequency and spend; may be slipping.",
        ),
        Segment(
            "about_to_sleep",
            "About to sleep",
            "即将沉睡",
            "Below-average recency and frequency; will be lost without reactivation.",
        ),
        Segment(
            "at_risk",
            "At risk",
            "流失风险",
            "Spent and bought often, but long ago.",
        ),
        Segment(
            "cant_lose",
            "Can't lose them",
            "不能失去",
            "Used to be among the best; have not come back for a long time.",
        ),
        Segment(
            "hibernating",
            "Hibernating",
            "休眠客户",
            "Last purchase long ago, few orders, low spend.",
        ),
        Segment("lost", "Lost", "已流失", "The lowest recency, frequency and spend."),
    )
}

#: SEGMENT_GRID[r - 1][fm - 1] is the segment code for recency score r and FM score fm.
SEGMENT_GRID: tuple[tuple[str, ...], ...] = (
    # fm:  1                 2                 3                 4            5
    ("lost", "lost", "at_risk", "at_risk", "cant_lose"),  # r = 1
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),  # r = 2
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),  # r = 3
    ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),  # r = 4
    ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),  # r = 5
)


@dataclass(frozen=True)
class RFMScores:
    """Per-customer scores (1 to 5) and segment codes, in the order of the input."""

    r: IntArray
    f: IntArray
    m: IntArray
    fm: IntArray
    segment: npt.NDArray[np.str_]


def quintile_scores(values: Any, *, higher_is_better: bool = True) -> IntArray:
    """Score values 1 to 5 by quintile of their rank (ties share the lowest rank's score).

    ``score = 1 + floor(5 (rank - 1) / n)`` with ``rank`` the 1-based "min" rank, so the
    best fifth scores 5. When many customers tie (e.g. everyone who bought once), they all
    get the score of the first of them, and some scores may be unused.

    Parameters
    ----------
    values
        One number per customer.
    higher_is_better
        False for recency in days, where a smaller value deserves a higher score.

    Returns
    -------
    numpy.ndarray
        int64 scores from 1 to 5.

    Examples
    --------
    >>> quintile_scores([10, 20, 30, 40, 50]).tolist()
    [1, 2, 3, 4, 5]
    >>> quintile_scores([1, 1, 1, 2, 5]).tolist()
    [1, 1, 1, 4, 5]
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidDataError("RFM values must be one number per customer.", code="rfm.shape")
    if not np.all(np.isfinite(array)):
        raise InvalidDataError("RFM values must be finite numbers.", code="rfm.not_finite")
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keys = array if higher_is_better else -array
    # Rank "min" (ties share the lowest rank): 1 + how many values are strictly smaller. A
    # sort and a binary search, without importing scipy.stats (about a second).
    ranks = np.searchsorted(np.sort(keys), keys, side="left") + 1
    return np.asarray(1 + np.floor(5 * (ranks - 1) / n), dtype=np.int64)


def segment_of(r: int, fm: int) -> Segment:
    """Return the segment of a recency score and a frequency-monetary score (1 to 5 each)."""
    if not (1 <= r <= 5 and 1 <= fm <= 5):
        raise InvalidDataError(
            f"RFM scores must lie between 1 and 5, got r={r}, fm={fm}.", code="rfm.bad_score"
        )
    return SEGMENTS[SEGMENT_GRID[r - 1][fm - 1]]


def rfm_scores(recency_days: Any, frequency: Any, monetary: Any) -> RFMScores:
    """Score customers on recency, frequency and monetary value and name their segment.

    Parameters
    ----------
    recency_days
        Days since each customer's last purchase (smaller is better).
    frequency
        Number of purchase occasions.
    monetary
        Spend (total or mean; the caller decides and says so).

    Returns
    -------
    RFMScores
        ``r``, ``f``, ``m`` and ``fm = round_half_up((f + m) / 2)`` from 1 to 5, and the
        segment code of each customer.

    Examples
    --------
    >>> s = rfm_scores([1, 400, 30, 200, 5], [9, 1, 3, 2, 1], [900.0, 10.0, 300.0, 50.0, 20.0])
    >>> s.segment.tolist()
    ['champions', 'lost', 'loyal', 'at_risk', 'potential_loyalists']
    """
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    if not len(r) == len(f) == len(m):
        raise InvalidDataError(
            "recency_days, frequency and monetary must have one value per customer each.",
            code="rfm.shape",
        )
    fm = (f + m + 1) // 2
    grid = np.array(SEGMENT_GRID)
    segment = grid[r - 1, fm - 1] if len(r) else np.zeros(0, dtype=grid.dtype)
    return RFMScores(r=r, f=f, m=m, fm=fm, segment=segment)
