"""What the customer-value feature hands to other packages and the delivery layers.

Money is a ``Decimal`` (two places) with the run's ``currency``; JSON carries it as a string.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kehu.core.paging import CountedPage
from kehu.value.models import ValueRunStatus, ValueTier


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ValueRunPublic(_Out):
    """One analysis run."""

    id: int
    status: ValueRunStatus
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    observation_end: date | None
    calibration_end: date | None
    horizon_weeks: int
    discount_rate_annual: float
    vip_share: float
    currency: str
    n_customers: int
    n_scored: int
    n_orders: int
    n_vip: int
    n_owner_changes: int
    total_clv: Decimal | None
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    message: str


class CustomerValuePublic(_Out):
    """The latest value scores of one customer."""

    customer_id: int
    run_id: int
    frequency: int = Field(description="Repeat purchase days up to the observation end.")
    recency: float = Field(description="Weeks from the first to the last purchase day.")
    T: float = Field(description="Weeks from the first purchase day to the observation end.")
    monetary_value: Decimal = Field(description="Mean spend of the repeat purchase days.")
    p_alive: float
    expected_purchases: float = Field(description="Expected purchases over the run's horizon.")
    expected_spend: Decimal = Field(description="Expected spend per future purchase.")
    clv: Decimal = Field(description="Discounted value over the run's horizon.")
    value_rank: int
    value_percentile: float
    tier: ValueTier
    rfm_r: int
    rfm_f: int
    rfm_m: int
    rfm_segment: str
    segment_name_en: str = ""
    segment_name_zh: str = ""
    total_spend: Decimal
    last_purchase_on: date | None
    computed_at: datetime
    currency: str = ""
    horizon_weeks: int = 0


class TierSize(BaseModel):
    """How many customers a tier holds and how much predicted value."""

    tier: ValueTier
    n_customers: int
    clv: Decimal
    customer_share: float
    value_share: float


class ParetoPoint(BaseModel):
    """The top ``customer_share`` of customers bring ``value_share`` of predicted value."""

    customer_share: float
    value_share: float


class HistogramBin(BaseModel):
    """Customers whose CLV lies in ``[lower, upper)`` (the last bin includes ``upper``)."""

    lower: Decimal
    upper: Decimal
    n_customers: int


class ValuedCustomer(BaseModel):
    """A customer with their value scores, for lists."""

    customer_id: int
    name: str
    external_id: str | None = None
    owner_id: int | None
    owner_name: str | None
    clv: Decimal
    p_alive: float
    expected_purchases: float
    tier: ValueTier
    rfm_segment: str
    value_rank: int


class ValuedCustomersPublic(CountedPage):
    """A page of valued customers and how many match in all."""

    data: list[ValuedCustomer]


class OwnerCustomer(BaseModel):
    """One of an owner's customers (scores are empty when the customer is not scored)."""

    customer_id: int
    name: str
    external_id: str | None = None
    clv: Decimal | None
    p_alive: float | None
    tier: ValueTier | None
    rfm_segment: str | None
    last_outbound_at: datetime | None
    days_since_contact: int | None = Field(
        description="Days since our last outbound interaction; empty when there was none."
    )


class OwnerCustomersPublic(BaseModel):
    """A page of an owner's customers and how many they own in all."""

    data: list[OwnerCustomer]
    count: int


class ValueSummary(BaseModel):
    """What the value dashboard shows: the latest run and its figures."""

    run: ValueRunPublic | None
    last_attempt: ValueRunPublic | None = Field(
        description="The newest run of any status (differs from run when the newest failed)."
    )
    tiers: list[TierSize]
    pareto: list[ParetoPoint]
    histogram: list[HistogramBin]
    calibration: list[dict[str, Any]] = Field(
        description="Mean predicted vs actual holdout purchases per calibration frequency."
    )
    figures_computed_at: datetime | None = Field(
        default=None,
        description="When tiers, pareto and histogram were computed (by the run, which stores "
        "them); empty before any successful run.",
    )


class OrderFigures(BaseModel):
    """How many sales and returns the store held, and their net value per currency."""

    n_orders: int
    n_returns: int
    revenue: dict[str, Decimal]


class DashboardFigures(BaseModel):
    """What the value and home dashboards show, as stored by a value run (aggregates only).

    Computed once the run has written its scores (``kehu.value.compute_dashboard_figures``), so
    that a page visit reads a few kilobytes instead of a million scores and every order.
    """

    computed_at: datetime = Field(description="When the figures were computed.")
    stored: bool = Field(
        default=True,
        description="False when computed live for a run that did not store them (an older run).",
    )
    tiers: list[TierSize]
    pareto: list[ParetoPoint]
    pareto_at: float = Field(description="The share of customers whose value share is given.")
    pareto_share_at: float = Field(description="The value share of the top pareto_at customers.")
    histogram: list[HistogramBin]
    orders: OrderFigures = Field(description="All orders in the store (not only those scored).")
