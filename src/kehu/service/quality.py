"""Quality of service on three criteria only: solved, perception, loss reduced.

Pure functions over a ticket's facts; nothing else (call length, interruptions, filler words)
is scored, on purpose.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class TicketQuality:
    """The three criteria for one ticket.

    ``solved`` is ``None`` while the ticket is not resolved; ``perception`` is on 0..1 (a rating
    1..5 maps to 0, .25, .5, .75, 1), from ``perception_source`` "rating" or "sentiment", or
    ``None`` when neither exists; ``loss_reduced`` is ``None`` when no amount was entered.
    """

    solved: bool | None
    perception: float | None
    perception_source: str | None
    loss_reduced: Decimal | None


def is_solved(
    *, resolutions: Sequence[datetime], reopenings: Sequence[datetime], window_days: int
) -> bool | None:
    """Tell whether a ticket was solved: resolved, and never reopened within the window.

    ``resolutions`` and ``reopenings`` are the moments it was resolved and reopened; a reopening
    more than ``window_days`` after the resolution before it counts as a new problem, not a
    failure. ``None`` when the ticket was never resolved or is open again now.
    """
    if not resolutions:
        return None
    last_resolution = max(resolutions)
    if reopenings and max(reopenings) > last_resolution:
        return None
    window = timedelta(days=window_days)
    for reopened in reopenings:
        earlier = [r for r in resolutions if r <= reopened]
        if earlier and reopened - max(earlier) <= window:
            return False
    return True


def perception_of(rating: int | None, sentiment: float | None) -> tuple[float | None, str | None]:
    """Return (perception on 0..1, its source): the customer's rating wins over sentiment."""
    if rating is not None:
        return (min(max(rating, 1), 5) - 1) / 4, "rating"
    if sentiment is not None:
        return min(max(float(sentiment), 0.0), 1.0), "sentiment"
    return None, None


def loss_reduced(
    *, claimed: Decimal | None, paid: Decimal | None, recovered: Decimal | None
) -> Decimal | None:
    """Return the loss avoided: claimed minus paid out, plus value recovered."""
    if claimed is None and paid is None and recovered is None:
        return None
    claimed = claimed or Decimal(0)
    paid = paid or Decimal(0)
    return max(claimed - paid, Decimal(0)) + (recovered or Decimal(0))


def assess_ticket(
    *,
    resolutions: Sequence[datetime],
    reopenings: Sequence[datetime],
    window_days: int,
    rating: int | None,
    sentiment: float | None,
    claimed: Decimal | None,
    paid: Decimal | None,
    recovered: Decimal | None,
) -> TicketQuality:
    """Return the three criteria for one ticket."""
    perception, source = perception_of(rating, sentiment)
    return TicketQuality(
        solved=is_solved(resolutions=resolutions, reopenings=reopenings, window_days=window_days),
        perception=perception,
        perception_source=source,
        loss_reduced=loss_reduced(claimed=claimed, paid=paid, recovered=recovered),
    )
