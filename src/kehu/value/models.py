"""Customer value: one row per analysis run and the latest scores of every customer."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.core.clock import utcnow
from kehu.store import Base, IdPK, TimestampMixin

Amount = Numeric(14, 2)


class ValueRunStatus(StrEnum):
    """Where an analysis run stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ValueTier(StrEnum):
    """Value tiers from predicted CLV (top share first)."""

    VIP = "vip"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ValueRun(TimestampMixin, Base):
    """One customer-value analysis: its settings, fitted models, checks and counts."""

    __tablename__ = "value_runs"

    id: Mapped[IdPK]
    status: Mapped[ValueRunStatus] = mapped_column(String(16), default=ValueRunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(320), default="")
    #: Last day of the data the scores describe (inclusive).
    observation_end: Mapped[date | None]
    #: Last day of the calibration period of the holdout check (None: no check).
    calibration_end: Mapped[date | None]
    horizon_weeks: Mapped[int] = mapped_column(Integer, default=52)
    discount_rate_annual: Mapped[float] = mapped_column(Float, default=0.10)
    vip_share: Mapped[float] = mapped_column(Float, default=0.20)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    #: Active, not merged customers considered (scored or not).
    n_customers: Mapped[int] = mapped_column(Integer, default=0)
    n_scored: Mapped[int] = mapped_column(Integer, default=0)
    n_orders: Mapped[int] = mapped_column(Integer, default=0)
    n_vip: Mapped[int] = mapped_column(Integer, default=0)
    n_owner_changes: Mapped[int] = mapped_column(Integer, default=0)
    total_clv: Mapped[Decimal | None] = mapped_column(Amount)
    #: {"bgnbd": {"params", "standard_errors", "log_likelihood", ...}, "gamma_gamma": {...}}
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: {"holdout": {...}, "tiers": {...}, "summary": {...}, "owners": {...}}
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What a person should know: the reason of a failure, or warnings of a success.
    message: Mapped[str] = mapped_column(Text, default="")
    #: What the dashboards show, stored by the run (``kehu.value.DashboardFigures`` as JSON):
    #: aggregates only, so that a page visit reads them instead of every score and order.
    #: Empty for failed runs and for runs stored before they were kept.
    dashboard_figures: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class CustomerValue(Base):
    """The latest value scores of one customer (replaced in bulk by every successful run)."""

    __tablename__ = "customer_values"
    __table_args__ = (
        Index("ix_customer_values_segment", "rfm_segment"),
        Index("ix_customer_values_rank", "value_rank"),
    )

    id: Mapped[IdPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("value_runs.id"), index=True)
    #: Repeat purchase days, and weeks from first to last purchase day / to the observation end.
    frequency: Mapped[int] = mapped_column(Integer)
    recency: Mapped[float] = mapped_column(Float)
    T: Mapped[float] = mapped_column("t", Float)
    monetary_value: Mapped[Decimal] = mapped_column(Amount)
    p_alive: Mapped[float] = mapped_column(Float)
    expected_purchases: Mapped[float] = mapped_column(Float)
    expected_spend: Mapped[Decimal] = mapped_column(Amount)
    clv: Mapped[Decimal] = mapped_column(Amount)
    #: 1 = the highest predicted CLV.
    value_rank: Mapped[int] = mapped_column(Integer)
    #: 100 for the most valuable customer, 100/n for the least.
    value_percentile: Mapped[float] = mapped_column(Float)
    tier: Mapped[ValueTier] = mapped_column(String(16))
    rfm_r: Mapped[int] = mapped_column(SmallInteger)
    rfm_f: Mapped[int] = mapped_column(SmallInteger)
    rfm_m: Mapped[int] = mapped_column(SmallInteger)
    rfm_segment: Mapped[str] = mapped_column(String(32))
    total_spend: Mapped[Decimal] = mapped_column(Amount)
    last_purchase_on: Mapped[date | None]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


# The value lists' order (highest CLV first, ties by customer), whole or within a tier: read
# from the index, not sorted from a million scores (issue 8 §3).
Index("ix_customer_values_clv", CustomerValue.clv.desc(), CustomerValue.customer_id)
Index(
    "ix_customer_values_tier_clv",
    CustomerValue.tier,
    CustomerValue.clv.desc(),
    CustomerValue.customer_id,
)
