"""Keeping in touch, pure: who is overdue for a meaningful contact, which free service is due.

Neglect: a customer of a tier with a cadence of ``every_days`` is *neglected* when the last
thing we did for them (any interaction kind) is older than that. A customer we never touched
counts from their first order (an account with no contacts at all is still a relationship);
one with neither is skipped and counted, not alerted on.

Free service: a reminder rule says a service is due ``after_days`` after a product (or any
product of a category) is bought; a product's own rule wins over its category's. A service
is *due* from ``lead_days`` before the date until ``grace_days`` after it.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Cadence:
    """Days between meaningful contacts for one tier."""

    tier: str
    every_days: int
    due_in_days: int = 7


@dataclass(frozen=True)
class TouchState:
    """What the cadence needs to know about one customer."""

    customer_id: int
    tier: str | None
    last_touch_on: date | None
    first_order_on: date | None


@dataclass(frozen=True)
class NeglectAlert:
    """A customer overdue for contact, with the evidence."""

    customer_id: int
    tier: str
    every_days: int
    due_in_days: int
    days_since: int
    since: str
    last_touch_on: date | None

    @property
    def dedupe_key(self) -> str:
        """One alert per customer and last touch: a new touch starts a new cycle."""
        last = self.last_touch_on.isoformat() if self.last_touch_on else "never"
        return f"neglect:{self.customer_id}:{last}"

    def evidence(self) -> dict[str, object]:
        """Return the facts shown on the task."""
        return {
            "tier": self.tier,
            "cadence_days": self.every_days,
            "days_since_last_touch": self.days_since,
            "counted_from": self.since,
            "last_touch_on": self.last_touch_on.isoformat() if self.last_touch_on else None,
        }


@dataclass(frozen=True)
class NeglectResult:
    """The alerts, and how many customers were skipped and why."""

    alerts: list[NeglectAlert]
    n_checked: int
    n_without_policy: int
    n_without_history: int


def find_neglected(
    states: Iterable[TouchState], cadences: Sequence[Cadence], *, today: date
) -> NeglectResult:
    """Return the customers whose last touch is older than their tier's cadence."""
    by_tier = {c.tier: c for c in cadences}
    alerts: list[NeglectAlert] = []
    n_checked = n_without_policy = n_without_history = 0
    for state in states:
        n_checked += 1
        cadence = by_tier.get(state.tier or "")
        if cadence is None:
            n_without_policy += 1
            continue
        start = state.last_touch_on or state.first_order_on
        if start is None:
            n_without_history += 1
            continue
        days = (today - start).days
        if days > cadence.every_days:
            alerts.append(
                NeglectAlert(
                    customer_id=state.customer_id,
                    tier=cadence.tier,
                    every_days=cadence.every_days,
                    due_in_days=cadence.due_in_days,
                    days_since=days,
                    since="last touch" if state.last_touch_on else "first order (never touched)",
                    last_touch_on=state.last_touch_on,
                )
            )
    alerts.sort(key=lambda a: (-(a.days_since - a.every_days), a.customer_id))
    return NeglectResult(alerts, n_checked, n_without_policy, n_without_history)


@dataclass(frozen=True)
class ReminderRule:
    """A free service due ``after_days`` after buying a product or a product of a category."""

    reminder_id: int
    label: str
    after_days: int
    product_id: int | None = None
    category: str | None = None


@dataclass(frozen=True)
class Purchase:
    """One product bought by one customer on one day."""

    customer_id: int
    product_id: int
    category: str
    bought_on: date


@dataclass(frozen=True)
class ServiceDue:
    """A free service due for a customer, with the purchase it follows."""

    customer_id: int
    reminder_id: int
    label: str
    product_id: int
    bought_on: date
    due_on: date

    @property
    def dedupe_key(self) -> str:
        """One reminder per purchase day and rule, open or closed."""
        return f"service:{self.customer_id}:{self.reminder_id}:{self.bought_on.isoformat()}"

    def evidence(self) -> dict[str, object]:
        """Return the facts shown on the task."""
        return {
            "service": self.label,
            "product_id": self.product_id,
            "bought_on": self.bought_on.isoformat(),
            "due_on": self.due_on.isoformat(),
        }


def due_services(
    purchases: Iterable[Purchase],
    rules: Sequence[ReminderRule],
    *,
    today: date,
    lead_days: int = 7,
    grace_days: int = 30,
) -> list[ServiceDue]:
    """Return the free services due around ``today`` (one per customer, rule and purchase day)."""
    by_product: Mapping[int, ReminderRule] = {
        r.product_id: r for r in rules if r.product_id is not None
    }
    by_category: dict[str, list[ReminderRule]] = {}
    for rule in rules:
        if rule.category:
            by_category.setdefault(rule.category.strip().lower(), []).append(rule)
    found: dict[str, ServiceDue] = {}
    for purchase in purchases:
        product_rule = by_product.get(purchase.product_id)
        matching = (
            [product_rule]
            if product_rule is not None
            else by_category.get((purchase.category or "").strip().lower(), [])
        )
        for rule in matching:
            due_on = purchase.bought_on + timedelta(days=rule.after_days)
            if today - timedelta(days=grace_days) <= due_on <= today + timedelta(days=lead_days):
                due = ServiceDue(
                    customer_id=purchase.customer_id,
                    reminder_id=rule.reminder_id,
                    label=rule.label,
                    product_id=purchase.product_id,
                    bought_on=purchase.bought_on,
                    due_on=due_on,
                )
                found.setdefault(due.dedupe_key, due)
    return sorted(found.values(), key=lambda d: (d.due_on, d.customer_id, d.reminder_id))
