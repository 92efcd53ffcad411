"""Relationship health: experience stages with evidence, churn risk, cohorts, retention value.

The analysis runs in :mod:`kehu.jobs.health`; this feature stores its results and answers
questions about them.
"""

from kehu.health.errors import HealthErrorCode
from kehu.health.models import CustomerHealth, HealthRun, HealthRunStatus, HealthStage
from kehu.health.operations import (
    HEALTH_COLUMNS,
    finish_health_run,
    replace_customer_health,
    start_health_run,
)
from kehu.health.queries import (
    SORTS,
    cohort_curves,
    find_customer_health,
    find_running_health_run,
    get_customer_health,
    latest_health_run,
    list_customer_health,
    previous_health,
    retention_value,
    stage_summary,
)
from kehu.health.schemas import (
    CohortCurve,
    CohortsPublic,
    CustomerHealthPublic,
    HealthListItem,
    HealthListPublic,
    HealthRunPublic,
    HealthSummary,
    RetentionValuePublic,
    SignalEvidence,
    StageCount,
)

__all__ = [
    "HEALTH_COLUMNS",
    "SORTS",
    "CohortCurve",
    "CohortsPublic",
    "CustomerHealth",
    "CustomerHealthPublic",
    "HealthErrorCode",
    "HealthListItem",
    "HealthListPublic",
    "HealthRun",
    "HealthRunPublic",
    "HealthRunStatus",
    "HealthStage",
    "HealthSummary",
    "RetentionValuePublic",
    "SignalEvidence",
    "StageCount",
    "cohort_curves",
    "find_customer_health",
    "find_running_health_run",
    "finish_health_run",
    "get_customer_health",
    "latest_health_run",
    "list_customer_health",
    "previous_health",
    "replace_customer_health",
    "retention_value",
    "stage_summary",
    "start_health_run",
]
