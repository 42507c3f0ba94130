"""Business-time arithmetic: weekends, Korean public holidays, time zones and daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from functions.domain.calendars import (
    CALENDARS,
    Calendar,
    add_business_seconds,
    business_seconds_between,
    get_calendar,
    time_zone,
)
from functions.domain.errors import InvalidInputError

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600
KR = CALENDARS["kr-business"]
# Working hours without Korean holidays, for customers abroad.
PLAIN = Calendar("plain", holiday_country=None)
ROUND_THE_CLOCK = Calendar("round", weekdays=frozenset(range(7)), opens=time(0), closes=time(0), holiday_country=None)


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def test_inside_one_working_day() -> None:
    assert business_seconds_between(KR, SEOUL, seoul(2026, 3, 4, 10), seoul(2026, 3, 4, 12)) == 2 * HOUR


def test_hours_outside_working_time_do_not_count() -> None:
    # Wednesday 17:00 to Thursday 10:00: one hour on each day.
    assert business_seconds_between(KR, SEOUL, seoul(2026, 3, 4, 17), seoul(2026, 3, 5, 10)) == 2 * HOUR


def test_weekend_is_skipped() -> None:
    # Friday 17:00 plus two hours ends Monday 10:00.
    due = add_business_seconds(KR, SEOUL, seoul(2026, 3, 6, 17), 2 * HOUR)

    assert due == seoul(2026, 3, 9, 10)


def test_start_before_opening_counts_from_opening() -> None:
    assert add_business_seconds(KR, SEOUL, seoul(2026, 3, 4, 7), HOUR) == seoul(2026, 3, 4, 10)


def test_zero_seconds_returns_start() -> None:
    start = seoul(2026, 3, 7, 23)

    assert add_business_seconds(KR, SEOUL, start, 0) == start


def test_seollal_is_skipped() -> None:
    # Seollal 2026 runs Monday 16 to Wednesday 18 February, so Friday 13 at 17:00 plus two
    # hours lands on Thursday 19 at 10:00.
    due = add_business_seconds(KR, SEOUL, seoul(2026, 2, 13, 17), 2 * HOUR)

    assert due == seoul(2026, 2, 19, 10)


def test_chuseok_is_skipped() -> None:
    # Chuseok 2025 with its eve and substitute day (5 to 8 October) and National Foundation
    # Day (3 October) and Hangul Day (9 October): Thursday 2 October 18:00 to Friday 10 at 09:00
    # has no working time.
    assert business_seconds_between(KR, SEOUL, seoul(2025, 10, 2, 18), seoul(2025, 10, 10, 9)) == 0
    assert add_business_seconds(KR, SEOUL, seoul(2025, 10, 2, 17), 2 * HOUR) == seoul(2025, 10, 10, 10)


def test_substitute_holiday_is_skipped() -> None:
    # Independence Movement Day 2026 is a Sunday; Monday 2 March is its substitute holiday.
    assert business_seconds_between(KR, SEOUL, seoul(2026, 3, 2, 9), seoul(2026, 3, 2, 18)) == 0


def test_same_instant_in_another_zone_gives_same_result() -> None:
    start = seoul(2026, 3, 4, 10).astimezone(UTC)

    assert add_business_seconds(KR, SEOUL, start, HOUR) == seoul(2026, 3, 4, 11)


def test_customer_time_zone_sets_working_hours() -> None:
    # 09:00 in New York on Wednesday 4 March 2026 is 14:00 UTC (EST, UTC-5).
    start = datetime(2026, 3, 4, 9, tzinfo=NEW_YORK)

    due = add_business_seconds(PLAIN, NEW_YORK, start, 9 * HOUR)

    assert due == datetime(2026, 3, 4, 18, tzinfo=NEW_YORK)
    assert due.astimezone(UTC) == datetime(2026, 3, 4, 23, tzinfo=UTC)


def test_working_day_keeps_local_hours_across_spring_forward() -> None:
    # New York moves to daylight time on Sunday 8 March 2026. Friday 17:00 EST plus two
    # business hours is Monday 10:00 EDT, which is 14:00 UTC, not 15:00.
    due = add_business_seconds(PLAIN, NEW_YORK, datetime(2026, 3, 6, 17, tzinfo=NEW_YORK), 2 * HOUR)

    assert due == datetime(2026, 3, 9, 10, tzinfo=NEW_YORK)
    assert due.astimezone(UTC) == datetime(2026, 3, 9, 14, tzinfo=UTC)
    assert due.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-4)


def test_spring_forward_day_is_23_hours() -> None:
    start = datetime(2026, 3, 29, 0, tzinfo=BERLIN)
    end = datetime(2026, 3, 30, 0, tzinfo=BERLIN)

    assert business_seconds_between(ROUND_THE_CLOCK, BERLIN, start, end) == 23 * HOUR


def test_fall_back_day_is_25_hours() -> None:
    start = datetime(2026, 10, 25, 0, tzinfo=BERLIN)
    end = datetime(2026, 10, 26, 0, tzinfo=BERLIN)

    assert business_seconds_between(ROUND_THE_CLOCK, BERLIN, start, end) == 25 * HOUR


def test_add_across_fall_back_counts_absolute_time() -> None:
    # Four hours from 00:30 on the fall-back night end at 03:30 local, because 02:00-03:00 is lived twice.
    due = add_business_seconds(ROUND_THE_CLOCK, BERLIN, datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN), 4 * HOUR)

    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 25, 3, 30)


def test_add_and_measure_agree() -> None:
    start = seoul(2026, 9, 23, 15, 20)
    for seconds in (1, 3 * HOUR, 9 * HOUR, 40 * HOUR, 100 * HOUR):
        due = add_business_seconds(KR, SEOUL, start, seconds)

        assert business_seconds_between(KR, SEOUL, start, due) == seconds, seconds


def test_end_before_start_is_zero() -> None:
    assert business_seconds_between(KR, SEOUL, seoul(2026, 3, 5, 10), seoul(2026, 3, 4, 10)) == 0


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds_between(KR, SEOUL, datetime(2026, 3, 4, 10), seoul(2026, 3, 4, 12))


def test_calendar_without_working_days_rejected() -> None:
    never = Calendar("never", weekdays=frozenset(), holiday_country=None)

    with pytest.raises(InvalidInputError, match="fewer than"):
        add_business_seconds(never, SEOUL, seoul(2026, 3, 4, 10), HOUR)


def test_extra_holidays_are_skipped() -> None:
    company_day = Calendar("company", extra_holidays=frozenset({date(2026, 3, 4)}))

    assert business_seconds_between(company_day, SEOUL, seoul(2026, 3, 4, 9), seoul(2026, 3, 4, 18)) == 0


def test_unknown_calendar_and_zone_rejected() -> None:
    with pytest.raises(InvalidInputError, match="calendar"):
        get_calendar("lunar")
    with pytest.raises(InvalidInputError, match="time zone"):
        time_zone("Mars/Base")
