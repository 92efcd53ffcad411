"""Business-hours arithmetic for SLA clocks: pure functions, no database.

A :class:`BusinessCalendar` says when the business counts time: opening hours per ISO weekday,
in one time zone, minus holidays. Promised times ("first response within 4 business hours")
become due dates with :func:`add_business_minutes`; the time used so far is
:func:`business_minutes_between`; :func:`sla_clock` turns both into the state a page shows.
Windows are converted to UTC one day at a time, so a daylight-saving change inside a window
counts the real elapsed minutes.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kehu.core import InvalidInputError
from kehu.service.errors import ServiceErrorCode

MINUTES_PER_DAY = 24 * 60
#: How far ahead a due date is searched before the calendar is declared empty.
MAX_DAYS_AHEAD = 3 * 366
ROUND_THE_CLOCK: Mapping[int, tuple[int, int]] = dict.fromkeys(range(1, 8), (0, MINUTES_PER_DAY))


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(message, code=ServiceErrorCode.BAD_CALENDAR)


def parse_clock(text: str) -> int:
    """Return ``"HH:MM"`` as minutes after midnight (``"24:00"`` is the end of the day).

    Raises
    ------
    InvalidInputError
        When ``text`` is not a time of day.
    """
    try:
        hours, minutes = (int(part) for part in str(text).strip().split(":"))
    except ValueError as exc:
        raise _bad(f"{text!r} is not a time of day; write it as HH:MM, e.g. 09:00.") from exc
    value = hours * 60 + minutes
    if not (0 <= minutes < 60 and 0 <= value <= MINUTES_PER_DAY):
        raise _bad(f"{text!r} is not a time of day between 00:00 and 24:00.")
    return value


@dataclass(frozen=True)
class BusinessCalendar:
    """When time counts: ``hours`` maps ISO weekday (1 = Monday) to (start, end) minutes."""

    timezone: str = "UTC"
    hours: Mapping[int, tuple[int, int]] = field(default_factory=lambda: dict(ROUND_THE_CLOCK))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _bad(
                f"Unknown time zone {self.timezone!r}; use an IANA name such as Asia/Shanghai."
            ) from exc
        for day, (start, end) in self.hours.items():
            if day not in range(1, 8):
                raise _bad(f"Weekday {day} does not exist; use 1 (Monday) to 7 (Sunday).")
            if not 0 <= start < end <= MINUTES_PER_DAY:
                raise _bad(f"The opening hours of weekday {day} end before they start.")
        if not self.hours:
            raise _bad("A calendar needs opening hours on at least one weekday.")

    @classmethod
    def from_config(
        cls, *, timezone: str, business_hours: Mapping[str, Any], holidays: Sequence[str]
    ) -> "BusinessCalendar":
        """Build a calendar from stored policy fields; an empty ``business_hours`` is 24/7.

        Raises
        ------
        InvalidInputError
            For unknown weekdays, times, time zones or dates.
        """
        hours: dict[int, tuple[int, int]] = {}
        for key, span in (business_hours or {}).items():
            try:
                day = int(key)
            except ValueError as exc:
                raise _bad(f"Weekday {key!r} is not a number 1 (Monday) to 7 (Sunday).") from exc
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise _bad(f"The hours of weekday {key} must be [start, end], e.g. [09:00, 18:00].")
            hours[day] = (parse_clock(span[0]), parse_clock(span[1]))
        days: set[date] = set()
        for text in holidays or ():
            try:
                days.add(date.fromisoformat(str(text)))
            except ValueError as exc:
                raise _bad(f"Holiday {text!r} is not a date (YYYY-MM-DD).") from exc
        return cls(
            timezone=timezone or "UTC",
            hours=hours or dict(ROUND_THE_CLOCK),
            holidays=frozenset(days),
        )

    def windows(self, start_day: date) -> Iterator[tuple[datetime, datetime]]:
        """Yield the business windows (UTC start, UTC end) from ``start_day`` onwards."""
        zone = ZoneInfo(self.timezone)
        for offset in range(MAX_DAYS_AHEAD):
            day = start_day + timedelta(days=offset)
            span = self.hours.get(day.isoweekday())
            if span is None or day in self.holidays:
                continue
            yield _local(day, span[0], zone), _local(day, span[1], zone)


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    base = datetime.combine(day, time(0), tzinfo=zone)
    if minute >= MINUTES_PER_DAY:
        nxt = day + timedelta(days=1)
        return datetime.combine(nxt, time(0), tzinfo=zone).astimezone(UTC)
    return base.replace(hour=minute // 60, minute=minute % 60).astimezone(UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("SLA arithmetic needs timezone-aware datetimes")
    return value.astimezone(UTC)


def _local_day(value: datetime, calendar: BusinessCalendar) -> date:
    # Start a day early: a window of the previous local day may still be open (night shifts).
    return value.astimezone(ZoneInfo(calendar.timezone)).date() - timedelta(days=1)


def add_business_minutes(start: datetime, minutes: float, calendar: BusinessCalendar) -> datetime:
    """Return the moment ``minutes`` business minutes after ``start`` (UTC).

    Raises
    ------
    InvalidInputError
        When the calendar has no business time in the next three years (all holidays).
    """
    cursor = _aware(start)
    remaining = timedelta(minutes=max(0.0, minutes))
    for window_start, window_end in calendar.windows(_local_day(cursor, calendar)):
        if window_end <= cursor:
            continue
        begin = max(cursor, window_start)
        available = window_end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise _bad("The calendar has no business hours in the next three years.")


def business_minutes_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Return the business minutes from ``start`` to ``end`` (0 when ``end`` is not later)."""
    begin, finish = _aware(start), _aware(end)
    if finish <= begin:
        return 0.0
    total = timedelta(0)
    for window_start, window_end in calendar.windows(_local_day(begin, calendar)):
        if window_start >= finish:
            break
        overlap = min(window_end, finish) - max(window_start, begin)
        if overlap > timedelta(0):
            total += overlap
    return total.total_seconds() / 60


class ClockState(StrEnum):
    """Where one promise of a ticket stands."""

    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True)
class SlaClock:
    """One promise of a ticket (first response or resolution) measured at ``now``."""

    target: str
    due_at: datetime
    state: ClockState
    used_share: float
    business_minutes_left: float


def sla_clock(
    *,
    target: str,
    started_at: datetime,
    due_at: datetime,
    done_at: datetime | None,
    now: datetime,
    calendar: BusinessCalendar,
    warn_at_share: float = 0.8,
) -> SlaClock:
    """Return the state of a promise: met or missed once done; else ok, warning or breached."""
    allowed = business_minutes_between(started_at, due_at, calendar)
    until = done_at if done_at is not None else now
    used = business_minutes_between(started_at, until, calendar)
    share = used / allowed if allowed > 0 else (1.0 if _aware(until) >= _aware(due_at) else 0.0)
    left = max(0.0, allowed - used)
    if done_at is not None:
        state = ClockState.MET if _aware(done_at) <= _aware(due_at) else ClockState.MISSED
    elif _aware(now) > _aware(due_at):
        state = ClockState.BREACHED
    elif share >= warn_at_share:
        state = ClockState.WARNING
    else:
        state = ClockState.OK
    return SlaClock(
        target=target,
        due_at=_aware(due_at),
        state=state,
        used_share=round(share, 4),
        business_minutes_left=round(left, 1),
    )


def validate_targets(targets: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Return SLA targets checked: ``{tier: {first_response_minutes, resolution_minutes}}``.

    Raises
    ------
    InvalidInputError
        When ``default`` is missing or a target is not a positive number of minutes.
    """
    if "default" not in targets:
        raise InvalidInputError(
            "SLA targets need a 'default' tier (other tiers, such as 'vip', are optional).",
            code=ServiceErrorCode.BAD_TARGETS,
        )
    clean: dict[str, dict[str, int]] = {}
    for tier, values in targets.items():
        if not isinstance(values, Mapping):
            raise InvalidInputError(
                f"The targets of tier {tier!r} must be an object.",
                code=ServiceErrorCode.BAD_TARGETS,
            )
        row: dict[str, int] = {}
        for key in ("first_response_minutes", "resolution_minutes"):
            value = values.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**6:
                raise InvalidInputError(
                    f"{tier}.{key} must be a whole number of minutes between 1 and 1000000.",
                    code=ServiceErrorCode.BAD_TARGETS,
                )
            row[key] = value
        clean[str(tier)] = row
    return clean
