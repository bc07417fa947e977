"""The working-time clock across nights, weekends and public holidays."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.certificates.sla import WorkingCalendar

WIB = ZoneInfo("Asia/Jakarta")
# 2026-12-24 is a Thursday; 25 December (Friday) is a public holiday; 26-27 are the weekend.
CALENDAR = WorkingCalendar(holidays=frozenset({date(2026, 12, 25)}))
TWO_DAYS = timedelta(hours=16)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a December 2026 moment in Jakarta time."""
    return datetime(2026, 12, day, hour, minute, tzinfo=WIB)


def test_two_working_days_from_thursday_afternoon_skip_the_holiday_and_the_weekend():
    assert CALENDAR.add(at(24, 14), TWO_DAYS) == at(29, 14)  # Thu 2h + Mon 8h + Tue 6h


def test_a_ticket_filed_at_night_starts_counting_next_morning():
    assert CALENDAR.add(at(23, 20), timedelta(hours=1)) == at(24, 9)
    assert CALENDAR.add(at(24, 16, 30), timedelta(hours=1)) == at(28, 9)


def test_working_time_counts_only_office_hours():
    assert CALENDAR.working_time(at(24, 14), at(28, 10)) == timedelta(hours=4)
    assert CALENDAR.working_time(at(26, 0), at(27, 23)) == timedelta(0)
    assert CALENDAR.working_time(at(28, 10), at(24, 14)) == timedelta(0)


def test_remaining_is_negative_when_late():
    assert CALENDAR.remaining(at(24, 14), TWO_DAYS, at(28, 15)) == timedelta(hours=7)
    assert CALENDAR.remaining(at(24, 14), TWO_DAYS, at(30, 9)) == -timedelta(hours=3)


def test_utc_input_is_read_in_jakarta_time():
    utc = datetime(2026, 12, 24, 7, 0, tzinfo=ZoneInfo("UTC"))  # 14:00 WIB
    assert CALENDAR.add(utc, TWO_DAYS) == at(29, 14)


def test_office_hours_must_make_sense():
    with pytest.raises(ValueError):
        WorkingCalendar(start_hour=16, end_hour=8)
