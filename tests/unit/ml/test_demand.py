"""Unit tests of the demand forecaster on synthetic series with known levels and holidays."""

from __future__ import annotations

import argparse
import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ml.demand import commands
from ml.demand.data import load_opened_times, volume_series
from ml.demand.evaluate import OriginForecast, rank_calendars, score
from ml.demand.forecaster import (
    ForecasterConfig,
    fit_daily,
    forecast_daily,
    forecast_hourly,
    is_bridge_day,
    negative_binomial_quantiles,
    seasonal_naive,
)
from ml.demand.holiday_calendar import holiday_dates
from ml.demand.inference import input_fn, model_fn, output_fn, predict_fn

WEEKDAY_LEVEL = 400.0
WEEKEND_LEVEL = 50.0
# Monday 2024-01-01 starts every synthetic series.
FIRST_DAY = date(2024, 1, 1)


def synthetic_days(length: int, holidays: set[date] = frozenset(), working_holidays: bool = False, seed: int = 0):
    """Return `length` days of Poisson counts: 400 on working days, 50 on weekends and holidays."""
    rng = np.random.default_rng(seed)
    days = [FIRST_DAY + timedelta(days=offset) for offset in range(length)]
    levels = []
    for day in days:
        day_off = day.weekday() >= 5 or (day in holidays and not working_holidays)
        levels.append(WEEKEND_LEVEL if day_off else WEEKDAY_LEVEL)
    return days, rng.poisson(levels).astype(float)


def hourly_shape() -> np.ndarray:
    """Return a 24-hour profile with office hours 8:00 to 17:59 and a quiet night."""
    shape = np.full(24, 0.2)
    shape[8:18] = 5.0
    return shape / shape.sum()


def synthetic_hours(length_days: int, seed: int = 0) -> tuple[datetime, np.ndarray]:
    days, counts = synthetic_days(length_days, seed=seed)
    rng = np.random.default_rng(seed + 1)
    hours = np.concatenate([rng.multinomial(int(count), hourly_shape()) for count in counts]).astype(float)
    return datetime.combine(days[0], datetime.min.time()), hours


# --- calendar features -------------------------------------------------------------------------


def test_bridge_day_between_holiday_and_weekend():
    thursday_holiday = {date(2024, 2, 1)}

    assert is_bridge_day(date(2024, 2, 2), thursday_holiday)
    assert not is_bridge_day(date(2024, 2, 2), set())
    assert not is_bridge_day(date(2024, 2, 1), thursday_holiday)
    assert not is_bridge_day(date(2024, 1, 31), thursday_holiday)


def test_bridge_day_monday_before_tuesday_holiday():
    assert is_bridge_day(date(2024, 2, 5), {date(2024, 2, 6)})


# --- daily forecasts ---------------------------------------------------------------------------


def test_daily_forecast_recovers_weekly_levels():
    days, counts = synthetic_days(56)

    forecast = forecast_daily(days, counts, 7, set())

    weekdays = [index for index, day in enumerate(forecast.periods) if day.weekday() < 5]
    weekends = [index for index, day in enumerate(forecast.periods) if day.weekday() >= 5]
    assert forecast.periods[0] == days[-1] + timedelta(days=1)
    assert len(forecast.periods) == 7
    np.testing.assert_allclose(forecast.mean[weekdays], WEEKDAY_LEVEL, rtol=0.06)
    np.testing.assert_allclose(forecast.mean[weekends], WEEKEND_LEVEL, rtol=0.15)


def test_holiday_dip_predicted_only_with_calendar():
    past_holiday = date(2024, 2, 7)
    coming_holiday = date(2024, 2, 28)
    calendar = {past_holiday, coming_holiday}
    days, counts = synthetic_days(56, holidays={past_holiday})
    horizon_index = (coming_holiday - days[-1]).days - 1

    with_calendar = forecast_daily(days, counts, 7, calendar)
    without_calendar = forecast_daily(days, counts, 7, set())

    assert with_calendar.mean[horizon_index] < 1.5 * WEEKEND_LEVEL
    assert without_calendar.mean[horizon_index] > 0.9 * WEEKDAY_LEVEL


def test_unseen_holiday_still_predicted_as_dip():
    coming_holiday = date(2024, 2, 28)
    days, counts = synthetic_days(56)

    forecast = forecast_daily(days, counts, 7, {coming_holiday})

    assert forecast.mean[(coming_holiday - days[-1]).days - 1] < 1.5 * WEEKEND_LEVEL


def test_holidays_worked_in_history_are_learned():
    past_holidays = {date(2024, 1, 10), date(2024, 2, 7)}
    coming_holiday = date(2024, 2, 28)
    days, counts = synthetic_days(56, holidays=past_holidays, working_holidays=True)

    forecast = forecast_daily(days, counts, 7, past_holidays | {coming_holiday})

    assert forecast.mean[(coming_holiday - days[-1]).days - 1] > 0.8 * WEEKDAY_LEVEL


def test_bridge_day_predicted_between_levels():
    thursday_holiday = date(2024, 2, 29)
    days, counts = synthetic_days(57)

    forecast = forecast_daily(days, counts, 7, {thursday_holiday})

    friday = forecast.mean[forecast.periods.index(date(2024, 3, 1))]
    assert 1.5 * WEEKEND_LEVEL < friday < 0.7 * WEEKDAY_LEVEL


def test_unexplained_dip_not_repeated_next_week():
    days, counts = synthetic_days(56)
    counts[-5] = WEEKEND_LEVEL

    forecast = forecast_daily(days, counts, 7, set())
    baseline = seasonal_naive(counts, 7, 7)

    assert forecast.mean[2] > 0.9 * WEEKDAY_LEVEL
    assert baseline[2] == WEEKEND_LEVEL


def test_robust_fit_down_weights_unexplained_dip():
    days, counts = synthetic_days(56)
    counts[-5] = 0.0

    fit = fit_daily(days, counts, set())

    assert fit.robust_weights[-5] == 0.0
    assert np.median(fit.robust_weights) > 0.9


def test_intervals_nested_and_ordered():
    days, counts = synthetic_days(56)

    forecast = forecast_daily(days, counts, 7, set())

    assert np.all(forecast.lower[0.95] <= forecast.lower[0.8])
    assert np.all(forecast.lower[0.8] <= forecast.mean)
    assert np.all(forecast.mean <= forecast.upper[0.8])
    assert np.all(forecast.upper[0.8] <= forecast.upper[0.95])


def test_intervals_cover_poisson_counts():
    hits = {0.8: 0, 0.95: 0}
    total = 0
    for seed in range(12):
        days, counts = synthetic_days(63, seed=seed)
        forecast = forecast_daily(days[:56], counts[:56], 7, set())
        for level in hits:
            inside = (counts[56:] >= forecast.lower[level]) & (counts[56:] <= forecast.upper[level])
            hits[level] += int(inside.sum())
        total += 7

    assert 0.7 <= hits[0.8] / total <= 0.97
    assert hits[0.95] / total >= 0.88


def test_short_history_rejected():
    days, counts = synthetic_days(10)

    with pytest.raises(ValueError, match="at least 14"):
        forecast_daily(days, counts, 7, set())


def test_negative_counts_rejected():
    days, counts = synthetic_days(28)
    counts[3] = -1

    with pytest.raises(ValueError, match="non-negative"):
        forecast_daily(days, counts, 7, set())


def test_config_rejects_invalid_levels():
    with pytest.raises(ValueError, match="between 0 and 1"):
        ForecasterConfig(interval_levels=(0.8, 1.5))


# --- quantiles and baseline --------------------------------------------------------------------


@pytest.mark.parametrize("mean", [0.3, 4.0, 37.5, 420.0])
@pytest.mark.parametrize("alpha", [0.0, 0.02, 0.5])
@pytest.mark.parametrize("probability", [0.025, 0.1, 0.9, 0.975])
def test_negative_binomial_quantiles_match_scipy(mean, alpha, probability):
    if alpha == 0:
        expected = stats.poisson.ppf(probability, mean)
    else:
        size = 1 / alpha
        expected = stats.nbinom.ppf(probability, size, size / (size + mean))

    assert negative_binomial_quantiles(np.array([mean]), alpha, probability)[0] == expected


def test_seasonal_naive_repeats_last_week():
    counts = np.arange(14, dtype=float)

    np.testing.assert_array_equal(seasonal_naive(counts, 9, 7), [7, 8, 9, 10, 11, 12, 13, 7, 8])


# --- hourly forecasts --------------------------------------------------------------------------


def test_hourly_forecast_follows_profile_and_daily_total():
    start, hours = synthetic_hours(56)

    forecast = forecast_hourly(start, hours, 7, set())
    daily_forecast = forecast_daily(
        [start.date() + timedelta(days=offset) for offset in range(56)], hours.reshape(56, 24).sum(axis=1), 7, set()
    )

    assert forecast.periods[0] == start + timedelta(days=56)
    assert len(forecast.periods) == 7 * 24
    np.testing.assert_allclose(forecast.mean.reshape(7, 24).sum(axis=1), daily_forecast.mean, rtol=1e-6)
    monday = forecast.mean[:24]
    assert monday[10] > 10 * monday[3]
    assert np.all(forecast.lower[0.95] <= forecast.upper[0.95])


def test_hourly_forecast_continues_partial_day():
    start, hours = synthetic_hours(57)
    history = hours[: 56 * 24 + 11]

    forecast = forecast_hourly(start, history, 1, set())

    assert forecast.periods[0] == start + timedelta(days=56, hours=11)
    assert len(forecast.periods) == 24


def test_hourly_holiday_uses_sunday_level():
    start, hours = synthetic_hours(56)
    holiday = (start + timedelta(days=58)).date()

    forecast = forecast_hourly(start, hours, 7, {holiday})

    by_day = forecast.mean.reshape(7, 24).sum(axis=1)
    assert by_day[2] < 1.5 * WEEKEND_LEVEL
    assert by_day[1] > 0.9 * WEEKDAY_LEVEL


# --- holiday calendars -------------------------------------------------------------------------


def test_holiday_dates_korea():
    korean = holiday_dates("kr", [2024])

    assert date(2024, 3, 1) in korean
    assert date(2024, 10, 9) in korean
    assert date(2024, 7, 4) not in korean


def test_unknown_country_rejected():
    with pytest.raises(ValueError, match="unknown holiday calendar 'ZZ'"):
        holiday_dates("ZZ", [2024])


def test_rank_calendars_finds_country_of_dips():
    korean = holiday_dates("KR", [2024])
    days, counts = synthetic_days(120, holidays=korean)
    daily = pd.Series(counts, index=pd.DatetimeIndex(days))

    ranking = rank_calendars(daily, ["US", "KR", "GB"], top=3)

    assert ranking[0]["country"] == "KR"
    assert ranking[0]["f1"] == 1.0
    assert ranking[1]["f1"] < 1.0


# --- scoring -----------------------------------------------------------------------------------


def test_score_reports_errors_against_baseline():
    result = OriginForecast(
        origin=date(2024, 3, 4),
        actual=np.array([10.0, 20.0]),
        mean=np.array([12.0, 20.0]),
        baseline=np.array([10.0, 30.0]),
        lower={0.8: np.array([11.0, 15.0])},
        upper={0.8: np.array([13.0, 25.0])},
        scale=2.0,
    )

    metrics = score([result])

    assert metrics["mae"] == 1.0
    assert metrics["seasonal_naive_mae"] == 5.0
    assert metrics["mae_ratio"] == 0.2
    assert metrics["mase"] == 0.5
    assert metrics["seasonal_naive_mase"] == 2.5
    assert metrics["coverage_80"] == 0.5


# --- incident logs, training and inference -----------------------------------------------------


def write_incident_log(path: Path, days: int = 56, partial_last_day: bool = True) -> Path:
    """Write an incident event log in the ServiceNow export format with two rows per incident."""
    rng = np.random.default_rng(7)
    rows = []
    number = 0
    for offset in range(days):
        day = datetime(2024, 1, 1) + timedelta(days=offset)
        count = rng.poisson(40 if day.weekday() < 5 else 5)
        for _ in range(count):
            number += 1
            opened = day + timedelta(hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60)))
            stamp = f"{opened.day}/{opened.month}/{opened.year} {opened.hour:02d}:{opened.minute:02d}"
            rows.append({"number": f"INC{number:07d}", "incident_state": "New", "opened_at": stamp})
            rows.append({"number": f"INC{number:07d}", "incident_state": "Closed", "opened_at": stamp})
    if partial_last_day:
        last = datetime(2024, 1, 1) + timedelta(days=days)
        rows.append({"number": "INC9999999", "incident_state": "New", "opened_at": f"{last.day}/{last.month}/2024 00:30"})
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["number", "incident_state", "opened_at"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_volume_series_counts_distinct_incidents(tmp_path):
    log = write_incident_log(tmp_path / "log.csv", days=20, partial_last_day=False)
    incidents = pd.read_csv(log).drop_duplicates("number")

    opened_days = pd.to_datetime(incidents["opened_at"], format="%d/%m/%Y %H:%M").dt.normalize()

    series = volume_series(load_opened_times(log))

    inside = opened_days.between(series.daily.index[0], series.daily.index[-1])
    assert series.daily.sum() == inside.sum()
    assert len(series.hourly) == 24 * len(series.daily)
    assert series.hourly.sum() == series.daily.sum()


def test_volume_series_drops_partial_last_day(tmp_path):
    log = write_incident_log(tmp_path / "log.csv", days=20, partial_last_day=True)

    series = volume_series(load_opened_times(log))

    assert series.daily.index[-1] == pd.Timestamp("2024-01-20")


def test_incident_log_missing_column_rejected(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("number,created\nINC1,1/1/2024 10:00\n")

    with pytest.raises(ValueError, match="missing the column"):
        load_opened_times(log)


def test_incident_log_bad_timestamp_rejected(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("number,opened_at\nINC1,2024-01-01T10:00\n")

    with pytest.raises(ValueError, match="not D/M/YYYY HH:MM"):
        load_opened_times(log)


@pytest.fixture(scope="module")
def trained_model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demand")
    log = write_incident_log(folder / "log.csv")
    parser = argparse.ArgumentParser()
    commands.add_train_arguments(parser)

    commands.train(parser.parse_args(["--incidents", str(log), "--model-dir", str(folder / "model"), "--calendars", "us"]))

    return folder / "model"


def test_train_writes_artifact_and_metrics(trained_model_dir):
    metadata = json.loads((trained_model_dir / "metadata.json").read_text())
    model = json.loads((trained_model_dir / "model.json").read_text())

    assert metadata["name"] == "demand"
    assert metadata["metrics"]["daily"]["origins"] == 22
    assert metadata["metrics"]["hourly"]["forecasts"] == 22 * 7 * 24
    assert set(model["calendars"]) == {"KR", "US"}
    assert "2024-03-01" in model["calendars"]["KR"]


def test_evaluate_command_returns_metrics(tmp_path):
    log = write_incident_log(tmp_path / "log.csv")
    parser = argparse.ArgumentParser()
    commands.add_evaluate_arguments(parser)

    metrics = commands.evaluate(parser.parse_args(["--incidents", str(log), "--country", "US", "--rank-calendars", "0"]))

    assert metrics["country"] == "US"
    assert metrics["origins"] == 22
    assert metrics["mae"] > 0
    assert "best_matching_calendars" not in metrics


def daily_request(days: int = 28, start: date = FIRST_DAY, **fields) -> str:
    """Return a request body with 400 tickets on weekdays and 50 on weekends."""
    history = [
        {"date": (start + timedelta(days=offset)).isoformat(), "count": 400 if (start + timedelta(days=offset)).weekday() < 5 else 50}
        for offset in range(days)
    ]
    return json.dumps({"history": history, **fields})


def test_inference_daily_round_trip(trained_model_dir):
    model = model_fn(str(trained_model_dir))

    body, content_type = output_fn(predict_fn(input_fn(daily_request(country="KR"), "application/json"), model))
    response = json.loads(body)

    assert content_type == "application/json"
    assert response["model"] == "demand"
    assert response["model_version"] == json.loads((trained_model_dir / "metadata.json").read_text())["version"]
    assert [row["period"] for row in response["forecast"]][:2] == ["2024-01-29", "2024-01-30"]
    assert set(response["forecast"][0]) == {"period", "mean", "lower_80", "upper_80", "lower_95", "upper_95"}
    assert response["forecast"][0]["mean"] == pytest.approx(400, rel=0.05)


def test_inference_uses_requested_calendar(trained_model_dir):
    model = model_fn(str(trained_model_dir))
    # 2024-01-15 to 2024-02-08 contains no Korean holiday, so the Korean dips come from the calendar.
    korea_request = daily_request(days=25, start=date(2024, 1, 15), horizon_days=22, country="KR")
    united_states_request = daily_request(days=25, start=date(2024, 1, 15), horizon_days=22, country="US")

    korea = predict_fn(input_fn(korea_request), model)["forecast"]
    united_states = predict_fn(input_fn(united_states_request), model)["forecast"]

    # 2024-03-01 is Independence Movement Day in Korea and a working Friday in the US.
    assert korea[-1]["period"] == "2024-03-01"
    assert korea[-1]["mean"] < 100
    assert united_states[-1]["mean"] > 350


def test_inference_hourly_periods(trained_model_dir):
    start, hours = synthetic_hours(20)
    history = [
        {"timestamp": (start + timedelta(hours=offset)).isoformat(), "count": int(count)}
        for offset, count in enumerate(hours)
        if count or offset == len(hours) - 1
    ]
    request = json.dumps({"history": history, "granularity": "hourly", "horizon_days": 2, "country": "US"})

    response = predict_fn(input_fn(request), model_fn(str(trained_model_dir)))

    assert len(response["forecast"]) == 48
    assert response["forecast"][0]["period"] == "2024-01-21T00:00"
    assert response["forecast"][10]["mean"] > response["forecast"][3]["mean"]


def test_inference_fills_missing_days_with_zero():
    history = json.loads(daily_request(days=20))["history"]
    del history[5]

    request = input_fn(json.dumps({"history": history}))

    assert len(request.counts) == 20
    assert request.counts[5] == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"history": []}, "non-empty list"),
        ({"history": [{"date": "2024-01-01", "count": -3}]}, "non-negative"),
        ({"history": [{"date": "2024-01-01"}]}, "non-negative"),
        ({"history": [{"when": "2024-01-01", "count": 1}]}, "missing a date"),
        ({"history": [{"date": "01/02/2024", "count": 1}]}, "not a valid YYYY-MM-DD"),
        ({"history": [{"date": "2024-01-01", "count": 1}] * 2}, "two entries"),
        ({"history": [{"date": "2024-01-01", "count": 1}], "granularity": "weekly"}, "granularity"),
        ({"history": [{"date": "2024-01-01", "count": 1}], "horizon_days": 0}, "horizon_days"),
        ({"history": [{"date": "2024-01-01", "count": 1}], "country": "Korea"}, "alpha-2"),
        (
            {"history": [{"timestamp": "2024-01-01T10:30", "count": 1}], "granularity": "hourly"},
            "on the hour",
        ),
    ],
)
def test_inference_rejects_invalid_request(payload, message):
    with pytest.raises(ValueError, match=message):
        input_fn(json.dumps(payload), "application/json")


def test_inference_rejects_short_history(trained_model_dir):
    with pytest.raises(ValueError, match="at least 14"):
        predict_fn(input_fn(daily_request(days=10)), model_fn(str(trained_model_dir)))


def test_inference_rejects_other_content_type():
    with pytest.raises(ValueError, match="content type"):
        input_fn("date,count\n", "text/csv")


def test_inference_calendar_outside_artifact(trained_model_dir):
    # The artifact stores KR and US, so JP comes from the holidays package.
    request = daily_request(days=28, start=date(2024, 4, 1), horizon_days=7, country="JP")

    forecast = {row["period"]: row for row in predict_fn(input_fn(request), model_fn(str(trained_model_dir)))["forecast"]}

    # 2024-05-03 (Friday) is Constitution Memorial Day in Japan.
    assert forecast["2024-05-03"]["mean"] < 100
    assert forecast["2024-05-02"]["mean"] > 300


def test_inference_rejects_unknown_country(trained_model_dir):
    with pytest.raises(ValueError, match="unknown holiday calendar 'ZZ'"):
        predict_fn(input_fn(daily_request(country="ZZ")), model_fn(str(trained_model_dir)))
