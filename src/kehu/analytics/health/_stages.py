"""Experience stages from health signals: new, developing, mature, price-driven, at risk, lapsed.

The stage is a rule over the signals, not a fitted model: every threshold is a field of
:class:`StageThresholds` (configurable, validated), and every customer's stage carries its
evidence -- each signal's value then and now, its threshold and whether it fired -- so a person
can check why an account was called price-driven.

Precedence (the first that applies wins): **lapsed** (no purchase for ``lapsed_days``),
**new** (first purchase within ``new_days``), **at risk** (at least ``at_risk_min_signals``
retreat signals: cadence slowing, orders falling, spend falling), **price-driven** (a price
signal -- discounted share rising, unit prices falling, procurement taking over -- together
with at least ``price_driven_min_signals`` signals of the price family, which also counts
service interactions falling and product breadth narrowing, the seed story's "less interest
in applications"), **mature** (``mature_days`` of tenure and ``mature_purchase_days`` purchase
days), otherwise **developing**.
"""

import math
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from kehu.analytics._base import require_columns, to_arrow
from kehu.analytics.health._signals import SIGNAL_COLUMNS

#: The stages, from the start of a relationship to its end.
STAGES = ("new", "developing", "mature", "price_driven", "at_risk", "lapsed")
#: Signals that say the customer is pulling back.
RETREAT_SIGNALS = ("cadence_slowing", "orders_falling", "spend_falling")
#: Signals of a buyer who now decides on price (the first three are the price signals proper).
PRICE_SIGNALS = (
    "discount_share_rising",
    "unit_prices_falling",
    "procurement_rising",
    "service_falling",
    "breadth_narrowing",
)
SIGNALS = RETREAT_SIGNALS + PRICE_SIGNALS


class StageThresholds(BaseModel):
    """Thresholds of the stage rules; every one can be set (settings, API, CLI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_days: int = Field(default=90, ge=1, le=3650, description="First purchase this recent: new.")
    lapsed_days: int = Field(
        default=120, ge=1, le=3650, description="No purchase for this long: lapsed."
    )
    mature_days: int = Field(default=180, ge=1, le=3650, description="Tenure of a mature account.")
    mature_purchase_days: int = Field(
        default=5, ge=1, le=10_000, description="Purchase days of a mature account."
    )
    gap_factor: float = Field(
        default=2.0,
        gt=1,
        le=20,
        description="Days since the last purchase above this many mean gaps: cadence slowing.",
    )
    min_purchase_days_for_cadence: int = Field(default=3, ge=2, le=1000)
    fall_ratio: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Orders, spend or service contacts now at most this share of then: falling.",
    )
    min_orders_then: int = Field(default=2, ge=1, le=1000)
    min_interactions_then: int = Field(default=2, ge=1, le=1000)
    discount_share_rise: float = Field(
        default=0.10, gt=0, le=1, description="Rise of the discounted share of spend (points)."
    )
    price_fall: float = Field(
        default=0.05, gt=0, lt=1, description="Fall of the price index (0.05 = 5 % cheaper)."
    )
    procurement_rise: float = Field(
        default=0.25, gt=0, le=1, description="Rise of the procurement share of contacts."
    )
    breadth_ratio: float = Field(
        default=0.6, gt=0, lt=1, description="Distinct items now at most this share of then."
    )
    min_items_then: int = Field(default=5, ge=1, le=100_000)
    at_risk_min_signals: int = Field(default=2, ge=1, le=len(RETREAT_SIGNALS))
    price_driven_min_signals: int = Field(default=2, ge=1, le=len(PRICE_SIGNALS))


@dataclass(frozen=True)
class Evidence:
    """One signal of one customer: its values then and now, the threshold, whether it fired."""

    signal: str
    then: float | None
    now: float | None
    threshold: str
    fired: bool

    def as_dict(self) -> dict[str, Any]:
        """Return the evidence as JSON-ready data (no NaN)."""
        return {
            "signal": self.signal,
            "then": _finite(self.then),
            "now": _finite(self.now),
            "threshold": self.threshold,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class StageResult:
    """A customer's stage and the evidence behind it."""

    customer_id: str
    stage: str
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    def evidence_dict(self) -> dict[str, Any]:
        """Return ``{"reasons": [...], "signals": [...]}`` for storage and display."""
        return {"reasons": list(self.reasons), "signals": [e.as_dict() for e in self.evidence]}


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 4)


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _evidence(row: dict[str, Any], th: StageThresholds) -> dict[str, Evidence]:
    fall = th.fall_ratio
    gap = _num(row["mean_gap_days"])
    recency = _num(row["recency_days"])
    cadence_ok = row["n_purchase_days"] >= th.min_purchase_days_for_cadence and math.isfinite(gap)
    orders_then, orders_now = _num(row["orders_then"]), _num(row["orders_now"])
    spend_then, spend_now = _num(row["spend_then"]), _num(row["spend_now"])
    share_then, share_now = _num(row["discount_share_then"]), _num(row["discount_share_now"])
    index_then, index_now = _num(row["price_index_then"]), _num(row["price_index_now"])
    inter_then, inter_now = _num(row["interactions_then"]), _num(row["interactions_now"])
    proc_then, proc_now = _num(row["procurement_share_then"]), _num(row["procurement_share_now"])
    items_then, items_now = _num(row["items_then"]), _num(row["items_now"])
    both_priced = math.isfinite(index_then) and math.isfinite(index_now)
    both_shared = math.isfinite(share_then) and math.isfinite(share_now)
    has_contacts = math.isfinite(proc_then) and math.isfinite(proc_now)
    items = [
        Evidence(
            "cadence_slowing",
            gap if cadence_ok else None,
            recency,
            f"days since last purchase > {th.gap_factor:g} x mean gap",
            bool(cadence_ok and recency > th.gap_factor * gap),
        ),
        Evidence(
            "orders_falling",
            orders_then,
            orders_now,
            f"orders now <= {fall:g} x then (then >= {th.min_orders_then})",
            orders_then >= th.min_orders_then and orders_now <= fall * orders_then,
        ),
        Evidence(
            "spend_falling",
            spend_then,
            spend_now,
            f"spend now <= {fall:g} x then (then > 0, orders then >= {th.min_orders_then})",
            spend_then > 0 and orders_then >= th.min_orders_then and spend_now <= fall * spend_then,
        ),
        Evidence(
            "discount_share_rising",
            share_then if both_shared else None,
            share_now if both_shared else None,
            f"discounted share of spend up >= {th.discount_share_rise:g}",
            both_shared and share_now - share_then >= th.discount_share_rise,
        ),
        Evidence(
            "unit_prices_falling",
            index_then if both_priced else None,
            index_now if both_priced else None,
            f"price index down >= {th.price_fall:.0%}",
            both_priced and index_now <= index_then * (1.0 - th.price_fall),
        ),
        Evidence(
            "procurement_rising",
            proc_then,
            proc_now,
            f"procurement share of contacts up >= {th.procurement_rise:g}"
            if has_contacts
            else "no contacts on record in both windows: buying role not judged",
            has_contacts and proc_now - proc_then >= th.procurement_rise,
        ),
        Evidence(
            "service_falling",
            inter_then,
            inter_now,
            f"service contacts now <= {fall:g} x then (then >= {th.min_interactions_then})",
            inter_then >= th.min_interactions_then and inter_now <= fall * inter_then,
        ),
        Evidence(
            "breadth_narrowing",
            items_then,
            items_now,
            f"distinct items now <= {th.breadth_ratio:g} x then (then >= {th.min_items_then})",
            items_then >= th.min_items_then
            and items_now > 0
            and items_now <= th.breadth_ratio * items_then,
        ),
    ]
    return {e.signal: e for e in items}


def _stage(row: dict[str, Any], fired: set[str], th: StageThresholds) -> tuple[str, list[str]]:
    if row["recency_days"] > th.lapsed_days:
        return "lapsed", [f"no purchase for {int(row['recency_days'])} days"]
    if row["tenure_days"] < th.new_days:
        return "new", [f"first purchase {int(row['tenure_days'])} days ago"]
    retreat = [s for s in RETREAT_SIGNALS if s in fired]
    if len(retreat) >= th.at_risk_min_signals:
        return "at_risk", retreat
    price = [s for s in PRICE_SIGNALS if s in fired]
    if len(price) >= th.price_driven_min_signals and set(price) & set(PRICE_SIGNALS[:3]):
        return "price_driven", price
    if row["tenure_days"] >= th.mature_days and row["n_purchase_days"] >= th.mature_purchase_days:
        return "mature", [
            f"{int(row['tenure_days'])} days a customer, {int(row['n_purchase_days'])} "
            "purchase days"
        ]
    return "developing", [
        f"{int(row['tenure_days'])} days a customer, {int(row['n_purchase_days'])} purchase days"
    ]


def assign_stages(signals: Any, thresholds: StageThresholds | None = None) -> list[StageResult]:
    """Give every customer of ``signals`` a stage with its evidence.

    Parameters
    ----------
    signals
        The table :func:`~kehu.analytics.health.compute_signals` returns.
    thresholds
        The rules' thresholds (defaults: :class:`StageThresholds`).

    Returns
    -------
    list of StageResult
        One per row, in the order of ``signals``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from kehu.analytics.health import compute_signals
    >>> lines = pa.table({"customer_id": ["a"], "order_id": ["1"], "timestamp": ["2024-03-20"],
    ...     "item_id": ["x"], "quantity": [1], "unit_price": [10.0]})
    >>> assign_stages(compute_signals(lines, as_of="2024-03-31"))[0].stage
    'new'
    """
    th = thresholds or StageThresholds()
    table = to_arrow(signals)
    require_columns(table, SIGNAL_COLUMNS, what="The health signals")
    results = []
    for row in table.to_pylist():
        evidence = _evidence(row, th)
        fired = {name for name, e in evidence.items() if e.fired}
        stage, reasons = _stage(row, fired, th)
        results.append(
            StageResult(
                customer_id=str(row["customer_id"]),
                stage=stage,
                reasons=tuple(reasons),
                evidence=tuple(evidence.values()),
            )
        )
    return results


def stage_table(results: list[StageResult]) -> pa.Table:
    """Return ``customer_id``, ``stage`` and one boolean column per signal (fired or not)."""
    columns: dict[str, Any] = {
        "customer_id": [r.customer_id for r in results],
        "stage": [r.stage for r in results],
    }
    for name in SIGNALS:
        columns[name] = [any(e.signal == name and e.fired for e in r.evidence) for r in results]
    return pa.table(columns)
