"""Engagement: every contact made with a customer (later: recommendations, tasks, surprises)."""

from kehu.engagement.models import Direction, Interaction
from kehu.engagement.operations import log_interaction
from kehu.engagement.queries import list_interactions

__all__ = ["Direction", "Interaction", "list_interactions", "log_interaction"]
