"""Tier sizes: the ceiling rule, hand-checked."""

import pytest

from kehu.jobs.value import tier_bounds


@pytest.mark.parametrize(
    ("n", "share", "bounds"),
    [
        pytest.param(10, 0.2, (2, 5, 8), id="ten_case"),
        pytest.param(7, 0.2, (2, 4, 6), id="seven_case"),  # 1.4 -> 2, 3.5 -> 4, 5.6 -> 6
        pytest.param(1, 0.2, (1, 1, 1), id="one_case"),
        pytest.param(10, 0.1, (1, 4, 7), id="float_noise_case"),  # 0.4 x 10 is 4, not 5
        pytest.param(10, 0.5, (5, 8, 10), id="capped_case"),
    ],
)
def test_tier_bounds(n, share, bounds):
    assert tier_bounds(n, share) == bounds
