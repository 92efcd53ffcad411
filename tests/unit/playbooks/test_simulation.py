"""Restraint, shown on a small seeded simulation (benchmarks/recs/restraint.py runs the big one)."""

import dataclasses

from kehu.playbooks.simulation import SimulationConfig, build_world, click_probability, compare

SMALL = SimulationConfig(n_customers=50, days=120)


def test_restraint_cuts_impressions_to_non_responders_and_keeps_the_clicks():
    result = compare(SMALL)

    assert result.off.impressions_to_non_responders > 1000  # the annoying shop, measured
    assert result.non_responder_impressions_fall >= 0.80
    assert result.clicks_fall <= 0.05


def test_the_customers_do_not_depend_on_the_policy():
    # The world (affinities, proposals, visits) is drawn from the seed alone, and the click
    # model reads only the world: two policies face the same customers.
    world = build_world(SMALL)
    again = build_world(SMALL)

    assert (world.affinity == again.affinity).all()
    assert (world.visits == again.visits).all()
    assert click_probability(world, 0, 3, 1, 0, SMALL) == click_probability(
        again, 0, 3, 1, 0, SMALL
    )
    assert "policy" not in {f.name for f in dataclasses.fields(SMALL)}
