"""SageMaker inference handlers of the demand forecaster: JSON history in, JSON forecast out.

Request:  {"history": [{"date": "2016-04-01", "count": 412}, ...], "horizon_days": 7,
           "country": "KR", "granularity": "daily"}
Hourly requests send {"timestamp": "2016-04-01T09:00", "count": 31} entries instead. Periods
missing between the first and the last entry count as zero tickets. Times are local wall-clock
times; a UTC offset, if given, is dropped.

Response: {"model": "demand", "model_version": "...", "granularity": "daily", "country": "KR",
           "forecast": [{"period": "2016-04-02", "mean": 401.3, "lower_80": 350, "upper_80": 455,
                         "lower_95": 324, "upper_95": 484}, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from ml.demand.forecaster import (
    HOURS_PER_DAY,
    ForecasterConfig,
    forecast_daily,
    forecast_hourly,
)

MODEL_NAME = "demand"
MODEL_FILE = "model.json"
METADATA_FILE = "metadata.json"
JSON_CONTENT_TYPE = "application/json"
GRANULARITIES = ("daily", "hourly")
MAX_HORIZON_DAYS = 28
MAX_HISTORY_ENTRIES = 20_000
_PERIOD_KEYS = {"daily": ("date", "period"), "hourly": ("timestamp", "period")}


@dataclass(frozen=True)
class DemandRequest:
    """A validated forecast request with a contiguous history."""

    granularity: str
    country: str | None
    horizon_days: int
    start: datetime
    counts: np.ndarray


def model_fn(model_dir: str) -> dict:
    """Load model.json (configuration and holiday calendars) and the version from metadata.json."""
    directory = Path(model_dir)
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} not found; train the model with `servicedesk train demand` first")
    model = json.loads(model_path.read_text("utf-8"))
    metadata_path = directory / METADATA_FILE
    if metadata_path.is_file():
        model["version"] = json.loads(metadata_path.read_text("utf-8")).get("version", model["version"])
    model["forecaster_config"] = ForecasterConfig.from_dict(model["config"])
    model["holiday_sets"] = {
        country: {date.fromisoformat(day) for day in days} for country, days in model["calendars"].items()
    }
    return model


def _parse_period(value: object, granularity: str, index: int) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"history[{index}] period must be an ISO 8601 string, got {value!r}")
    try:
        if granularity == "daily":
            return datetime.combine(date.fromisoformat(value), datetime.min.time())
        moment = datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError as error:
        expected = "YYYY-MM-DD" if granularity == "daily" else "YYYY-MM-DDTHH:00"
        raise ValueError(f"history[{index}] period {value!r} is not a valid {expected} value") from error
    if moment.minute or moment.second or moment.microsecond:
        raise ValueError(f"history[{index}] timestamp {value!r} must be on the hour (minutes and seconds 0)")
    return moment


def _parse_history(entries: object, granularity: str) -> tuple[datetime, np.ndarray]:
    """Turn history entries into the first period and a contiguous array of counts."""
    if not isinstance(entries, list) or not entries:
        raise ValueError("history must be a non-empty list of {period, count} objects")
    if len(entries) > MAX_HISTORY_ENTRIES:
        raise ValueError(f"history has {len(entries)} entries, at most {MAX_HISTORY_ENTRIES} are accepted")

    step = timedelta(days=1) if granularity == "daily" else timedelta(hours=1)
    counts: dict[datetime, float] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"history[{index}] must be an object, got {entry!r}")
        key = next((name for name in _PERIOD_KEYS[granularity] if name in entry), None)
        if key is None:
            raise ValueError(f"history[{index}] is missing a {' or '.join(_PERIOD_KEYS[granularity])} field")
        period = _parse_period(entry[key], granularity, index)
        count = entry.get("count")
        if isinstance(count, bool) or not isinstance(count, int | float) or not np.isfinite(count) or count < 0:
            raise ValueError(f"history[{index}] count must be a non-negative number, got {count!r}")
        if period in counts:
            raise ValueError(f"history has two entries for {entry[key]}; send one count per period")
        counts[period] = float(count)

    start, end = min(counts), max(counts)
    length = int((end - start) / step) + 1
    if length > MAX_HISTORY_ENTRIES:
        raise ValueError(f"history spans {length} periods, at most {MAX_HISTORY_ENTRIES} are accepted")
    series = np.zeros(length)
    for period, count in counts.items():
        series[int((period - start) / step)] = count
    return start, series


def input_fn(request_body: str | bytes, content_type: str = JSON_CONTENT_TYPE) -> DemandRequest:
    """Parse and validate a JSON forecast request."""
    if content_type.split(";")[0].strip().lower() != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}")
    if isinstance(request_body, bytes | bytearray):
        request_body = request_body.decode("utf-8")
    try:
        payload = json.loads(request_body)
    except json.JSONDecodeError as error:
        raise ValueError(f"request body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise ValueError("request body must be a JSON object with a history list")

    granularity = payload.get("granularity", "daily")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    horizon = payload.get("horizon_days", 7)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon_days must be an integer from 1 to {MAX_HORIZON_DAYS}, got {horizon!r}")
    country = payload.get("country")
    if country is not None and (not isinstance(country, str) or len(country.strip()) != 2):
        raise ValueError(f"country must be an ISO 3166-1 alpha-2 code such as KR, got {country!r}")

    start, counts = _parse_history(payload.get("history"), granularity)
    return DemandRequest(granularity, country.strip().upper() if country else None, horizon, start, counts)


def _holidays_for(model: dict, country: str, years: range) -> set[date]:
    """Return the holidays of `country` from the artifact, or from the `holidays` package."""
    first, last = model["calendar_years"]
    if country in model["holiday_sets"] and first <= years.start and years.stop - 1 <= last:
        return model["holiday_sets"][country]
    try:
        from ml.demand.holiday_calendar import holiday_dates
    except ImportError as error:
        raise ValueError(
            f"this model stores holiday calendars for {', '.join(sorted(model['holiday_sets']))} in {first}-{last}; "
            f"retrain with --calendars {country} or install the holidays package"
        ) from error
    return holiday_dates(country, years)


def predict_fn(data: DemandRequest, model: dict) -> dict:
    """Forecast the request's horizon and return the response body as a dict."""
    config: ForecasterConfig = model["forecaster_config"]
    country = data.country or model["default_country"]
    step = timedelta(days=1) if data.granularity == "daily" else timedelta(hours=1)
    end = data.start + step * len(data.counts)
    years = range(data.start.year, (end + timedelta(days=data.horizon_days)).year + 1)
    holidays = _holidays_for(model, country, years)

    if data.granularity == "daily":
        keep = min(len(data.counts), config.window_days)
        first = data.start + step * (len(data.counts) - keep)
        days = [(first + timedelta(days=offset)).date() for offset in range(keep)]
        forecast = forecast_daily(days, data.counts[-keep:], data.horizon_days, holidays, config)
        labels = [period.isoformat() for period in forecast.periods]
    else:
        keep = min(len(data.counts), (config.window_days + 1) * HOURS_PER_DAY)
        first = data.start + step * (len(data.counts) - keep)
        forecast = forecast_hourly(first, data.counts[-keep:], data.horizon_days, holidays, config)
        labels = [period.strftime("%Y-%m-%dT%H:00") for period in forecast.periods]

    rows = []
    for index, label in enumerate(labels):
        row = {"period": label, "mean": round(float(forecast.mean[index]), 2)}
        for level in config.interval_levels:
            percent = round(level * 100)
            row[f"lower_{percent}"] = int(forecast.lower[level][index])
            row[f"upper_{percent}"] = int(forecast.upper[level][index])
        rows.append(row)
    return {
        "model": MODEL_NAME,
        "model_version": model["version"],
        "granularity": data.granularity,
        "country": country,
        "forecast": rows,
    }


def output_fn(prediction: dict, accept: str = JSON_CONTENT_TYPE) -> tuple[str, str]:
    """Serialise a prediction as JSON."""
    if accept and accept.split(";")[0].strip().lower() not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; request {JSON_CONTENT_TYPE}")
    return json.dumps(prediction, ensure_ascii=False), JSON_CONTENT_TYPE

