"""What the relationship-health feature hands to other packages and the delivery layers."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kehu.core.paging import CountedPage
from kehu.health.models import HealthRunStatus, HealthStage


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class HealthRunPublic(_Out):
    """One health run."""

    id: int
    status: HealthRunStatus
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    as_of: date | None
    window_days: int
    n_customers: int
    n_tasks: int
    metrics: dict[str, Any]
    message: str


class SignalEvidence(BaseModel):
    """One signal behind a stage: its value in the earlier and the recent window."""

    signal: str
    then: float | None
    now: float | None
    threshold: str
    fired: bool


class CustomerHealthPublic(_Out):
    """The latest stage, churn risk and evidence of one customer."""

    customer_id: int
    run_id: int
    stage: HealthStage
    previous_stage: HealthStage | None
    churn_risk: float = Field(description="Probability of no purchase in the next window.")
    previous_risk: float | None
    p_alive: float | None
    reasons: list[str] = Field(default_factory=list)
    signals: list[SignalEvidence] = Field(default_factory=list)
    computed_at: datetime
    as_of: date | None = None
    window_days: int | None = None


class HealthListItem(BaseModel):
    """A customer in a list by stage or risk."""

    customer_id: int
    name: str
    external_id: str | None
    stage: HealthStage
    previous_stage: HealthStage | None
    churn_risk: float
    previous_risk: float | None
    tier: str | None
    owner_id: int | None
    reasons: list[str]


class HealthListPublic(CountedPage):
    """A page of customers with their health."""

    data: list[HealthListItem]


class StageCount(BaseModel):
    """How many customers are in a stage, and their mean churn risk."""

    stage: HealthStage
    n_customers: int
    share: float
    mean_risk: float | None


class CohortCurve(BaseModel):
    """Monthly retention of customers whose first order fell in ``cohort``'s month."""

    cohort: date
    n_customers: int
    retention: list[float | None] = Field(
        description="Share active in month 0, 1, ... after the first (None: month incomplete)."
    )


class CohortsPublic(BaseModel):
    """The cohort retention curves of the latest run."""

    run_id: int | None
    as_of: date | None
    data: list[CohortCurve]


class RetentionValuePublic(BaseModel):
    """What +5 % retention is worth, from the business's own CLV, beside the seed's claim."""

    run_id: int | None
    available: bool
    message: str = ""
    currency: str = ""
    retention: float | None = None
    improved_retention: float | None = None
    uplift: float | None = None
    periods: int | None = None
    period_days: int | None = None
    base_value: float | None = None
    value_change: float | None = None
    added_value: float | None = None
    lifetime_value_change: float | None = None
    seed_claim_low: float = 0.35
    seed_claim_high: float = 0.85


class HealthSummary(BaseModel):
    """The latest run, the stage distribution and the churn model's check."""

    run: HealthRunPublic | None
    last_attempt: HealthRunPublic | None
    stages: list[StageCount]
    churn: dict[str, Any]
