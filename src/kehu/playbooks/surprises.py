"""Surprise services, pure: whom to surprise, when, with what -- and whether it paid off.

Choosing (:func:`choose_surprises`). A customer of an allowed tier is a candidate at a
*moment*: their birthday or the anniversary of their first order within the next
``window_days``, a complaint fixed (a service ticket resolved) in the last ``window_days``,
or the season (a catalogue item made for this month). A customer surprised less than
``every_months`` ago is skipped. Each candidate gets the cheapest active item that suits the
moment (surprises should be easy and cheap); candidates are served by moment (a fixed
complaint first, the season last), then by value, until the month's budget is spent. Every
customer left out is counted with the reason.

Outcomes (:func:`surprise_outcomes`). For each surprise given at least ``period_days`` ago,
the customer's spend and whether they ordered at all in the ``period_days`` after it are
compared with the same figures, over the same days, of *comparable customers never
surprised* -- those in the same stratum (tier and RFM segment). The answer says how many
surprises and controls each figure rests on, and refuses a verdict on fewer than
``min_n`` surprises: an honest "too few to tell" beats a lucky lift.
"""

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

#: The order moments are served in when the budget is short.
MOMENT_ORDER = ("complaint_fixed", "birthday", "anniversary", "season")


@dataclass(frozen=True)
class CatalogueItem:
    """A surprise the catalogue offers."""

    surprise_id: int
    code: str
    cost: Decimal
    moments: tuple[str, ...]
    months: tuple[int, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """What choosing needs to know about one customer."""

    customer_id: int
    tier: str | None
    clv: float | None = None
    birthday: date | None = None
    first_order_on: date | None = None
    last_fix_on: date | None = None
    last_surprised_on: date | None = None


@dataclass(frozen=True)
class SurprisePlan:
    """A surprise chosen for a customer at a moment, with the reason."""

    customer_id: int
    surprise_id: int
    code: str
    moment: str
    cost: Decimal
    reason: dict[str, object]

    @property
    def dedupe_key(self) -> str:
        """One surprise task per customer and moment occasion."""
        return f"surprise:{self.customer_id}:{self.moment}:{self.reason.get('on', '')}"


@dataclass
class SurpriseChoice:
    """The plans, the budget left, and who was left out and why."""

    plans: list[SurprisePlan] = field(default_factory=list)
    budget_left: Decimal = Decimal("0")
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _next_yearly(day: date, today: date) -> date:
    """Return the next date on or after ``today`` with ``day``'s month and day (29 Feb -> 28)."""
    for year in (today.year, today.year + 1):
        last = calendar.monthrange(year, day.month)[1]
        candidate = date(year, day.month, min(day.day, last))
        if candidate >= today:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _months_between(earlier: date, later: date) -> int:
    return (
        (later.year - earlier.year) * 12
        + later.month
        - earlier.month
        - (1 if later.day < earlier.day else 0)
    )


def _moment(candidate: Candidate, today: date, window_days: int) -> tuple[str, date] | None:
    if candidate.last_fix_on and 0 <= (today - candidate.last_fix_on).days <= window_days:
        return "complaint_fixed", candidate.last_fix_on
    if candidate.birthday:
        upcoming = _next_yearly(candidate.birthday, today)
        if (upcoming - today).days <= window_days:
            return "birthday", upcoming
    if candidate.first_order_on and candidate.first_order_on < today - timedelta(days=300):
        upcoming = _next_yearly(candidate.first_order_on, today)
        if (upcoming - today).days <= window_days:
            return "anniversary", upcoming
    return "season", date(today.year, today.month, 1)


def choose_surprises(
    candidates: Iterable[Candidate],
    catalogue: Sequence[CatalogueItem],
    *,
    today: date,
    tiers: Sequence[str],
    every_months: int,
    budget_left: Decimal,
    window_days: int = 7,
) -> SurpriseChoice:
    """Choose who gets which surprise now, within the budget left for the month (pure)."""
    choice = SurpriseChoice(budget_left=budget_left)
    allowed = {t.lower() for t in tiers}
    wanted: list[tuple[int, float, Candidate, str, date]] = []
    for candidate in candidates:
        if (candidate.tier or "").lower() not in allowed:
            choice.skipped["tier not surprised"] += 1
            continue
        if (
            candidate.last_surprised_on is not None
            and _months_between(candidate.last_surprised_on, today) < every_months
        ):
            choice.skipped[f"surprised within {every_months} months"] += 1
            continue
        found = _moment(candidate, today, window_days)
        if found is None:  # pragma: no cover -- every candidate has at least the season
            continue
        moment, on = found
        wanted.append((MOMENT_ORDER.index(moment), -(candidate.clv or 0.0), candidate, moment, on))
    wanted.sort(key=lambda w: (w[0], w[1], w[2].customer_id))
    for _, _, candidate, moment, on in wanted:
        items = [
            item
            for item in catalogue
            if moment in item.moments
            and (moment != "season" or not item.months or today.month in item.months)
        ]
        if not items:
            choice.skipped[f"no surprise suits {moment}"] += 1
            continue
        item = min(items, key=lambda i: (i.cost, i.code))
        if item.cost > choice.budget_left:
            choice.skipped["monthly budget spent"] += 1
            continue
        choice.budget_left -= item.cost
        choice.plans.append(
            SurprisePlan(
                customer_id=candidate.customer_id,
                surprise_id=item.surprise_id,
                code=item.code,
                moment=moment,
                cost=item.cost,
                reason={"moment": moment, "on": on.isoformat(), "tier": candidate.tier},
            )
        )
    choice.skipped = dict(choice.skipped)
    return choice


@dataclass(frozen=True)
class GivenSurprise:
    """A surprise given: to whom, when, and the customer's stratum (tier, RFM segment)."""

    customer_id: int
    given_at: datetime
    stratum: str


@dataclass(frozen=True)
class GroupOutcome:
    """Mean next-period spend and retention of a group, with the counts behind them."""

    n: int
    mean_spend: float | None
    retention: float | None


@dataclass(frozen=True)
class SurpriseOutcomes:
    """Surprised customers against comparable ones not surprised, over the same days."""

    period_days: int
    n_given: int
    n_matured: int
    n_without_controls: int
    surprised: GroupOutcome
    controls: GroupOutcome
    spend_difference: float | None
    retention_difference: float | None
    verdict: str


def _window_outcome(
    orders: Sequence[tuple[datetime, float]], start: datetime, end: datetime
) -> tuple[float, bool]:
    spend = sum(amount for at, amount in orders if start < at <= end)
    bought = any(start < at <= end for at, _ in orders)
    return spend, bought


def surprise_outcomes(
    given: Sequence[GivenSurprise],
    strata: Mapping[int, str],
    orders: Mapping[int, Sequence[tuple[datetime, float]]],
    *,
    as_of: datetime,
    period_days: int = 90,
    min_n: int = 30,
    max_controls: int = 200,
) -> SurpriseOutcomes:
    """Compare the next period after each surprise with matched customers never surprised.

    Parameters
    ----------
    given
        The surprises given.
    strata
        Every customer's stratum (e.g. ``"vip/Champions"``); customers absent are not used.
    orders
        Per customer, ``(ordered_at, amount)`` of their orders.
    as_of
        Only surprises given at least ``period_days`` before this count (their period is over).
    max_controls
        At most this many controls per surprise (the lowest ids, for determinism).
    """
    window = timedelta(days=period_days)
    surprised_ids = {g.customer_id for g in given}
    pool: dict[str, list[int]] = defaultdict(list)
    for customer_id, stratum in sorted(strata.items()):
        if customer_id not in surprised_ids:
            pool[stratum].append(customer_id)
    s_spend: list[float] = []
    s_kept: list[bool] = []
    c_spend: list[float] = []
    c_kept: list[float] = []
    n_controls = n_matured = n_without = 0
    for gift in given:
        if gift.given_at + window > as_of:
            continue
        n_matured += 1
        controls = pool.get(gift.stratum, [])[:max_controls]
        if not controls:
            n_without += 1
            continue
        spend, kept = _window_outcome(
            orders.get(gift.customer_id, ()), gift.given_at, gift.given_at + window
        )
        s_spend.append(spend)
        s_kept.append(kept)
        outcomes = [
            _window_outcome(orders.get(c, ()), gift.given_at, gift.given_at + window)
            for c in controls
        ]
        n_controls += len(controls)
        # Each surprise weighs the same: its controls are averaged first.
        c_spend.append(sum(o[0] for o in outcomes) / len(outcomes))
        c_kept.append(sum(o[1] for o in outcomes) / len(outcomes))
    n = len(s_spend)
    surprised = GroupOutcome(
        n=n,
        mean_spend=sum(s_spend) / n if n else None,
        retention=sum(s_kept) / n if n else None,
    )
    controls_out = GroupOutcome(
        n=n_controls,
        mean_spend=sum(c_spend) / n if n else None,
        retention=sum(c_kept) / n if n else None,
    )
    spend_diff = (
        surprised.mean_spend - controls_out.mean_spend
        if surprised.mean_spend is not None and controls_out.mean_spend is not None
        else None
    )
    retention_diff = (
        surprised.retention - controls_out.retention
        if surprised.retention is not None and controls_out.retention is not None
        else None
    )
    if n < min_n:
        verdict = (
            f"Too few to tell: {n} surprise(s) with a finished {period_days}-day period and "
            f"matched controls; at least {min_n} are needed before reading a difference."
        )
    else:
        verdict = (
            f"{n} surprised customers against {n_controls} matched control observations: "
            f"next-{period_days}-day spend {spend_diff:+.2f} per customer, retention "
            f"{retention_diff:+.1%}. Matching on tier and RFM segment removes only what they "
            "capture; owners chose moments, so read this as association, not proof."
        )
    return SurpriseOutcomes(
        period_days=period_days,
        n_given=len(given),
        n_matured=n_matured,
        n_without_controls=n_without,
        surprised=surprised,
        controls=controls_out,
        spend_difference=spend_diff,
        retention_difference=retention_diff,
        verdict=verdict,
    )
