"""Business-hours arithmetic: opening hours, weekends, holidays, time zones, DST, clocks."""

from datetime import UTC, date, datetime, timedelta

import pytest

from kehu.core import InvalidInputError
from kehu.service import BusinessCalendar, ClockState
from kehu.service.sla import (
    add_business_minutes,
    business_minutes_between,
    parse_clock,
    sla_clock,
    validate_targets,
)

WEEKDAYS_9_TO_18 = {str(d): ["09:00", "18:00"] for d in range(1, 6)}


def shanghai(**extra: object) -> BusinessCalendar:
    return BusinessCalendar.from_config(
        timezone="Asia/Shanghai",
        business_hours=WEEKDAYS_9_TO_18,
        holidays=extra.get("holidays", []),  # type: ignore[arg-type]
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_minutes_within_one_business_day():
    # Monday 2026-11-23 10:00 Shanghai = 02:00 UTC; 4 hours later is 14:00 Shanghai.
    assert add_business_minutes(utc(2026, 11, 23, 2), 240, shanghai()) == utc(2026, 11, 23, 6)


def test_time_after_closing_rolls_to_the_next_morning():
    # Monday 17:00 Shanghai + 2 h = 1 h on Monday, 1 h on Tuesday: Tuesday 10:00 (02:00 UTC).
    assert add_business_minutes(utc(2026, 11, 23, 9), 120, shanghai()) == utc(2026, 11, 24, 2)


def test_a_ticket_opened_at_night_starts_counting_at_opening_time():
    # Monday 23:00 Shanghai (15:00 UTC) + 30 min = Tuesday 09:30 Shanghai (01:30 UTC).
    assert add_business_minutes(utc(2026, 11, 23, 15), 30, shanghai()) == utc(2026, 11, 24, 1, 30)


def test_weekends_and_holidays_do_not_count():
    calendar = shanghai(holidays=["2026-11-30"])  # Monday
    # Friday 2026-11-27 17:00 Shanghai + 2 h: 1 h Friday, skip Sat, Sun, holiday Mon, 1 h Tue.
    due = add_business_minutes(utc(2026, 11, 27, 9), 120, calendar)
    assert due == utc(2026, 12, 1, 2)
    assert business_minutes_between(utc(2026, 11, 27, 9), due, calendar) == 120


def test_round_the_clock_calendar_is_plain_time():
    calendar = BusinessCalendar.from_config(timezone="UTC", business_hours={}, holidays=[])
    start = utc(2026, 11, 28, 23, 50)  # Saturday
    assert add_business_minutes(start, 60, calendar) == start + timedelta(hours=1)
    assert business_minutes_between(start, start + timedelta(days=2), calendar) == 2880


def test_business_minutes_between_counts_only_open_hours():
    # From Monday 08:00 to Wednesday 12:00 Shanghai: 9 h + 9 h + 3 h = 21 h.
    assert business_minutes_between(
        utc(2026, 11, 23, 0), utc(2026, 11, 25, 4), shanghai()
    ) == pytest.approx(21 * 60)
    assert business_minutes_between(utc(2026, 11, 25), utc(2026, 11, 23), shanghai()) == 0


def test_daylight_saving_day_counts_real_minutes():
    # London, Sunday 2026-03-29 clocks go 01:00 -> 02:00; a 00:00-24:00 Sunday has 23 hours.
    calendar = BusinessCalendar.from_config(
        timezone="Europe/London", business_hours={"7": ["00:00", "24:00"]}, holidays=[]
    )
    assert business_minutes_between(
        utc(2026, 3, 28, 12), utc(2026, 3, 30, 12), calendar
    ) == pytest.approx(23 * 60)


def test_clock_states_ok_warning_breached_met_missed():
    calendar = shanghai()
    opened, due = utc(2026, 11, 23, 1), utc(2026, 11, 23, 5)  # 09:00 -> 13:00 Shanghai
    state = lambda now, done=None: sla_clock(  # noqa: E731
        target="first_response",
        started_at=opened,
        due_at=due,
        done_at=done,
        now=now,
        calendar=calendar,
        warn_at_share=0.75,
    )
    assert state(utc(2026, 11, 23, 2)).state is ClockState.OK
    assert state(utc(2026, 11, 23, 2)).business_minutes_left == 180
    assert state(utc(2026, 11, 23, 4, 30)).state is ClockState.WARNING
    assert state(utc(2026, 11, 23, 6)).state is ClockState.BREACHED
    assert state(utc(2026, 11, 23, 6), utc(2026, 11, 23, 3)).state is ClockState.MET
    assert state(utc(2026, 11, 23, 9), utc(2026, 11, 23, 6)).state is ClockState.MISSED


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param({"timezone": "Mars/Base"}, "Unknown time zone", id="zone_case"),
        pytest.param({"business_hours": {"8": ["09:00", "18:00"]}}, "Weekday 8", id="day_case"),
        pytest.param({"business_hours": {"1": ["18:00", "09:00"]}}, "end before", id="order_case"),
        pytest.param({"business_hours": {"1": ["9am", "18:00"]}}, "not a time", id="time_case"),
        pytest.param({"business_hours": {"1": "09:00"}}, "must be", id="shape_case"),
        pytest.param({"holidays": ["next monday"]}, "not a date", id="holiday_case"),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(config, message):
    fields = {"timezone": "UTC", "business_hours": {}, "holidays": []} | config
    with pytest.raises(InvalidInputError, match=message):
        BusinessCalendar.from_config(**fields)


def test_a_calendar_that_is_all_holidays_is_reported_not_looped():
    calendar = BusinessCalendar(
        timezone="UTC",
        hours={1: (540, 1080)},
        holidays=frozenset(date(2026, 11, 23) + timedelta(weeks=w) for w in range(200)),
    )
    with pytest.raises(InvalidInputError, match="no business hours"):
        add_business_minutes(utc(2026, 11, 23), 60, calendar)


def test_clock_parsing_and_targets():
    assert parse_clock("24:00") == 1440
    assert parse_clock(" 9:30") == 570
    assert validate_targets(
        {"default": {"first_response_minutes": 60, "resolution_minutes": 480}}
    ) == {"default": {"first_response_minutes": 60, "resolution_minutes": 480}}
    with pytest.raises(InvalidInputError, match="default"):
        validate_targets({"vip": {"first_response_minutes": 1, "resolution_minutes": 2}})
    with pytest.raises(InvalidInputError, match="whole number"):
        validate_targets({"default": {"first_response_minutes": 0, "resolution_minutes": 2}})
