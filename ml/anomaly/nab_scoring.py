"""Numenta Anomaly Benchmark (NAB) scoring, as published in numenta/NAB v1.1.

The rules follow `nab/sweeper.py`, `nab/optimizer.py`, `nab/scorer.py` and the normalisation in
`nab/runner.py` of the NAB repository (MIT licence; Ahmad et al., "Unsupervised real-time anomaly
detection for streaming data", Neurocomputing 2017):

- Each labelled anomaly window rewards its earliest detection with
  `tpWeight * scaled_sigmoid(position) / scaled_sigmoid(-1)`, where the position runs from -1 at
  the window's first row to about 0 at its last row. A window without a detection costs `fnWeight`.
- Every detection outside a window adds `fpWeight * scaled_sigmoid(distance)`, which is negative.
  The distance is measured from the end of the preceding window in units of that window's length.
  A detection before the first window costs the full `fpWeight`.
- The first `min(floor(0.15 * rows), 0.15 * 5000)` rows of each series (the probationary period)
  are not scored.
- A row is a detection when its anomaly score is at least the threshold. The threshold is chosen
  once per profile to maximise the summed raw score over the whole corpus.
- Final score: `100 * (raw - null) / (perfect - null)`, where `null` is the raw score of a detector
  that never fires and `perfect` is `tpWeight` times the number of windows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

PROBATIONARY_PERCENT = 0.15


@dataclass(frozen=True)
class CostMatrix:
    """Weights of one NAB application profile."""

    tp_weight: float
    fp_weight: float
    fn_weight: float


# Weights of `config/profiles.json` in NAB v1.1.
PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    "reward_low_FP_rate": CostMatrix(tp_weight=1.0, fp_weight=0.22, fn_weight=1.0),
    "reward_low_FN_rate": CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=2.0),
}

# NAB starts its threshold sweep above every valid anomaly score, so the first row is "no detections".
_START_THRESHOLD = 1.1
_PROBATIONARY = "probationary"


@dataclass(frozen=True)
class ScoredRow:
    """One row of a series with the NAB reward it earns if it is a detection."""

    anomaly_score: float
    reward: float
    # Unique name of the window the row lies in, None outside windows, or "probationary".
    window: str | None


@dataclass(frozen=True)
class ThresholdScore:
    """Raw NAB score and confusion counts when rows with anomaly score >= threshold are detections."""

    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


@dataclass(frozen=True)
class SeriesResult:
    """Anomaly scores of one series with its timestamps and labelled windows."""

    timestamps: Sequence[datetime]
    anomaly_scores: Sequence[float]
    windows: Sequence[tuple[datetime, datetime]]


def sigmoid(x: float) -> float:
    """Return the logistic function of x."""
    return 1.0 / (1.0 + math.exp(-x))


def scaled_sigmoid(relative_position: float) -> float:
    """Return NAB's reward curve: about 0.987 at -1 (window start), 0 at 0, -1 beyond +3."""
    if relative_position > 3.0:
        return -1.0
    return 2.0 * sigmoid(-5.0 * relative_position) - 1.0


def probationary_length(rows: int, percent: float = PROBATIONARY_PERCENT) -> float:
    """Return how many leading rows NAB leaves unscored."""
    return min(math.floor(percent * rows), percent * 5000)


def score_rows(
    name: str,
    series: SeriesResult,
    cost: CostMatrix,
    probationary_percent: float = PROBATIONARY_PERCENT,
) -> list[ScoredRow]:
    """Attach to every row the reward it earns as a detection (NAB's `calcSweepScore`)."""
    timestamps = list(series.timestamps)
    if len(timestamps) != len(series.anomaly_scores):
        raise ValueError(
            f"{name}: {len(timestamps)} timestamps but {len(series.anomaly_scores)} anomaly scores; "
            "pass one score per row"
        )
    index_of = {timestamp: i for i, timestamp in enumerate(timestamps)}
    for start, end in series.windows:
        if start not in index_of or end not in index_of:
            raise ValueError(f"{name}: window {start} .. {end} does not start and end on rows of the series")

    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_length(len(timestamps), probationary_percent)
    pending = sorted(series.windows)
    rows: list[ScoredRow] = []

    window_name = None
    window_right = window_width = None
    previous_right = previous_width = None
    for i, (timestamp, anomaly_score) in enumerate(zip(timestamps, series.anomaly_scores, strict=True)):
        if pending and timestamp == pending[0][0]:
            start, end = pending.pop(0)
            window_name = f"{name}|{start.isoformat()}"
            window_right = index_of[end]
            window_width = float(window_right - index_of[start] + 1)

        if window_name is not None:
            position = -(window_right - i + 1) / window_width
            reward = scaled_sigmoid(position) * cost.tp_weight / max_tp
        elif previous_right is None:
            reward = -cost.fp_weight
        else:
            # NOTE: NAB divides by (width - 1), so a one-row window would divide by zero here too.
            reward = scaled_sigmoid(abs(previous_right - i) / (previous_width - 1)) * cost.fp_weight

        rows.append(ScoredRow(anomaly_score, reward, window_name if i >= probation else _PROBATIONARY))

        if window_name is not None and i == window_right:
            previous_right, previous_width = window_right, window_width
            window_name = None
            window_right = window_width = None
    return rows


def scores_by_threshold(rows: Sequence[ScoredRow], cost: CostMatrix) -> list[ThresholdScore]:
    """Return the raw score for every distinct threshold, highest threshold first.

    The first entry (threshold 1.1) is the score without any detection. Rows may come from many
    series, which is how NAB optimises one threshold for a whole corpus.
    """
    scorable = sorted((row for row in rows if row.window != _PROBATIONARY), key=lambda row: row.anomaly_score, reverse=True)
    best_in_window = {row.window: -cost.fn_weight for row in scorable if row.window is not None}
    false_positive_total = 0.0
    tn = sum(1 for row in scorable if row.window is None)
    fn = len(scorable) - tn
    tp = fp = 0

    results = []
    threshold = _START_THRESHOLD
    window_total = sum(best_in_window.values())
    for row in scorable:
        if row.anomaly_score != threshold:
            results.append(ThresholdScore(threshold, window_total + false_positive_total, tp, tn, fp, fn))
            threshold = row.anomaly_score

        if row.window is None:
            fp += 1
            tn -= 1
            false_positive_total += row.reward
        else:
            tp += 1
            fn -= 1
            if row.reward > best_in_window[row.window]:
                window_total += row.reward - best_in_window[row.window]
                best_in_window[row.window] = row.reward
    results.append(ThresholdScore(threshold, window_total + false_positive_total, tp, tn, fp, fn))
    return results


def score_at_threshold(rows: Sequence[ScoredRow], cost: CostMatrix, threshold: float) -> ThresholdScore:
    """Return the raw score of one series when rows with score >= threshold are detections."""
    candidates = scores_by_threshold(rows, cost)
    previous = candidates[0]
    for candidate in candidates:
        if candidate.threshold == threshold:
            return candidate
        if candidate.threshold < threshold:
            return previous
        previous = candidate
    # Every row scores above the threshold. NAB itself fails here; all rows are detections.
    return candidates[-1]


def optimize_threshold(rows_by_series: Mapping[str, Sequence[ScoredRow]], cost: CostMatrix) -> ThresholdScore:
    """Return the threshold with the highest raw score over all series (NAB's optimiser)."""
    pooled = [row for rows in rows_by_series.values() for row in rows]
    return max(scores_by_threshold(pooled, cost), key=lambda candidate: candidate.score)


def normalized_score(raw: float, null: float, perfect: float) -> float:
    """Scale a raw corpus score so that the null detector is 0 and the perfect detector is 100."""
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class ProfileScore:
    """NAB result of one detector on one profile."""

    profile: str
    score: float
    raw: float
    null: float
    perfect: float
    threshold: float
    tp: int
    fp: int
    fn: int
    per_series: dict[str, float]


def score_corpus(
    results: Mapping[str, SeriesResult],
    profiles: Mapping[str, CostMatrix] = PROFILES,
    thresholds: Mapping[str, float] | None = None,
    probationary_percent: float = PROBATIONARY_PERCENT,
) -> dict[str, ProfileScore]:
    """Score a detector on a corpus for each profile, with NAB's threshold optimisation.

    Pass `thresholds` (profile name to threshold) to score at fixed thresholds instead of the
    corpus-optimal ones.
    """
    if not results:
        raise ValueError("no series to score; pass at least one series")
    window_count = sum(len(series.windows) for series in results.values())
    scores = {}
    for profile, cost in profiles.items():
        rows_by_series = {name: score_rows(name, series, cost, probationary_percent) for name, series in results.items()}
        if thresholds is None:
            threshold = optimize_threshold(rows_by_series, cost).threshold
        else:
            threshold = thresholds[profile]

        per_series = {name: score_at_threshold(rows, cost, threshold) for name, rows in rows_by_series.items()}
        null_rows = {
            name: [ScoredRow(0.0, row.reward, row.window) for row in rows] for name, rows in rows_by_series.items()
        }
        null_threshold = optimize_threshold(null_rows, cost).threshold
        null = sum(score_at_threshold(rows, cost, null_threshold).score for rows in null_rows.values())
        raw = sum(result.score for result in per_series.values())
        perfect = window_count * cost.tp_weight
        scores[profile] = ProfileScore(
            profile=profile,
            score=normalized_score(raw, null, perfect),
            raw=raw,
            null=null,
            perfect=perfect,
            threshold=threshold,
            tp=sum(result.tp for result in per_series.values()),
            fp=sum(result.fp for result in per_series.values()),
            fn=sum(result.fn for result in per_series.values()),
            per_series={name: result.score for name, result in per_series.items()},
        )
    return scores
