"""Train the demand forecaster (SageMaker script mode).

The forecaster is refitted on the history sent with every request, so training does not learn
weights: it fixes the hyperparameters, stores the holiday calendars that inference needs (the
SageMaker scikit-learn container has no `holidays` package), and records the rolling-origin
backtest of the training log in metadata.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ml.common.artifacts import fingerprint_files, model_dir, write_metadata
from ml.demand.data import default_incidents_path, incident_files, load_opened_times, volume_series
from ml.demand.evaluate import rolling_origins, score, series_holidays
from ml.demand.forecaster import ForecasterConfig, fit_daily
from ml.demand.holiday_calendar import DEFAULT_COUNTRY, holiday_dates

MODEL_NAME = "demand"
MODEL_FILE = "model.json"
# Calendars are stored from the year before the training data up to this many years after the
# training run, so the artifact serves requests for years to come.
CALENDAR_YEARS_AHEAD = 10


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the holiday calendar and the forecaster hyperparameters to a parser."""
    defaults = ForecasterConfig()
    parser.add_argument(
        "--country",
        default=DEFAULT_COUNTRY,
        help=f"ISO 3166-1 alpha-2 code of the public holiday calendar (default {DEFAULT_COUNTRY})",
    )
    parser.add_argument("--window-days", type=int, default=defaults.window_days, help="days of history the model is fitted on")
    parser.add_argument(
        "--half-life-days",
        type=float,
        default=defaults.half_life_days,
        help="age in days at which a day's weight in the fit halves",
    )
    parser.add_argument(
        "--holiday-penalty",
        type=float,
        default=defaults.holiday_penalty,
        help="ridge penalty on the learned holiday adjustment (log scale)",
    )
    parser.add_argument(
        "--bridge-penalty",
        type=float,
        default=defaults.bridge_penalty,
        help="ridge penalty on the learned bridge-day adjustment (log scale)",
    )
    parser.add_argument(
        "--trend-penalty",
        type=float,
        default=defaults.trend_penalty,
        help="ridge penalty on the weekly trend (log scale per week)",
    )


def config_from_arguments(args: argparse.Namespace) -> ForecasterConfig:
    """Build the forecaster configuration from parsed arguments."""
    return ForecasterConfig(
        window_days=args.window_days,
        half_life_days=args.half_life_days,
        holiday_penalty=args.holiday_penalty,
        bridge_penalty=args.bridge_penalty,
        trend_penalty=args.trend_penalty,
    )


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the input, output and calendar arguments of a training run."""
    parser.add_argument(
        "--incidents",
        type=Path,
        default=os.environ.get("SM_CHANNEL_INCIDENTS") or default_incidents_path(),
        help="incident event log: a CSV file or a folder of CSV files (default: the public ServiceNow log)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=os.environ.get("SM_MODEL_DIR") or model_dir(MODEL_NAME),
        help="folder the artifact is written to",
    )
    parser.add_argument(
        "--calendars",
        default="",
        help="extra comma-separated country codes whose holiday calendars the artifact stores",
    )
    add_model_arguments(parser)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train(args: argparse.Namespace) -> dict:
    """Backtest on the incident log and write model.json and metadata.json; return the metadata."""
    started = time.perf_counter()
    config = config_from_arguments(args)
    country = args.country.strip().upper()
    countries = sorted({DEFAULT_COUNTRY, country} | {code.strip().upper() for code in args.calendars.split(",") if code.strip()})

    _log(f"reading incidents from {args.incidents}")
    series = volume_series(load_opened_times(args.incidents))
    holidays = series_holidays(series, country)

    metrics = {}
    for granularity in ("daily", "hourly"):
        _log(f"backtesting {granularity} forecasts with the {country} calendar")
        metrics[granularity] = score(rolling_origins(series, holidays, granularity, config))

    days = [stamp.date() for stamp in series.daily.index]
    fit = fit_daily(days, series.daily.to_numpy(), holidays, config)
    first_year = days[0].year - 1
    last_year = max(days[-1].year, datetime.now(UTC).year) + CALENDAR_YEARS_AHEAD
    calendars = {
        code: sorted(day.isoformat() for day in holiday_dates(code, range(first_year, last_year + 1)))
        for code in countries
    }

    fingerprint = fingerprint_files(incident_files(args.incidents))
    version = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{fingerprint[:8]}"
    model = {
        "name": MODEL_NAME,
        "version": version,
        "default_country": country,
        "config": config.to_dict(),
        "calendar_years": [first_year, last_year],
        "calendars": calendars,
    }
    args.model_dir.mkdir(parents=True, exist_ok=True)
    (args.model_dir / MODEL_FILE).write_text(json.dumps(model, indent=1) + "\n", "utf-8")

    return write_metadata(
        args.model_dir,
        name=MODEL_NAME,
        version=version,
        metrics=metrics,
        country=country,
        calendars=countries,
        dense_period=[days[0].isoformat(), days[-1].isoformat()],
        fitted_on_whole_period={
            "day_of_week_effects": [round(float(value), 4) for value in fit.day_of_week_effects],
            "holiday_effect": round(fit.holiday_effect, 4),
            "bridge_effect": round(fit.bridge_effect, 4),
            "dispersion_alpha": round(fit.alpha, 5),
        },
        config=config.to_dict(),
        data_fingerprint=fingerprint,
        training_seconds=round(time.perf_counter() - started, 2),
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Train the ticket demand forecaster.")
    add_training_arguments(parser)
    metadata = train(parser.parse_args(argv))
    print(json.dumps(metadata, ensure_ascii=False))
    return metadata


if __name__ == "__main__":
    main()
