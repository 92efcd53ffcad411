"""RFM scores and the named segments marketers use (English and Chinese names)."""

from kehu.analytics.segments._rfm import (
    SEGMENT_GRID,
    SEGMENTS,
    RFMScores,
    Segment,
    quintile_scores,
    rfm_scores,
    segment_of,
)

__all__ = [
    "SEGMENTS",
    "SEGMENT_GRID",
    "RFMScores",
    "Segment",
    "quintile_scores",
    "rfm_scores",
    "segment_of",
]
