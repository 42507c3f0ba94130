"""Streaming anomaly detector on the NAB corpus (skipped when the data is missing)."""

from __future__ import annotations

import json
from functools import partial

import pytest

from ml.anomaly.baselines import rolling_zscore_scores
from ml.anomaly.detector import DetectorConfig, SeriesState, StreamingDetector, score_series
from ml.anomaly.evaluate import run_detector
from ml.anomaly.nab_corpus import load_corpus
from ml.anomaly.nab_scoring import PROFILES, score_corpus
from ml.common.datasets import dataset_path

pytestmark = pytest.mark.slow
STANDARD_ONLY = {"standard": PROFILES["standard"]}


@pytest.fixture(scope="module")
def corpus():
    nab_dir = dataset_path("nab")
    if not (nab_dir / "labels" / "combined_windows.json").is_file():
        pytest.skip(f"NAB corpus not found at {nab_dir}")
    return load_corpus(nab_dir)


def test_corpus_layout(corpus):
    assert len(corpus) == 51
    assert sum(len(series.windows) for series in corpus) == 97


def test_detector_beats_rolling_zscore(corpus):
    detector_results = run_detector(corpus, partial(score_series, config=DetectorConfig()))
    baseline_results = run_detector(corpus, partial(rolling_zscore_scores, window=100))

    detector_score = score_corpus(detector_results, STANDARD_ONLY)["standard"].score
    baseline_score = score_corpus(baseline_results, STANDARD_ONLY)["standard"].score

    # Measured 58.2 against 27.9 on this corpus; the margins catch regressions, not noise.
    assert detector_score > 55.0
    assert detector_score > baseline_score + 20.0


def test_state_small_and_resumable_on_longest_series(corpus):
    series = max(corpus, key=lambda item: len(item.values))
    half = len(series.values) // 2
    uninterrupted = score_series(series.values)

    first = StreamingDetector()
    scores = [first.update(value, stamp).score for value, stamp in zip(series.values[:half], series.timestamps[:half])]
    stored = json.dumps(first.state.to_dict())
    second = StreamingDetector(state=SeriesState.from_dict(json.loads(stored)))
    scores += [second.update(value, stamp).score for value, stamp in zip(series.values[half:], series.timestamps[half:])]

    assert len(stored.encode()) < 50_000
    assert scores == uninterrupted
