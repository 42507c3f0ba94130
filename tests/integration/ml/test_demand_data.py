"""Demand forecaster on the public ServiceNow incident log (skipped when the data is missing)."""

from __future__ import annotations

import json

import pytest

from ml.demand.data import default_incidents_path, load_opened_times, volume_series
from ml.demand.evaluate import rank_calendars, rolling_origins, score, series_holidays
from ml.demand.inference import input_fn, model_fn, output_fn, predict_fn
from ml.demand.train import main as train_main

pytestmark = pytest.mark.slow
TARGET_MAE_RATIO = 0.85


@pytest.fixture(scope="module")
def series():
    path = default_incidents_path()
    if not path.is_file():
        pytest.skip(f"incident log not found at {path}")
    return volume_series(load_opened_times(path))


def test_dense_period_complete_days(series):
    assert str(series.daily.index[0].date()) == "2016-03-01"
    assert str(series.daily.index[-1].date()) == "2016-05-01"
    assert len(series.hourly) == 24 * len(series.daily)


def test_brazilian_calendar_explains_dips(series):
    ranking = rank_calendars(series.daily, top=5)

    best = [entry["country"] for entry in ranking if entry["f1"] == ranking[0]["f1"]]
    assert "BR" in best
    assert ranking[0]["f1"] == 1.0
    assert next(entry for entry in rank_calendars(series.daily, ["KR"]))["f1"] == 0.0


@pytest.mark.parametrize("granularity", ["daily", "hourly"])
@pytest.mark.parametrize("country", ["BR", "KR"])
def test_beats_seasonal_naive(series, granularity, country):
    metrics = score(rolling_origins(series, series_holidays(series, country), granularity))

    assert metrics["origins"] == 22
    assert metrics["mae_ratio"] <= TARGET_MAE_RATIO
    assert metrics["mase"] < metrics["seasonal_naive_mase"]


@pytest.mark.parametrize("granularity", ["daily", "hourly"])
def test_interval_coverage_near_nominal(series, granularity):
    metrics = score(rolling_origins(series, series_holidays(series, "BR"), granularity))

    assert 0.7 <= metrics["coverage_80"] <= 0.95
    assert 0.88 <= metrics["coverage_95"] <= 1.0


def test_train_and_serve_real_history(series, tmp_path):
    train_main(["--model-dir", str(tmp_path), "--country", "BR"])
    model = model_fn(str(tmp_path))
    history = [
        {"date": stamp.date().isoformat(), "count": int(count)} for stamp, count in series.daily.loc[:"2016-04-20"].items()
    ]

    body, _ = output_fn(predict_fn(input_fn(json.dumps({"history": history, "horizon_days": 7})), model))
    forecast = {row["period"]: row for row in json.loads(body)["forecast"]}

    assert json.loads(body)["country"] == "BR"
    # Tiradentes' Day (Thursday) and the bridge Friday after it had 43 and 100 tickets.
    assert forecast["2016-04-21"]["mean"] < 100
    assert forecast["2016-04-21"]["lower_95"] <= 43 <= forecast["2016-04-21"]["upper_95"]
    assert forecast["2016-04-22"]["mean"] < 200
    assert forecast["2016-04-25"]["mean"] > 300
