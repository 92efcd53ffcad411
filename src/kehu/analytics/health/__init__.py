"""Relationship health: signals, stages with evidence, churn risk, cohorts, retention value.

- :func:`compute_signals` sets a customer's recent window against the one before (discounted
  share of spend, unit prices paid, service contacts, product breadth, procurement's share of
  the account's contacts, order cadence), in DuckDB over Arrow.
- :func:`assign_stages` turns them into a stage (new, developing, mature, price-driven, at
  risk, lapsed) with its evidence, by configurable rules (:class:`StageThresholds`).
- :class:`ChurnRiskModel` is a logistic model over P(alive) and the signals, fitted on the
  business's own history; :func:`evaluate_health` checks stages and risk on a temporal split.
- :func:`cohort_retention` and :func:`retention_value`: the loyalty economics.
"""

from kehu.analytics.health._churn import (
    FEATURES,
    SIGNAL_FEATURES,
    ChurnRiskModel,
    health_features,
    next_period,
    roc_auc,
)
from kehu.analytics.health._cohorts import (
    SEED_CLAIM,
    RetentionValue,
    cohort_counts_expr,
    cohort_curves,
    cohort_retention,
    period_retention,
    retention_from_counts,
    retention_value,
)
from kehu.analytics.health._evaluation import (
    evaluate_health,
    p_alive_for,
    p_alive_or_ones,
    stage_outcomes,
    value_models,
)
from kehu.analytics.health._signals import (
    LINE_COLUMNS,
    PROCUREMENT_ROLES,
    SIGNAL_COLUMNS,
    assemble_signals,
    compute_signals,
    event_counts_expr,
    history_expr,
    normalise_lines,
    window_expr,
)
from kehu.analytics.health._stages import (
    PRICE_SIGNALS,
    RETREAT_SIGNALS,
    SIGNALS,
    STAGES,
    Evidence,
    StageResult,
    StageThresholds,
    assign_stages,
    stage_table,
)

__all__ = [
    "FEATURES",
    "LINE_COLUMNS",
    "PRICE_SIGNALS",
    "PROCUREMENT_ROLES",
    "RETREAT_SIGNALS",
    "SEED_CLAIM",
    "SIGNALS",
    "SIGNAL_COLUMNS",
    "SIGNAL_FEATURES",
    "STAGES",
    "ChurnRiskModel",
    "Evidence",
    "RetentionValue",
    "StageResult",
    "StageThresholds",
    "assemble_signals",
    "assign_stages",
    "cohort_counts_expr",
    "cohort_curves",
    "cohort_retention",
    "compute_signals",
    "evaluate_health",
    "event_counts_expr",
    "health_features",
    "history_expr",
    "next_period",
    "normalise_lines",
    "p_alive_for",
    "p_alive_or_ones",
    "period_retention",
    "retention_from_counts",
    "retention_value",
    "roc_auc",
    "stage_outcomes",
    "stage_table",
    "value_models",
    "window_expr",
]
