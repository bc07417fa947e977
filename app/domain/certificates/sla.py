"""Service clocks in working time: Monday to Friday, office hours, public holidays excluded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours in one time zone, with the public holidays on which nobody works."""

    timezone: str = "Asia/Jakarta"
    start_hour: int = 8
    end_hour: int = 16
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self):
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("office hours must start before they end, within one day")

    def is_working_day(self, day: date) -> bool:
        """Return whether ``day`` is a weekday that is not a public holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """Return the office hours of ``day`` as aware datetimes."""
        zone = ZoneInfo(self.timezone)
        return (datetime.combine(day, time(self.start_hour), zone), datetime.combine(day, time(self.end_hour), zone))

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Return the office time between ``start`` and ``end`` (zero when ``end`` is not later)."""
        if end <= start:
            return timedelta(0)
        zone = ZoneInfo(self.timezone)
        total, day = timedelta(0), start.astimezone(zone).date()
        while day <= end.astimezone(zone).date():
            if self.is_working_day(day):
                opens, closes = self._window(day)
                overlap = min(closes, end) - max(opens, start)
                total += max(overlap, timedelta(0))
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, work: timedelta) -> datetime:
        """Return the moment when ``work`` of office time has passed after ``start``."""
        zone = ZoneInfo(self.timezone)
        day, left = start.astimezone(zone).date(), work
        while True:
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(opens, start)
                if begin < closes:
                    if begin + left <= closes:
                        return begin + left
                    left -= closes - begin
            day += timedelta(days=1)

    def remaining(self, start: datetime, work: timedelta, now: datetime) -> timedelta:
        """Return the office time left before the deadline; negative office time past it when late."""
        deadline = self.add(start, work)
        if now <= deadline:
            return self.working_time(now, deadline)
        return -self.working_time(deadline, now)


def calendar() -> WorkingCalendar:
    """Return the working calendar configured for this instance."""
    config = current_app.config
    holidays = frozenset(date.fromisoformat(str(day)) for day in config["PUBLIC_HOLIDAYS"])
    return WorkingCalendar(config["WORK_TIMEZONE"], int(config["WORKDAY_START_HOUR"]),
                           int(config["WORKDAY_END_HOUR"]), holidays)


def migration_work() -> timedelta:
    """Return the office time a migration ticket may take ("2x24 jam hari kerja" = two working days)."""
    config = current_app.config
    hours_a_day = int(config["WORKDAY_END_HOUR"]) - int(config["WORKDAY_START_HOUR"])
    return timedelta(hours=hours_a_day * int(config["MIGRATION_SLA_WORKING_DAYS"]))
