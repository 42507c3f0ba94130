"""Public holiday dates from the `holidays` package, by ISO 3166 country code."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays

DEFAULT_COUNTRY = "KR"


def holiday_dates(country: str, years: Iterable[int]) -> set[date]:
    """Return the public holidays of `country` in `years`.

    Raises ValueError for a country code that the `holidays` package does not support.
    """
    code = country.strip().upper()
    try:
        calendar = holidays.country_holidays(code, years=sorted(set(years)))
    except NotImplementedError as error:
        raise ValueError(
            f"unknown holiday calendar {country!r}: use an ISO 3166-1 alpha-2 code that the holidays "
            f"package supports, such as KR, US or BR"
        ) from error
    return set(calendar.keys())


def supported_countries() -> list[str]:
    """Return the ISO 3166-1 alpha-2 codes that have a holiday calendar."""
    return sorted(code for code in holidays.list_supported_countries() if len(code) == 2)
