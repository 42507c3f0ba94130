"""Unit tests of the streaming anomaly detector, NAB scoring, inference handlers and commands."""

from __future__ import annotations

import argparse
import ast
import json
import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ml.anomaly import commands, detector, inference
from ml.anomaly.baselines import rolling_zscore_scores
from ml.anomaly.detector import (
    DetectorConfig,
    SeriesState,
    StreamingDetector,
    measure_series,
    replay_alert_policy,
    score_series,
)
from ml.anomaly.nab_scoring import (
    PROFILES,
    SeriesResult,
    normalized_score,
    probationary_length,
    scaled_sigmoid,
    score_at_threshold,
    score_corpus,
    score_rows,
    scores_by_threshold,
)

START = datetime(2024, 1, 1)
STANDARD = PROFILES["standard"]


def timeline(rows: int) -> list[datetime]:
    return [START + timedelta(minutes=5 * i) for i in range(rows)]


def series_with_window(rows: int = 1000, start: int = 500, end: int = 599, detections=()) -> SeriesResult:
    timestamps = timeline(rows)
    scores = [0.0] * rows
    for index in detections:
        scores[index] = 1.0
    return SeriesResult(timestamps, scores, [(timestamps[start], timestamps[end])])


def raw_score(series: SeriesResult, threshold: float = 0.5, cost=STANDARD) -> float:
    return score_at_threshold(score_rows("s", series, cost), cost, threshold).score


def noisy_sine(rows: int, seed: int = 7) -> list[float]:
    generator = random.Random(seed)
    return [10.0 + 3.0 * math.sin(2 * math.pi * i / 48) + generator.gauss(0.0, 0.3) for i in range(rows)]


# NAB scoring


def test_scaled_sigmoid_published_points():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.5) == -1.0


def test_probationary_length_rule():
    assert probationary_length(1000) == 150
    assert probationary_length(4032) == 604
    assert probationary_length(15902) == 750


def test_detection_at_window_start_scores_max():
    score = raw_score(series_with_window(detections=[500]))

    assert score == pytest.approx(STANDARD.tp_weight)


def test_later_detection_in_window_scores_less():
    early = raw_score(series_with_window(detections=[520]))
    late = raw_score(series_with_window(detections=[599]))

    assert 0.9 < early < 1.0
    assert 0.0 < late < 0.1
    assert raw_score(series_with_window(detections=[520, 599])) == pytest.approx(early)


def test_detection_after_window_is_false_positive():
    score = raw_score(series_with_window(detections=[700]))

    false_positive = STANDARD.fp_weight * scaled_sigmoid((700 - 599) / 99)
    assert false_positive < 0.0
    assert score == pytest.approx(-STANDARD.fn_weight + false_positive)


def test_false_positive_before_windows_costs_full_weight():
    score = raw_score(series_with_window(detections=[300]))

    assert score == pytest.approx(-STANDARD.fn_weight - STANDARD.fp_weight)


def test_probationary_detections_are_ignored():
    score = raw_score(series_with_window(detections=[10, 100]))

    assert score == pytest.approx(-STANDARD.fn_weight)


def test_threshold_sweep_matches_fixed_thresholds():
    series = series_with_window(detections=[])
    scores = list(series.anomaly_scores)
    scores[520], scores[700], scores[800] = 0.9, 0.6, 0.3
    series = SeriesResult(series.timestamps, scores, series.windows)
    rows = score_rows("s", series, STANDARD)

    sweep = {candidate.threshold: candidate.score for candidate in scores_by_threshold(rows, STANDARD)}

    assert sweep[1.1] == pytest.approx(-1.0)
    assert sweep[0.9] == pytest.approx(raw_score(series, 0.9))
    assert sweep[0.6] == pytest.approx(raw_score(series, 0.6))
    assert raw_score(series, 0.7) == pytest.approx(sweep[0.9])
    assert sweep[0.6] < sweep[0.9]


def test_null_detector_normalises_to_zero():
    corpus = {"a": series_with_window(), "b": series_with_window(start=300, end=340)}

    scores = score_corpus(corpus)

    for profile, result in scores.items():
        assert result.score == pytest.approx(0.0), profile
        assert result.null == pytest.approx(-2 * PROFILES[profile].fn_weight)


def test_perfect_detector_normalises_to_hundred():
    corpus = {
        "a": series_with_window(detections=[500]),
        "b": series_with_window(start=300, end=340, detections=[300]),
    }

    scores = score_corpus(corpus)

    for profile, result in scores.items():
        assert result.score == pytest.approx(100.0), profile


def test_profile_weights_published():
    assert (STANDARD.tp_weight, STANDARD.fp_weight, STANDARD.fn_weight) == (1.0, 0.11, 1.0)
    low_fp = PROFILES["reward_low_FP_rate"]
    low_fn = PROFILES["reward_low_FN_rate"]
    assert (low_fp.tp_weight, low_fp.fp_weight, low_fp.fn_weight) == (1.0, 0.22, 1.0)
    assert (low_fn.tp_weight, low_fn.fp_weight, low_fn.fn_weight) == (1.0, 0.11, 2.0)


def test_normalisation_reproduces_published_scores():
    # Raw corpus totals of numenta/NAB results/<detector>/<detector>_standard_scores.csv (58 files,
    # 116 windows) against results/final_results.json of the same repository.
    assert normalized_score(46.6344501971, -116.0, 116.0) == pytest.approx(70.10105611943965, abs=1e-8)
    assert normalized_score(18.54687659285237, -116.0, 116.0) == pytest.approx(57.99434335898808, abs=1e-8)
    assert normalized_score(19.0245162602, -116.0, 116.0) == pytest.approx(58.20022252594827, abs=1e-8)


def test_corpus_threshold_is_optimised():
    corpus = {
        "a": series_with_window(detections=[]),
        "b": series_with_window(detections=[]),
    }
    scores_a = list(corpus["a"].anomaly_scores)
    scores_a[505] = 0.8
    scores_a[800] = 0.4
    corpus["a"] = SeriesResult(corpus["a"].timestamps, scores_a, corpus["a"].windows)

    result = score_corpus(corpus)["standard"]

    assert result.threshold == 0.8
    assert result.raw == pytest.approx(raw_score(corpus["a"], 0.8) - 1.0)


def test_window_off_the_rows_rejected():
    series = series_with_window()
    bad = SeriesResult(series.timestamps, series.anomaly_scores, [(START - timedelta(days=1), START)])

    with pytest.raises(ValueError, match="does not start and end on rows"):
        score_rows("s", bad, STANDARD)


# Detector


def test_detector_module_imports_stdlib_only():
    tree = ast.parse(Path(detector.__file__).read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])

    assert imported <= {"__future__", "math", "collections", "dataclasses", "datetime", "typing"}


def test_spike_scores_highest_and_alerts():
    values = noisy_sine(1200)
    values[900] += 15.0

    detector_run = StreamingDetector()
    results = [detector_run.update(value) for value in values]
    scores = [result.score for result in results]

    assert max(range(len(scores)), key=scores.__getitem__) in range(900, 910)
    assert any(result.alert for result in results[900:910])
    assert not any(result.alert for result in results[200:880])


def test_level_shift_alerts():
    values = noisy_sine(1200)
    values = values[:800] + [value + 8.0 for value in values[800:]]

    results = [result.alert for result in map(StreamingDetector().update, values)]
    alerts = [index for index, alert in enumerate(results) if alert]

    assert alerts
    assert 800 <= alerts[0] < 850


def test_warmup_scores_zero():
    scores = score_series(noisy_sine(400), DetectorConfig(warmup=150))

    assert scores[:150] == [0.0] * 150
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_state_round_trip_identical_scores():
    values = noisy_sine(1500)
    values[1200] += 12.0
    uninterrupted = score_series(values)

    first = StreamingDetector()
    resumed_scores = [first.update(value).score for value in values[:700]]
    stored = json.dumps(first.state.to_dict())
    second = StreamingDetector(state=SeriesState.from_dict(json.loads(stored)))
    resumed_scores += [second.update(value).score for value in values[700:]]

    assert resumed_scores == uninterrupted


def test_state_json_size_bounded():
    generator = random.Random(3)
    detector_run = StreamingDetector()
    for _ in range(6000):
        detector_run.update(generator.uniform(-1e9, 1e9) * math.pi)

    size = len(json.dumps(detector_run.state.to_dict()).encode())

    assert size < 50_000


def test_replayed_policy_matches_detector():
    values = noisy_sine(1000)
    values[700] += 20.0
    config = DetectorConfig(alert_threshold=0.3)

    replayed = replay_alert_policy(measure_series(values, config), config)

    assert replayed == score_series(values, config)


def test_out_of_order_timestamp_rejected():
    detector_run = StreamingDetector()
    detector_run.update(1.0, START)

    with pytest.raises(ValueError, match="not after the last scored timestamp"):
        detector_run.update(2.0, START)


def test_non_finite_value_rejected():
    with pytest.raises(ValueError, match="finite number"):
        StreamingDetector().update(float("nan"))


def test_invalid_config_rejected():
    with pytest.raises(ValueError, match="alert_threshold"):
        DetectorConfig(alert_threshold=0.0)
    with pytest.raises(ValueError, match="unknown detector settings"):
        DetectorConfig.from_dict({"window": 3})


def test_foreign_state_rejected():
    with pytest.raises(ValueError, match="state version"):
        SeriesState.from_dict({"count": 3})


# Baseline


def test_rolling_zscore_flags_spike():
    values = noisy_sine(300)
    values[250] += 20.0

    scores = rolling_zscore_scores(values, window=50)

    assert scores[:50] == [0.0] * 50
    assert max(range(len(scores)), key=scores.__getitem__) == 250


# Inference handlers


@pytest.fixture()
def model(tmp_path):
    artifact = {"model": "anomaly", "version": "test-1", "config": DetectorConfig().to_dict(), "nab_thresholds": {}}
    (tmp_path / "detector.json").write_text(json.dumps(artifact))
    return inference.model_fn(tmp_path)


def request(points, state=None, series_id="cpu-1"):
    return json.dumps({"series_id": series_id, "state": state, "points": points})


def points_for(values, offset=0):
    return [
        {"timestamp": (START + timedelta(minutes=5 * (offset + i))).isoformat(), "value": value}
        for i, value in enumerate(values)
    ]


def test_inference_batches_continue_state(model):
    values = noisy_sine(600)
    values[500] += 15.0
    whole = json.loads(inference.output_fn(inference.predict_fn(inference.input_fn(request(points_for(values))), model)))

    first = inference.predict_fn(inference.input_fn(request(points_for(values[:300]))), model)
    second_request = request(points_for(values[300:], offset=300), state=json.loads(inference.output_fn(first))["state"])
    second = inference.predict_fn(inference.input_fn(second_request), model)

    assert whole["model"] == "anomaly"
    assert whole["model_version"] == "test-1"
    assert first["scores"] + second["scores"] == whole["scores"]
    assert first["alerts"] + second["alerts"] == whole["alerts"]
    assert any(whole["alerts"][500:510])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        (json.dumps([1]), "JSON object"),
        (json.dumps({"state": None, "points": [{"timestamp": "2024-01-01T00:00:00", "value": 1}]}), "series_id"),
        (json.dumps({"series_id": "a", "state": None, "points": []}), "points is missing"),
        (json.dumps({"series_id": "a", "state": None, "points": [{"timestamp": "yesterday", "value": 1}]}), "ISO 8601"),
        (json.dumps({"series_id": "a", "state": None, "points": [{"timestamp": "2024-01-01", "value": "1"}]}), "number"),
        (json.dumps({"series_id": "a", "state": [], "points": [{"timestamp": "2024-01-01", "value": 1}]}), "state must"),
    ],
)
def test_inference_rejects_bad_input(body, message):
    with pytest.raises(ValueError, match=message):
        inference.input_fn(body, "application/json")


def test_inference_rejects_resent_points(model):
    first = inference.predict_fn(inference.input_fn(request(points_for([1.0, 2.0]))), model)

    with pytest.raises(ValueError, match=r"points\[0\].*not after"):
        inference.predict_fn(inference.input_fn(request(points_for([3.0]), state=first["state"])), model)


def test_inference_rejects_other_content_type():
    with pytest.raises(ValueError, match="content type"):
        inference.input_fn("a,b", "text/csv")


def test_model_fn_missing_artifact(tmp_path):
    with pytest.raises(FileNotFoundError, match="servicedesk train anomaly"):
        inference.model_fn(tmp_path)


# Commands on a tiny corpus in the NAB layout


def write_corpus(root: Path) -> None:
    windows = {}
    for name, spike in (("cat/a.csv", 700), ("cat/b.csv", 800), ("cat/c.csv", None)):
        values = noisy_sine(1000, seed=len(name) + (spike or 0))
        stamps = timeline(1000)
        if spike is not None:
            values[spike] += 15.0
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value"] + [f"{stamp:%Y-%m-%d %H:%M:%S},{value}" for stamp, value in zip(stamps, values)]
        path.write_text("\n".join(lines) + "\n")
        windows[name] = [] if spike is None else [[f"{stamps[spike - 30]:%Y-%m-%d %H:%M:%S}.000000", f"{stamps[spike + 30]:%Y-%m-%d %H:%M:%S}.000000"]]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


def test_train_and_evaluate_commands(tmp_path):
    write_corpus(tmp_path / "nab")
    parser = argparse.ArgumentParser()
    commands.add_train_arguments(parser)
    args = parser.parse_args(["--nab-dir", str(tmp_path / "nab"), "--model-dir", str(tmp_path / "model"), "--workers", "1"])

    trained = commands.train(args)

    assert trained["model"] == "anomaly"
    assert (tmp_path / "model" / "detector.json").is_file()
    assert trained["nab"]["standard"]["score"] > 90.0

    parser = argparse.ArgumentParser()
    commands.add_evaluate_arguments(parser)
    args = parser.parse_args(["--nab-dir", str(tmp_path / "nab"), "--model-dir", str(tmp_path / "model"), "--workers", "1"])
    report = commands.evaluate(args)

    assert report["model_version"] == trained["version"]
    assert report["series"] == 3
    assert report["windows"] == 2
    assert report["detector"]["standard"]["score"] == trained["nab"]["standard"]["score"]
    assert set(report["rolling_zscore"]) == set(PROFILES)
    assert set(report["detector_at_trained_thresholds"]) == set(PROFILES)


def test_train_rejects_missing_corpus(tmp_path):
    parser = argparse.ArgumentParser()
    commands.add_train_arguments(parser)
    args = parser.parse_args(["--nab-dir", str(tmp_path), "--model-dir", str(tmp_path / "model"), "--workers", "1"])

    with pytest.raises(FileNotFoundError, match="windows file not found"):
        commands.train(args)
