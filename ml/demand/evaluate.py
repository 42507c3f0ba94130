"""Rolling-origin evaluation of the demand forecaster against a weekly seasonal-naive forecast."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ml.demand.data import VolumeSeries, load_opened_times, volume_series
from ml.demand.forecaster import (
    DAYS_PER_WEEK,
    HOURS_PER_DAY,
    ForecasterConfig,
    forecast_daily,
    forecast_hourly,
    is_bridge_day,
    seasonal_naive,
)
from ml.demand.holiday_calendar import holiday_dates, supported_countries

GRANULARITIES = ("daily", "hourly")
EVALUATION_DAYS = 28
HORIZON_DAYS = 7
# A working day is a dip when its count is below this share of the median of its weekday.
DIP_SHARE = 0.5


@dataclass(frozen=True)
class OriginForecast:
    """Forecasts and actual counts of one rolling origin."""

    origin: date
    actual: np.ndarray
    mean: np.ndarray
    baseline: np.ndarray
    lower: dict[float, np.ndarray]
    upper: dict[float, np.ndarray]
    scale: float


def series_holidays(series: VolumeSeries, country: str, horizon_days: int = HORIZON_DAYS) -> set[date]:
    """Return the holidays of `country` in the years that the series and its horizon touch."""
    first = series.daily.index[0].year
    last = (series.daily.index[-1] + pd.Timedelta(days=horizon_days)).year
    return holiday_dates(country, range(first - 1, last + 2))


def _seasonal_scale(history: np.ndarray, season: int) -> float:
    """Return the in-sample MAE of the seasonal-naive forecast, the MASE denominator."""
    differences = np.abs(history[season:] - history[:-season])
    return float(differences.mean()) if len(differences) and differences.mean() > 0 else 1.0


def rolling_origins(
    series: VolumeSeries,
    holidays: Collection[date],
    granularity: str = "daily",
    config: ForecasterConfig = ForecasterConfig(),
    evaluation_days: int = EVALUATION_DAYS,
    horizon_days: int = HORIZON_DAYS,
) -> list[OriginForecast]:
    """Forecast from every daily origin whose whole horizon lies in the last `evaluation_days`.

    An origin is the midnight that starts its first forecast day; the forecaster and the
    baseline see only the counts before it.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}: use one of {', '.join(GRANULARITIES)}")
    days = [stamp.date() for stamp in series.daily.index]
    daily = series.daily.to_numpy()
    hourly = series.hourly.to_numpy()
    first_origin = len(days) - evaluation_days
    if first_origin < 2 * DAYS_PER_WEEK:
        raise ValueError(
            f"the dense period has {len(days)} complete days; rolling origins over the last {evaluation_days} "
            f"days need at least {evaluation_days + 2 * DAYS_PER_WEEK}"
        )

    results = []
    for origin in range(first_origin, len(days) - horizon_days + 1):
        if granularity == "daily":
            history = daily[:origin]
            actual = daily[origin : origin + horizon_days]
            forecast = forecast_daily(days[:origin], history, horizon_days, holidays, config)
            season = DAYS_PER_WEEK
        else:
            history = hourly[: origin * HOURS_PER_DAY]
            actual = hourly[origin * HOURS_PER_DAY : (origin + horizon_days) * HOURS_PER_DAY]
            start = series.hourly.index[0].to_pydatetime()
            forecast = forecast_hourly(start, history, horizon_days, holidays, config)
            season = DAYS_PER_WEEK * HOURS_PER_DAY
        results.append(
            OriginForecast(
                origin=days[origin],
                actual=actual,
                mean=forecast.mean,
                baseline=seasonal_naive(history, len(actual), season),
                lower=forecast.lower,
                upper=forecast.upper,
                scale=_seasonal_scale(history, season),
            )
        )
    return results


def score(results: Sequence[OriginForecast]) -> dict:
    """Summarise rolling-origin forecasts: MAE, MASE and interval coverage, beside the baseline."""
    actual = np.concatenate([result.actual for result in results])
    scale = np.concatenate([np.full(len(result.actual), result.scale) for result in results])
    model_error = np.abs(np.concatenate([result.mean for result in results]) - actual)
    baseline_error = np.abs(np.concatenate([result.baseline for result in results]) - actual)

    metrics = {
        "origins": len(results),
        "first_origin": results[0].origin.isoformat(),
        "last_origin": results[-1].origin.isoformat(),
        "forecasts": int(len(actual)),
        "mae": float(model_error.mean()),
        "mase": float((model_error / scale).mean()),
        "seasonal_naive_mae": float(baseline_error.mean()),
        "seasonal_naive_mase": float((baseline_error / scale).mean()),
    }
    metrics["mae_ratio"] = metrics["mae"] / metrics["seasonal_naive_mae"]
    for level in results[0].lower:
        lower = np.concatenate([result.lower[level] for result in results])
        upper = np.concatenate([result.upper[level] for result in results])
        metrics[f"coverage_{round(level * 100)}"] = float(np.mean((actual >= lower) & (actual <= upper)))
    return metrics


def rank_calendars(daily: pd.Series, countries: Sequence[str] | None = None, top: int = 5) -> list[dict]:
    """Rank holiday calendars by how well their holidays and bridge days match the weekday dips.

    A dip is a Monday-to-Friday count below DIP_SHARE of the median of its weekday. A calendar
    scores the F1 of "holiday or bridge day" against "dip" over the working days of the series.
    """
    days = [stamp.date() for stamp in daily.index]
    counts = daily.to_numpy()
    weekday = np.array([day.weekday() for day in days])
    medians = {value: np.median(counts[weekday == value]) for value in range(5)}
    working = [index for index, day in enumerate(days) if day.weekday() < 5]
    dips = {days[index] for index in working if counts[index] < DIP_SHARE * medians[weekday[index]]}

    scores = []
    for country in countries or supported_countries():
        holidays = holiday_dates(country, {day.year for day in days})
        flagged = {days[index] for index in working if days[index] in holidays or is_bridge_day(days[index], holidays)}
        matched = len(flagged & dips)
        precision = matched / len(flagged) if flagged else 0.0
        recall = matched / len(dips) if dips else 0.0
        f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
        scores.append(
            {
                "country": country,
                "f1": round(f1, 3),
                "dips_explained": matched,
                "dips": len(dips),
                "flagged_working_days": len(flagged),
                "flagged_days": sorted(day.isoformat() for day in flagged),
            }
        )
    scores.sort(key=lambda entry: (-entry["f1"], entry["country"]))
    return scores[:top]


def evaluate(
    incidents: Path,
    country: str = "KR",
    granularity: str = "daily",
    config: ForecasterConfig = ForecasterConfig(),
    rank_calendars_top: int = 0,
) -> dict:
    """Evaluate the forecaster on an incident log with rolling daily origins over its last four weeks.

    With `rank_calendars_top` > 0 the result also lists the holiday calendars that best explain
    the weekday dips of the log (see `rank_calendars`).
    """
    series = volume_series(load_opened_times(incidents))
    holidays = series_holidays(series, country)
    metrics = score(rolling_origins(series, holidays, granularity, config))
    result = {
        "model": "demand",
        "granularity": granularity,
        "country": country.upper(),
        "dense_period": [series.daily.index[0].date().isoformat(), series.daily.index[-1].date().isoformat()],
        "origin_spacing": "daily",
        "horizon_days": HORIZON_DAYS,
        **metrics,
    }
    if rank_calendars_top > 0:
        result["best_matching_calendars"] = [
            {key: entry[key] for key in ("country", "f1", "dips_explained", "dips", "flagged_working_days")}
            for entry in rank_calendars(series.daily, top=rank_calendars_top)
        ]
    return result
