"""The three QA criteria: solved (not reopened within N days), perception, loss reduced."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from kehu.service import assess_ticket
from kehu.service.quality import is_solved, loss_reduced, perception_of

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_solved_needs_a_resolution_not_undone_within_the_window():
    day = timedelta(days=1)
    assert is_solved(resolutions=[], reopenings=[], window_days=7) is None
    assert is_solved(resolutions=[T0], reopenings=[], window_days=7) is True
    # Reopened 3 days later and resolved again: the first resolution failed.
    assert (
        is_solved(resolutions=[T0, T0 + 4 * day], reopenings=[T0 + 3 * day], window_days=7) is False
    )
    # Reopened 10 days later (a new problem) and resolved again: still solved.
    assert (
        is_solved(resolutions=[T0, T0 + 11 * day], reopenings=[T0 + 10 * day], window_days=7)
        is True
    )
    # Open again right now: no verdict yet.
    assert is_solved(resolutions=[T0], reopenings=[T0 + day], window_days=7) is None


def test_perception_prefers_the_rating_over_sentiment():
    assert perception_of(5, 0.1) == (1.0, "rating")
    assert perception_of(1, None) == (0.0, "rating")
    assert perception_of(3, None) == (0.5, "rating")
    assert perception_of(None, 0.8) == (0.8, "sentiment")
    assert perception_of(None, None) == (None, None)


def test_loss_reduced_is_claimed_minus_paid_plus_recovered():
    assert loss_reduced(claimed=None, paid=None, recovered=None) is None
    assert loss_reduced(claimed=Decimal("100"), paid=Decimal("30"), recovered=None) == Decimal("70")
    assert loss_reduced(
        claimed=Decimal("100"), paid=Decimal("100"), recovered=Decimal("12.5")
    ) == Decimal("12.5")
    assert loss_reduced(claimed=None, paid=Decimal("20"), recovered=None) == Decimal("0")


def test_assessment_has_exactly_three_criteria():
    quality = assess_ticket(
        resolutions=[T0],
        reopenings=[],
        window_days=7,
        rating=None,
        sentiment=0.25,
        claimed=Decimal("50"),
        paid=Decimal("0"),
        recovered=None,
    )
    assert (
        quality.solved,
        quality.perception,
        quality.perception_source,
        quality.loss_reduced,
    ) == (
        True,
        0.25,
        "sentiment",
        Decimal("50"),
    )
    assert set(vars(quality)) == {"solved", "perception", "perception_source", "loss_reduced"}
