"""Customer value: analysis runs, per-customer scores (CLV, P(alive), tiers, RFM), VIP owners.

The analysis itself runs in :mod:`kehu.jobs.value`; this feature stores its results and
answers questions about them.
"""

from kehu.value.errors import ValueErrorCode
from kehu.value.models import CustomerValue, ValueRun, ValueRunStatus, ValueTier
from kehu.value.operations import (
    SCORE_COLUMNS,
    OwnerAssignment,
    OwnerChange,
    assign_vip_owners,
    finish_value_run,
    money,
    reassign_customers_of,
    reassign_customers_of_inactive_owners,
    replace_customer_values,
    start_value_run,
)
from kehu.value.queries import (
    SORTS,
    clv_histogram,
    find_running_value_run,
    get_customer_value,
    latest_value_run,
    list_owner_customers,
    list_value_runs,
    list_valued_customers,
    pareto_curve,
    pareto_share,
    tier_summary,
    value_tiers,
)
from kehu.value.schemas import (
    CustomerValuePublic,
    HistogramBin,
    OwnerCustomer,
    OwnerCustomersPublic,
    ParetoPoint,
    TierSize,
    ValuedCustomer,
    ValuedCustomersPublic,
    ValueRunPublic,
    ValueSummary,
)

__all__ = [
    "SCORE_COLUMNS",
    "SORTS",
    "CustomerValue",
    "CustomerValuePublic",
    "HistogramBin",
    "OwnerAssignment",
    "OwnerChange",
    "OwnerCustomer",
    "OwnerCustomersPublic",
    "ParetoPoint",
    "TierSize",
    "ValueErrorCode",
    "ValueRun",
    "ValueRunPublic",
    "ValueRunStatus",
    "ValueSummary",
    "ValueTier",
    "ValuedCustomer",
    "ValuedCustomersPublic",
    "assign_vip_owners",
    "clv_histogram",
    "find_running_value_run",
    "finish_value_run",
    "get_customer_value",
    "latest_value_run",
    "list_owner_customers",
    "list_value_runs",
    "list_valued_customers",
    "money",
    "pareto_curve",
    "pareto_share",
    "reassign_customers_of",
    "reassign_customers_of_inactive_owners",
    "replace_customer_values",
    "start_value_run",
    "tier_summary",
    "value_tiers",
]
