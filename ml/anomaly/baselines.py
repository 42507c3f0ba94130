"""Baseline detectors to compare the streaming detector with."""

from __future__ import annotations

import math
from collections import deque


def rolling_zscore_scores(values: list[float], window: int = 100) -> list[float]:
    """Score each value by its z-score against the previous `window` values, mapped to [0, 1).

    The score is z / (1 + z) for the absolute z-score z, so it keeps the order of z-scores and
    never saturates. The first `window` values score 0.
    """
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    recent: deque[float] = deque(maxlen=window)
    scores = []
    for value in values:
        score = 0.0
        if len(recent) == window:
            mean = sum(recent) / window
            deviation = math.sqrt(sum((item - mean) ** 2 for item in recent) / window)
            if deviation > 0.0:
                z = abs(value - mean) / deviation
                score = z / (1.0 + z)
            elif value != mean:
                score = 1.0
        recent.append(value)
        scores.append(score)
    return scores
