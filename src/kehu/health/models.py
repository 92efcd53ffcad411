"""Relationship health: one row per analysis run and the latest stage and risk of every customer."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin


class HealthStage(StrEnum):
    """Where a relationship stands (kehu.analytics.health.STAGES)."""

    NEW = "new"
    DEVELOPING = "developing"
    MATURE = "mature"
    PRICE_DRIVEN = "price_driven"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"


class HealthRunStatus(StrEnum):
    """Where a health run stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class HealthRun(TimestampMixin, Base):
    """One health analysis: its settings, the churn model's check, cohorts and retention value."""

    __tablename__ = "health_runs"

    id: Mapped[IdPK]
    status: Mapped[HealthRunStatus] = mapped_column(String(16), default=HealthRunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(320), default="")
    #: Last day of the data the stages describe (inclusive).
    as_of: Mapped[date | None]
    window_days: Mapped[int] = mapped_column(Integer, default=90)
    n_customers: Mapped[int] = mapped_column(Integer, default=0)
    n_tasks: Mapped[int] = mapped_column(Integer, default=0)
    #: {"thresholds", "stages", "churn": {auc...}, "cohorts": [...], "retention_value": {...}}
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")


class CustomerHealth(Base):
    """The latest stage, churn risk and evidence of one customer (replaced by every run)."""

    __tablename__ = "customer_health"
    __table_args__ = (
        Index("ix_customer_health_stage_risk", "stage", "churn_risk"),
        Index("ix_customer_health_risk", "churn_risk"),
    )

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("health_runs.id"), index=True)
    stage: Mapped[HealthStage] = mapped_column(String(16))
    previous_stage: Mapped[HealthStage | None] = mapped_column(String(16))
    #: Probability of no purchase in the next window (the churn model), 0..1.
    churn_risk: Mapped[float] = mapped_column(Float)
    previous_risk: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    #: {"reasons": [...], "signals": [{"signal", "then", "now", "threshold", "fired"}]}
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
