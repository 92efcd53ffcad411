"""A seeded simulation of customers reacting to recommendations, to show what restraint does.

The simulated world is built *before* and *independently of* the policy under test:

- items belong to categories and have an appeal;
- each customer has latent affinities to the categories (Dirichlet); some customers ignore a
  few whole categories (affinity 0) and some ignore everything (all 0);
- a fixed recommender ranks every item for each customer from popularity, a noisy view of their
  affinities *before* any category was ignored (what their purchase history would show) and
  noise, so it keeps proposing categories the customer ignores in recommendations; like
  :func:`kehu.jobs.recommend.serve_recommendations`, each visit passes the policy the top
  ``3 k`` items plus one more per item shown before;
- customers visit on random days; on a visit they see the list and click each item with
  probability ``click_scale * affinity * appeal / log2(position + 1)`` (capped at 0.9), a
  position-biased click model, divided by ``1 + repeat_fatigue * n`` after ``n`` earlier
  views of the item (interest wanes with repeated exposure). Nothing in it reads the policy,
  its parameters or its state.

The policy sees only what production would: the impression and click events, and the
items' categories from the catalogue. Visits and clicks use common random numbers (one stream
per customer and day), so restraint on and off face the same customers on the same days.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from kehu.playbooks.restraint import Candidate, Event, RestraintPolicy, apply_restraint

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SimulationConfig:
    """The simulated world (see the module docstring)."""

    n_customers: int = 400
    n_categories: int = 8
    items_per_category: int = 25
    days: int = 120
    visit_rate: float = 0.5
    k: int = 10
    candidate_factor: int = 3
    share_category_ignorers: float = 0.4
    min_ignored_categories: int = 2
    max_ignored_categories: int = 4
    share_non_responders: float = 0.1
    click_scale: float = 0.15
    repeat_fatigue: float = 0.1
    seed: int = 20261125


@dataclass(frozen=True)
class World:
    """Everything the customers are; the policy never sees it."""

    category: np.ndarray  # item -> category
    appeal: np.ndarray  # item -> appeal in (0, 1)
    affinity: np.ndarray  # customer x category, 0 where ignored
    candidates: list[list[Candidate]]  # the recommender's ranking per customer, best first
    visits: np.ndarray  # customer x day -> visits that day (bool)


@dataclass(frozen=True)
class Outcome:
    """What happened in one run."""

    impressions: int
    clicks: int
    impressions_to_non_responders: int
    impressions_to_silent_customers: int
    clicks_by_responders: int

    def as_dict(self) -> dict[str, int]:
        """Return the figures as a dictionary."""
        return {
            "impressions": self.impressions,
            "clicks": self.clicks,
            "impressions_to_non_responders": self.impressions_to_non_responders,
            "impressions_to_silent_customers": self.impressions_to_silent_customers,
            "clicks_by_responders": self.clicks_by_responders,
        }


def build_world(config: SimulationConfig) -> World:
    """Draw the items, the customers and the recommender's proposals from ``config.seed``."""
    rng = np.random.default_rng(config.seed)
    n_items = config.n_categories * config.items_per_category
    category = np.repeat(np.arange(config.n_categories), config.items_per_category)
    appeal = rng.beta(2.0, 3.0, n_items)
    popularity = rng.lognormal(0.0, 0.7, n_items)
    true_taste = rng.dirichlet(np.ones(config.n_categories), config.n_customers)
    true_taste *= config.n_categories  # mean 1 per category
    affinity = true_taste.copy()
    kind = rng.random(config.n_customers)
    for c in range(config.n_customers):
        if kind[c] < config.share_non_responders:
            affinity[c] = 0.0
        elif kind[c] < config.share_non_responders + config.share_category_ignorers:
            n = rng.integers(config.min_ignored_categories, config.max_ignored_categories + 1)
            affinity[c, rng.choice(config.n_categories, size=n, replace=False)] = 0.0
    history_view = true_taste * rng.lognormal(0.0, 0.5, true_taste.shape)
    candidates = []
    for c in range(config.n_customers):
        score = (
            np.sqrt(popularity)
            * (0.5 + history_view[c, category])
            * rng.lognormal(0.0, 0.3, n_items)
        )
        top = np.argsort(-score, kind="stable")
        candidates.append(
            [Candidate(f"I{i}", float(score[i]), f"C{category[i]}") for i in top.tolist()]
        )
    visits = rng.random((config.n_customers, config.days)) < config.visit_rate
    return World(category, appeal, affinity, candidates, visits)


def click_probability(
    world: World,
    customer: int,
    item: int,
    position: int,
    n_seen: int,
    config: SimulationConfig,
) -> float:
    """Return the chance that ``customer`` clicks ``item`` at ``position`` (1-based).

    ``n_seen`` is how often the customer saw the item before: interest wanes with repeated
    exposure (the effect Lee et al. measured at LinkedIn), here as ``1 / (1 + repeat_fatigue
    * n_seen)``, a shape and a parameter of the simulated customers, not of the policy.
    """
    p = float(
        config.click_scale * world.affinity[customer, world.category[item]] * world.appeal[item]
    )
    return min(0.9, p / math.log2(position + 1) / (1.0 + config.repeat_fatigue * n_seen))


def simulate(
    config: SimulationConfig, policy: RestraintPolicy, world: World | None = None
) -> Outcome:
    """Run the world for ``config.days`` days with ``policy`` and count what happened."""
    world = world or build_world(config)
    impressions = clicks = wasted = silent = responder_clicks = 0
    n_items = len(world.category)
    for c in range(config.n_customers):
        events: list[Event] = []
        seen: set[str] = set()
        n_seen: dict[int, int] = {}
        is_silent = bool(world.affinity[c].sum() == 0)
        for day in np.flatnonzero(world.visits[c]).tolist():
            draws = np.random.default_rng([config.seed, c, day])
            now = START + timedelta(days=day, hours=float(draws.uniform(8, 22)))
            u = draws.random(n_items)
            # As kehu.jobs.recommend serves: k * 3 candidates plus one per item seen before.
            n_candidates = config.k * config.candidate_factor + len(seen)
            decision = apply_restraint(
                world.candidates[c][:n_candidates], events, k=config.k, now=now, policy=policy
            )
            for position, shown in enumerate(decision.shown, start=1):
                item = int(shown.item_id[1:])
                events.append(Event("impression", shown.item_id, now))
                seen.add(shown.item_id)
                impressions += 1
                if world.affinity[c, world.category[item]] == 0:
                    wasted += 1
                silent += is_silent
                p = click_probability(world, c, item, position, n_seen.get(item, 0), config)
                n_seen[item] = n_seen.get(item, 0) + 1
                if u[item] < p:
                    events.append(Event("click", shown.item_id, now + timedelta(minutes=1)))
                    clicks += 1
                    responder_clicks += not is_silent
    return Outcome(impressions, clicks, wasted, silent, responder_clicks)


@dataclass(frozen=True)
class Comparison:
    """Restraint on against off in the same world."""

    on: Outcome
    off: Outcome

    @property
    def non_responder_impressions_fall(self) -> float:
        """Return the relative fall of impressions to non-responders (0.8 = 80 % fewer)."""
        off = self.off.impressions_to_non_responders
        return 1.0 - self.on.impressions_to_non_responders / off if off else 0.0

    @property
    def clicks_fall(self) -> float:
        """Return the relative fall of clicks (negative when restraint gains clicks)."""
        return 1.0 - self.on.clicks / self.off.clicks if self.off.clicks else 0.0


def compare(config: SimulationConfig, policy: RestraintPolicy | None = None) -> Comparison:
    """Run the same world with restraint on (``policy``) and off."""
    policy = policy or RestraintPolicy()
    world = build_world(config)
    on = simulate(config, policy, world)
    off = simulate(config, RestraintPolicy(enabled=False), world)
    return Comparison(on=on, off=off)


__all__ = [
    "Comparison",
    "Outcome",
    "SimulationConfig",
    "World",
    "build_world",
    "click_probability",
    "compare",
    "simulate",
]
