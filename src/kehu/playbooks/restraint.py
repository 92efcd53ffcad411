"""Restraint: when a recommendation should be shown less, or not at all (pure; no database).

The rules, each a policy parameter in :class:`RestraintPolicy`:

1. **Impression discounting** (Lee et al., "Modeling impression discounting in large-scale
   recommender systems", KDD 2014). The model's score is multiplied by

   ``factor = 1 - (1 - decay ** n) * exp(-dt / recovery_days)``

   where ``n`` is the number of impressions of the item since the customer last responded to
   it (clicked, added to the cart or bought) and ``dt`` the days since the last of them. Right
   after an ignored impression the factor is ``decay ** n`` (it falls with every impression
   that got no response); it climbs back towards 1 as time passes without one. The paper fits
   such factors from logs as products of an impression-count and a last-seen term; this is
   that product with fixed, documented shapes (geometric in the count, exponential recovery).
2. **Hard stop.** After ``max_ignored`` ignored impressions (3) the item is withheld for
   ``cooldown_days``; a dismiss withholds it for ``dismiss_cooldown_days``. When the
   cool-down ends the item may come back once; one more ignored impression stops it again.
3. **Whole categories.** After ``category_max_ignored`` ignored impressions of items of one
   category (and no response to any item of it since), the category is withheld for
   ``cooldown_days``. Items without a category are not affected.
4. **Customer fatigue.** A customer who has ignored ``m`` impressions in a row (any item, since
   their last response) gets ``max(min_k, ceil(k / (1 + m / fatigue_scale)))`` items: half
   after ``fatigue_scale`` ignored impressions, a tenth after nine times as many.
5. **Consent and frequency caps per channel.** Channels that reach out (e-mail, SMS, WeChat)
   need consent granted for ``consent_purpose``; channels the customer is already looking at
   (web, app) are closed only by an explicit withdrawal; the console shows staff, not the
   customer, and needs neither. A channel may show at most ``max_occasions`` recommendation
   occasions (one served list, one e-mail) per ``per_days``.

An impression counts as *ignored* from the moment it is made until a response to the same item
comes after it (a purchase within ``attribution_days`` of an impression or click is also
*attributed* to it, see :func:`attribute_purchase`). Impressions of one item less than
``same_view_minutes`` apart fold into one (a page reloaded is not three ignored impressions).
Events may arrive in any order: every figure is computed from the whole event history each
time.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from kehu.core import Settings

#: What a response is: the customer acted on a recommended item.
RESPONSES = frozenset({"click", "add_to_cart", "purchase"})


class WithheldReason(StrEnum):
    """Why an item or a whole list was not shown."""

    IGNORED = "ignored"
    DISMISSED = "dismissed"
    CATEGORY_IGNORED = "category_ignored"
    FATIGUE = "fatigue"
    NO_CONSENT = "no_consent"
    FREQUENCY_CAP = "frequency_cap"
    #: The customer's one contact budget (issue 7 §5) refused an outreach list.
    CONTACT_BUDGET = "contact_budget"


@dataclass(frozen=True)
class ChannelRule:
    """How one channel may be used.

    Attributes
    ----------
    name
        The channel (``web``, ``email``...).
    displays
        Serving a list in this channel shows it to the customer, so serving records
        impressions by default.
    needs_opt_in
        Consent must be granted; otherwise only a withdrawal closes the channel.
    needs_consent
        Consent matters at all (``False`` for the console, which shows staff).
    max_occasions
        Most occasions (served lists) in ``per_days``; ``None`` means no cap.
    """

    name: str
    displays: bool = True
    needs_opt_in: bool = False
    needs_consent: bool = True
    max_occasions: int | None = None
    per_days: float = 7.0


DEFAULT_CHANNELS: tuple[ChannelRule, ...] = (
    ChannelRule("web", max_occasions=None),
    ChannelRule("app", max_occasions=None),
    ChannelRule("email", needs_opt_in=True, max_occasions=2, per_days=7),
    ChannelRule("sms", needs_opt_in=True, max_occasions=1, per_days=7),
    ChannelRule("wechat", needs_opt_in=True, max_occasions=3, per_days=7),
    ChannelRule("console", displays=False, needs_consent=False),
)


@dataclass(frozen=True)
class RestraintPolicy:
    """The restraint parameters (see the module docstring for each rule)."""

    enabled: bool = True
    decay: float = 0.6
    recovery_days: float = 7.0
    max_ignored: int = 3
    cooldown_days: float = 30.0
    dismiss_cooldown_days: float = 90.0
    category_max_ignored: int = 8
    fatigue_scale: float = 10.0
    min_k: int = 1
    attribution_days: float = 7.0
    same_view_minutes: float = 30.0
    lookback_days: float = 180.0
    consent_purpose: str = "marketing"
    channels: tuple[ChannelRule, ...] = DEFAULT_CHANNELS

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.decay <= 1:
            problems.append("decay must be in (0, 1]")
        if self.recovery_days <= 0:
            problems.append("recovery_days must be positive")
        if self.max_ignored < 1 or self.category_max_ignored < 1:
            problems.append("max_ignored and category_max_ignored must be at least 1")
        if min(self.cooldown_days, self.dismiss_cooldown_days, self.attribution_days) < 0:
            problems.append("cool-downs and the response window cannot be negative")
        if self.fatigue_scale <= 0 or self.min_k < 0:
            problems.append("fatigue_scale must be positive and min_k not negative")
        if problems:
            raise ValueError("; ".join(problems) + ".")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> "RestraintPolicy":
        """Return the policy configured by ``KEHU_RECS_*`` settings (``overrides`` win)."""
        policy = cls(
            enabled=settings.recs_restraint,
            max_ignored=settings.recs_max_ignored,
            cooldown_days=settings.recs_cooldown_days,
            recovery_days=settings.recs_recovery_days,
            attribution_days=settings.recs_attribution_days,
        )
        return replace(policy, **overrides)  # type: ignore[arg-type]

    def channel(self, name: str) -> ChannelRule | None:
        """Return the rule of channel ``name``, or ``None`` for a channel not configured."""
        return next((rule for rule in self.channels if rule.name == name), None)


@dataclass(frozen=True)
class Event:
    """One feedback event as the policy sees it."""

    kind: str
    item_id: str
    at: datetime
    channel: str = "web"
    occasion: str | None = None


@dataclass(frozen=True)
class Candidate:
    """An item the model proposes, with its score and (optional) category."""

    item_id: str
    score: float
    category: str = ""


@dataclass(frozen=True)
class ItemState:
    """What the events say about one item for one customer."""

    impressions: tuple[datetime, ...] = ()
    n_ignored: int = 0
    last_response_at: datetime | None = None
    dismissed_at: datetime | None = None

    @property
    def n_impressions(self) -> int:
        """Return the number of (folded) impressions."""
        return len(self.impressions)

    @property
    def last_impression_at(self) -> datetime | None:
        """Return the time of the newest impression."""
        return self.impressions[-1] if self.impressions else None


@dataclass(frozen=True)
class Shown:
    """An item kept, with its discounted score."""

    item_id: str
    score: float
    model_score: float
    factor: float


@dataclass(frozen=True)
class Withheld:
    """An item (or, with ``item_id`` ``None``, a whole list) not shown, and until when."""

    item_id: str | None
    reason: WithheldReason
    until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`apply_restraint`."""

    shown: list[Shown]
    withheld: list[Withheld]
    budget: int
    n_ignored_in_a_row: int
    channel_closed: Withheld | None = None
    states: Mapping[str, ItemState] = field(default_factory=dict)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400.0


def impression_discount(n_ignored: int, days_since_last: float, policy: RestraintPolicy) -> float:
    """Return the impression-discount factor in (0, 1].

    Examples
    --------
    >>> p = RestraintPolicy(decay=0.5, recovery_days=7)
    >>> impression_discount(0, 0.0, p)
    1.0
    >>> impression_discount(2, 0.0, p)
    0.25
    >>> round(impression_discount(2, 7 * math.log(2), p), 6)
    0.625
    """
    if n_ignored <= 0:
        return 1.0
    fallen = 1.0 - policy.decay**n_ignored
    return 1.0 - fallen * math.exp(-max(days_since_last, 0.0) / policy.recovery_days)


def _fold(impressions: list[datetime], minutes: float) -> list[datetime]:
    """Merge impressions closer than ``minutes`` to the previous kept one (sorted input)."""
    kept: list[datetime] = []
    gap = timedelta(minutes=minutes)
    for at in impressions:
        if not kept or at - kept[-1] >= gap:
            kept.append(at)
    return kept


def item_states(
    events: Iterable[Event], *, now: datetime, policy: RestraintPolicy
) -> dict[str, ItemState]:
    """Return the state of every item the events mention (events after ``now`` are ignored)."""
    impressions: dict[str, list[datetime]] = {}
    responses: dict[str, datetime] = {}
    dismissed: dict[str, datetime] = {}
    for event in events:
        if event.at > now:
            continue
        if event.kind == "impression":
            impressions.setdefault(event.item_id, []).append(event.at)
        elif event.kind in RESPONSES:
            last = responses.get(event.item_id)
            responses[event.item_id] = event.at if last is None else max(last, event.at)
        elif event.kind == "dismiss":
            last = dismissed.get(event.item_id)
            dismissed[event.item_id] = event.at if last is None else max(last, event.at)
    states: dict[str, ItemState] = {}
    for item in impressions.keys() | responses.keys() | dismissed.keys():
        shown = _fold(sorted(impressions.get(item, [])), policy.same_view_minutes)
        response = responses.get(item)
        # A response answers every impression of the item before it.
        ignored = [at for at in shown if response is None or at > response]
        states[item] = ItemState(
            impressions=tuple(shown),
            n_ignored=len(ignored),
            last_response_at=response,
            dismissed_at=dismissed.get(item),
        )
    return states


def attribute_purchase(
    purchase_at: datetime,
    item_id: str,
    events: Iterable[Event],
    policy: RestraintPolicy,
) -> Event | None:
    """Return the newest impression or click of an item in the window before a purchase.

    ``None`` when the purchase owes nothing to a recommendation.
    """
    window = timedelta(days=policy.attribution_days)
    earlier = [
        e
        for e in events
        if e.item_id == item_id
        and e.kind in ("impression", "click")
        and purchase_at - window <= e.at <= purchase_at
    ]
    return max(earlier, key=lambda e: e.at, default=None)


def ignored_in_a_row(states: Mapping[str, ItemState]) -> int:
    """Return how many impressions (any item) came after the customer's last response."""
    last_response = max(
        (s.last_response_at for s in states.values() if s.last_response_at), default=None
    )
    return sum(
        sum(1 for at in s.impressions if last_response is None or at > last_response)
        for s in states.values()
    )


def recommendation_budget(k: int, n_ignored_in_a_row: int, policy: RestraintPolicy) -> int:
    """Return how many items a customer with this many ignored impressions in a row gets.

    Examples
    --------
    >>> p = RestraintPolicy(fatigue_scale=10, min_k=1)
    >>> [recommendation_budget(10, m, p) for m in (0, 10, 30, 90, 1000)]
    [10, 5, 3, 1, 1]
    """
    if k <= 0:
        return 0
    budget = math.ceil(round(k / (1.0 + n_ignored_in_a_row / policy.fatigue_scale), 9))
    return min(k, max(policy.min_k, budget))


def channel_closed(
    rule: ChannelRule,
    consent: str | None,
    occasions: Sequence[datetime],
    *,
    now: datetime,
) -> Withheld | None:
    """Return why nothing may be shown in this channel now, or ``None`` when it is open.

    ``consent`` is the status in force for (channel, the policy's ``consent_purpose``): ``granted``,
    ``withdrawn`` or ``None`` when never asked; ``occasions`` are the times of earlier served
    lists in the channel.
    """
    if rule.needs_consent and (
        consent == "withdrawn" or (rule.needs_opt_in and consent != "granted")
    ):
        return Withheld(None, WithheldReason.NO_CONSENT)
    if rule.max_occasions is not None:
        since = now - timedelta(days=rule.per_days)
        recent = sorted(at for at in occasions if since < at <= now)
        if len(recent) >= rule.max_occasions:
            until = recent[-rule.max_occasions] + timedelta(days=rule.per_days)
            return Withheld(None, WithheldReason.FREQUENCY_CAP, until)
    return None


def occasions(events: Iterable[Event], channel: str) -> list[datetime]:
    """Return when each occasion (served list) of a channel began, from its impressions."""
    times: dict[str, datetime] = {}
    for event in events:
        if event.kind == "impression" and event.channel == channel:
            key = event.occasion or event.at.isoformat()
            times[key] = min(times.get(key, event.at), event.at)
    return list(times.values())


@dataclass(frozen=True)
class ChannelStatus:
    """Where a customer stands in one channel: consent, frequency cap, open or closed.

    Attributes
    ----------
    consent
        The consent in force for the policy's purpose (``granted``, ``withdrawn``), ``None``
        when never asked.
    closed
        Why nothing may be shown now (see :func:`channel_closed`), ``None`` when open.
    used
        Occasions in the cap's window (the last ``rule.per_days`` days).
    left
        Occasions still allowed in the window; ``None`` without a cap.
    frees_at
        When the oldest occasion in the window leaves it (``None`` when none is in it).
    """

    rule: ChannelRule
    consent: str | None
    closed: Withheld | None
    used: int
    left: int | None
    frees_at: datetime | None


def channel_status(
    rule: ChannelRule, consent: str | None, events: Iterable[Event], *, now: datetime
) -> ChannelStatus:
    """Return a channel's status for a customer with these events and this consent."""
    began = occasions(events, rule.name)
    since = now - timedelta(days=rule.per_days)
    recent = sorted(at for at in began if since < at <= now)
    left = None if rule.max_occasions is None else max(rule.max_occasions - len(recent), 0)
    return ChannelStatus(
        rule=rule,
        consent=consent,
        closed=channel_closed(rule, consent, began, now=now),
        used=len(recent),
        left=left,
        frees_at=recent[0] + timedelta(days=rule.per_days) if recent else None,
    )


def stopped_items(
    events: Iterable[Event], *, now: datetime, policy: RestraintPolicy
) -> list[Withheld]:
    """Return the items withheld from the customer now, in every channel, soonest back first.

    Ignored too often or dismissed (whole categories depend on the candidates and are judged
    when serving).
    """
    since = now - timedelta(days=policy.lookback_days)
    states = item_states((e for e in events if e.at >= since), now=now, policy=policy)
    stopped = []
    for item_id, state in states.items():
        block = _item_block(state, now=now, policy=policy)
        if block is not None:
            stopped.append(Withheld(item_id, block.reason, block.until))
    return sorted(stopped, key=lambda w: (w.until or now, w.item_id or ""))


def _item_block(state: ItemState, *, now: datetime, policy: RestraintPolicy) -> Withheld | None:
    if state.dismissed_at is not None and (
        state.last_response_at is None or state.last_response_at < state.dismissed_at
    ):
        until = state.dismissed_at + timedelta(days=policy.dismiss_cooldown_days)
        if now < until:
            return Withheld(None, WithheldReason.DISMISSED, until)
    if state.n_ignored >= policy.max_ignored and state.last_impression_at is not None:
        until = state.last_impression_at + timedelta(days=policy.cooldown_days)
        if now < until:
            return Withheld(None, WithheldReason.IGNORED, until)
    return None


def _blocked_categories(
    candidates: Sequence[Candidate],
    states: Mapping[str, ItemState],
    *,
    now: datetime,
    policy: RestraintPolicy,
    categories: Mapping[str, str],
) -> dict[str, datetime]:
    ignored: dict[str, int] = {}
    last_seen: dict[str, datetime] = {}
    answered: set[str] = set()
    lookup = {c.item_id: c.category for c in candidates}
    lookup.update(categories)
    for item, state in states.items():
        category = lookup.get(item, "")
        if not category:
            continue
        if state.last_response_at is not None:
            answered.add(category)
        ignored[category] = ignored.get(category, 0) + state.n_ignored
        if state.last_impression_at is not None:
            previous = last_seen.get(category)
            last_seen[category] = max(
                previous or state.last_impression_at, state.last_impression_at
            )
    blocked = {}
    for category, n in ignored.items():
        if category in answered or n < policy.category_max_ignored:
            continue
        until = last_seen[category] + timedelta(days=policy.cooldown_days)
        if now < until:
            blocked[category] = until
    return blocked


def apply_restraint(
    candidates: Sequence[Candidate],
    events: Iterable[Event],
    *,
    k: int,
    now: datetime,
    policy: RestraintPolicy,
    channel: ChannelRule | None = None,
    consent: str | None = None,
    categories: Mapping[str, str] | None = None,
) -> Decision:
    """Return which candidates to show (best discounted score first) and what was withheld.

    Parameters
    ----------
    candidates
        The model's proposals, any order; ask the model for more than ``k`` so that withheld
        items can be replaced.
    events
        The customer's feedback events (any order, any channel).
    k
        How many items were asked for.
    now
        The time of serving (UTC).
    policy
        The parameters.
    channel
        The channel's rule; ``None`` skips consent and caps (e.g. an offline evaluation).
    consent
        The consent in force for the channel (see :func:`channel_closed`).
    categories
        Categories of items that are not candidates (to judge whole categories).
    """
    history = list(events)
    if channel is not None:
        closed = channel_closed(channel, consent, occasions(history, channel.name), now=now)
        if closed is not None:
            return Decision([], [], 0, 0, channel_closed=closed)
    ranked = sorted(candidates, key=lambda c: (-c.score, c.item_id))
    if not policy.enabled:
        shown = [Shown(c.item_id, c.score, c.score, 1.0) for c in ranked[:k]]
        return Decision(shown, [], k, 0)
    since = now - timedelta(days=policy.lookback_days)
    states = item_states((e for e in history if e.at >= since), now=now, policy=policy)
    in_a_row = ignored_in_a_row(states)
    budget = recommendation_budget(k, in_a_row, policy)
    blocked_categories = _blocked_categories(
        ranked, states, now=now, policy=policy, categories=categories or {}
    )
    kept: list[Shown] = []
    withheld: list[Withheld] = []
    for candidate in ranked:
        state = states.get(candidate.item_id, ItemState())
        block = _item_block(state, now=now, policy=policy)
        if block is None and candidate.category in blocked_categories:
            block = Withheld(
                None, WithheldReason.CATEGORY_IGNORED, blocked_categories[candidate.category]
            )
        if block is not None:
            withheld.append(Withheld(candidate.item_id, block.reason, block.until))
            continue
        since_last = (
            _days(now - state.last_impression_at) if state.last_impression_at is not None else 0.0
        )
        factor = impression_discount(state.n_ignored, since_last, policy)
        kept.append(Shown(candidate.item_id, candidate.score * factor, candidate.score, factor))
    kept.sort(key=lambda s: (-s.score, s.item_id))
    if budget < len(kept):
        withheld.extend(Withheld(s.item_id, WithheldReason.FATIGUE) for s in kept[budget:k])
    return Decision(kept[:budget], withheld, budget, in_a_row, states=states)


__all__ = [
    "DEFAULT_CHANNELS",
    "RESPONSES",
    "Candidate",
    "ChannelRule",
    "ChannelStatus",
    "Decision",
    "Event",
    "ItemState",
    "RestraintPolicy",
    "Shown",
    "Withheld",
    "WithheldReason",
    "apply_restraint",
    "attribute_purchase",
    "channel_closed",
    "channel_status",
    "ignored_in_a_row",
    "impression_discount",
    "item_states",
    "occasions",
    "recommendation_budget",
    "stopped_items",
]
