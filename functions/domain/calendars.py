"""Business-hours calendars: working days and hours in a time zone, minus public holidays.

Working hours are wall-clock times in the customer's time zone. Each working day becomes one
interval of absolute time (UTC), and business time is the overlap with those intervals. So a
daylight-saving change inside the working hours makes that day one hour shorter or longer, and
a change outside them changes nothing. A wall-clock time that does not exist on a spring-forward
day is read with fold=0, which zoneinfo maps to the offset before the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from functions.domain.errors import InvalidInputError

# Maximum days that add_business_seconds walks before it raises, because a calendar without
# working days (or a target of years) would otherwise loop for ever.
MAX_CALENDAR_DAYS = 3 * 366


@dataclass(frozen=True)
class Calendar:
    """Working weekdays (0 is Monday) from `opens` to `closes`, without the public holidays of a country.

    `closes` at midnight (time(0)) means the end of the day, for round-the-clock calendars.
    """

    calendar_id: str
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    holiday_country: str | None = "KR"
    extra_holidays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.weekdays or day in self.extra_holidays:
            return False
        return self.holiday_country is None or day not in _holidays(self.holiday_country, day.year)


# Calendars the SLA policies refer to by id.
CALENDARS: dict[str, Calendar] = {
    "kr-business": Calendar("kr-business"),
    "kr-extended": Calendar("kr-extended", weekdays=frozenset(range(6)), opens=time(8, 0), closes=time(22, 0)),
    "always": Calendar("always", weekdays=frozenset(range(7)), opens=time(0, 0), closes=time(0, 0), holiday_country=None),
}


def get_calendar(calendar_id: str) -> Calendar:
    try:
        return CALENDARS[calendar_id]
    except KeyError:
        raise InvalidInputError(
            f"calendar {calendar_id} is unknown: use one of {', '.join(sorted(CALENDARS))}",
            problem_ko=f"알 수 없는 달력 {calendar_id}입니다. {', '.join(sorted(CALENDARS))} 중 하나를 쓰세요.",
            field="calendar_id",
        ) from None


def time_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone `name`; raise InvalidInputError when the tz database lacks it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInputError(
            f"time zone {name} is unknown: use an IANA name such as Asia/Seoul",
            problem_ko=f"알 수 없는 시간대 {name}입니다. Asia/Seoul 같은 IANA 이름을 쓰세요.",
            field="time_zone",
        ) from error


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    # The package computes lunar-calendar holidays (Seollal, Chuseok) and substitute days per year.
    return holidays.country_holidays(country, years=year)


def working_intervals(calendar: Calendar, zone: ZoneInfo, start_day: date) -> Iterator[tuple[datetime, datetime]]:
    """Yield the working intervals in UTC from local day `start_day` on, at most MAX_CALENDAR_DAYS days."""
    for offset in range(MAX_CALENDAR_DAYS):
        day = start_day + timedelta(days=offset)
        if not calendar.is_working_day(day):
            continue
        opens = datetime.combine(day, calendar.opens, tzinfo=zone)
        closes_day = day + timedelta(days=1) if calendar.closes == time(0) else day
        closes = datetime.combine(closes_day, calendar.closes, tzinfo=zone)
        yield opens.astimezone(UTC), closes.astimezone(UTC)


def business_seconds_between(calendar: Calendar, zone: ZoneInfo, start: datetime, end: datetime) -> int:
    """Return the whole business seconds of `calendar` from `start` to `end` (0 when end is not later)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0
    total = 0.0
    # The day before covers a working interval that began yesterday local time.
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    for opens, closes in working_intervals(calendar, zone, first_day):
        if opens >= end:
            break
        overlap = (min(closes, end) - max(opens, start)).total_seconds()
        if overlap > 0:
            total += overlap
    return int(total)


def add_business_seconds(calendar: Calendar, zone: ZoneInfo, start: datetime, seconds: int) -> datetime:
    """Return the instant at which `seconds` business seconds of `calendar` have passed since `start`.

    Zero seconds outside working hours gives `start` itself. Raises InvalidInputError when the
    calendar has too few working hours within MAX_CALENDAR_DAYS days.
    """
    start = _utc(start)
    remaining = float(seconds)
    if remaining <= 0:
        return start
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    for opens, closes in working_intervals(calendar, zone, first_day):
        if closes <= start:
            continue
        begin = max(opens, start)
        available = (closes - begin).total_seconds()
        if remaining <= available:
            return begin + timedelta(seconds=remaining)
        remaining -= available
    raise InvalidInputError(
        f"calendar {calendar.calendar_id} has fewer than {seconds} working seconds within {MAX_CALENDAR_DAYS} days",
        problem_ko=f"달력 {calendar.calendar_id}의 {MAX_CALENDAR_DAYS}일 안 근무 시간이 {seconds}초보다 짧습니다.",
        field="calendar_id",
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business time needs timezone-aware datetimes")
    return moment.astimezone(UTC)
