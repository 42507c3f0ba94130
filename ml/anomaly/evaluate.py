"""Run detectors over a corpus in the NAB layout and score them with the NAB method."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from ml.anomaly.baselines import rolling_zscore_scores
from ml.anomaly.detector import DetectorConfig, score_series
from ml.anomaly.nab_corpus import Series, load_corpus
from ml.anomaly.nab_scoring import PROFILES, ProfileScore, SeriesResult, score_corpus

Scorer = Callable[[list[float]], list[float]]


def run_detector(corpus: list[Series], scorer: Scorer, workers: int = 2) -> dict[str, SeriesResult]:
    """Score every series of the corpus with `scorer`, using `workers` processes."""
    value_lists = [series.values for series in corpus]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            score_lists = list(pool.map(scorer, value_lists))
    else:
        score_lists = [scorer(values) for values in value_lists]
    return {
        series.name: SeriesResult(series.timestamps, scores, series.windows)
        for series, scores in zip(corpus, score_lists, strict=True)
    }


def summarize(scores: Mapping[str, ProfileScore]) -> dict[str, Any]:
    """Return the headline numbers of a NAB result as a JSON-serialisable dict."""
    return {
        profile: {
            "score": round(result.score, 2),
            "threshold": result.threshold,
            "raw": round(result.raw, 3),
            "detected_rows_in_windows": result.tp,
            "false_positive_rows": result.fp,
        }
        for profile, result in scores.items()
    }


def evaluate_corpus(
    nab_dir: Path,
    config: DetectorConfig,
    thresholds: Mapping[str, float] | None = None,
    baseline_window: int = 100,
    limit: int | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Score the detector and the rolling z-score baseline on a corpus.

    With `thresholds` the detector is scored at those thresholds (as trained); the corpus-optimal
    thresholds, which is how NAB reports every detector, are always reported too.
    """
    corpus = load_corpus(nab_dir, limit=limit)
    print(f"scoring {len(corpus)} series from {nab_dir}", file=sys.stderr)

    detector_results = run_detector(corpus, partial(score_series, config=config), workers)
    baseline_results = run_detector(corpus, partial(rolling_zscore_scores, window=baseline_window), workers)

    report: dict[str, Any] = {
        "series": len(corpus),
        "windows": sum(len(series.windows) for series in corpus),
        "points": sum(len(series.values) for series in corpus),
        "detector": summarize(score_corpus(detector_results)),
        "rolling_zscore": summarize(score_corpus(baseline_results)),
    }
    if thresholds is not None:
        report["detector_at_trained_thresholds"] = summarize(score_corpus(detector_results, thresholds=thresholds))
    report["profiles"] = list(PROFILES)
    return report
