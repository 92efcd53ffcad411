"""Engagement: every contact made with a customer, and feedback on recommendations."""

from kehu.engagement.impressions import ImpressionWriter
from kehu.engagement.models import (
    Direction,
    Interaction,
    RecommendationEvent,
    RecommendationEventKind,
)
from kehu.engagement.operations import (
    CLOCK_SKEW,
    MAX_EVENTS_PER_BATCH,
    log_interaction,
    record_impressions,
    record_recommendation_events,
)
from kehu.engagement.queries import (
    FeedbackEvent,
    ServingFeedback,
    count_feedback_events,
    list_feedback_events,
    list_interactions,
    list_serving_feedback,
)
from kehu.engagement.schemas import (
    EventOutcome,
    RecommendationEventIn,
    RecommendationEventResult,
    RecommendationEventsResult,
)

__all__ = [
    "CLOCK_SKEW",
    "MAX_EVENTS_PER_BATCH",
    "Direction",
    "EventOutcome",
    "FeedbackEvent",
    "ImpressionWriter",
    "Interaction",
    "RecommendationEvent",
    "RecommendationEventIn",
    "RecommendationEventKind",
    "RecommendationEventResult",
    "RecommendationEventsResult",
    "ServingFeedback",
    "count_feedback_events",
    "list_feedback_events",
    "list_interactions",
    "list_serving_feedback",
    "log_interaction",
    "record_impressions",
    "record_recommendation_events",
]
