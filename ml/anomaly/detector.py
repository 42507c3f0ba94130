"""Streaming anomaly detector for one metric series, in pure Python.

The detector receives one value at a time and keeps a small JSON-serialisable state per series, so
a Lambda function can load it from one DynamoDB item, score a batch of points and store it back.
It imports only the standard library.

Each point gets three raw anomaly measures:

- `knn`: distance from the latest `embedding` values to their nearest neighbours among past
  subsequences of the same length (sampled every `stride` points from a bounded history),
  in units of the series' running scale. It catches changed shapes and levels.
- `value`: distance of the value from its exponentially weighted mean, in running standard
  deviations. It catches spikes and level shifts.
- `change`: size of the step from the previous value relative to its running mean size.

Each measure goes through an anomaly likelihood, as in Numenta's HTM detector: the mean of the
last `average_window` log-measures is compared with the running normal distribution of that mean,
and the upper-tail probability p becomes the score `-log10(p) / score_decades`, capped at 1. The
anomaly score is the largest of the three. After an alert, scores are multiplied by
`suppressed_scale` for `suppression` points, because one incident should raise one alert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

STATE_VERSION = 1
_MEASURES = ("knn", "value", "change")


@dataclass(frozen=True)
class DetectorConfig:
    """Hyperparameters of the detector; the same for every series of one model version."""

    # Defaults were chosen by NAB standard score on the NAB corpus (without realKnownCause).
    warmup: int = 150
    embedding: int = 8
    stride: int = 4
    history: int = 128
    neighbours: int = 3
    scale_rate: float = 0.002
    likelihood_rate: float = 0.00005
    average_window: int = 8
    # A score of 1 means an upper-tail probability of 10 ** -score_decades.
    score_decades: float = 20.0
    suppression: int = 100
    suppressed_scale: float = 0.0
    alert_threshold: float = 0.2

    def __post_init__(self) -> None:
        for name in ("warmup", "embedding", "stride", "history", "neighbours", "average_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.suppression < 0:
            raise ValueError(f"suppression must be zero or positive, got {self.suppression}")
        if self.score_decades <= 0.0:
            raise ValueError(f"score_decades must be positive, got {self.score_decades}")
        for name in ("scale_rate", "likelihood_rate"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 0.0 <= self.suppressed_scale <= 1.0:
            raise ValueError(f"suppressed_scale must be between 0 and 1, got {self.suppressed_scale}")
        if not 0.0 < self.alert_threshold <= 1.0:
            raise ValueError(f"alert_threshold must be in (0, 1], got {self.alert_threshold}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DetectorConfig:
        """Build a config from a mapping, rejecting unknown keys."""
        known = {item.name for item in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown detector settings {sorted(unknown)}; known settings are {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a JSON-serialisable dict."""
        return asdict(self)


@dataclass
class _Likelihood:
    """Running distribution of the averaged raw measure."""

    recent: list[float] = field(default_factory=list)
    count: int = 0
    mean: float = 0.0
    variance: float = 0.0


@dataclass
class SeriesState:
    """Everything the detector remembers about one series between calls."""

    count: int = 0
    last_timestamp: str | None = None
    # The last `history * stride + embedding` values, oldest first.
    values: list[float] = field(default_factory=list)
    level_mean: float = 0.0
    level_variance: float = 0.0
    change_mean: float = 0.0
    likelihoods: dict[str, _Likelihood] = field(default_factory=lambda: {name: _Likelihood() for name in _MEASURES})
    since_alert: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the state as a JSON-serialisable dict."""
        state = asdict(self)
        state["version"] = STATE_VERSION
        return state

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> SeriesState:
        """Rebuild a state written by `to_dict`; raise ValueError for anything else."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported detector state version {state.get('version')!r}; expected {STATE_VERSION}")
        try:
            likelihoods = {name: _Likelihood(**state["likelihoods"][name]) for name in _MEASURES}
            return cls(
                count=int(state["count"]),
                last_timestamp=state["last_timestamp"],
                values=[float(value) for value in state["values"]],
                level_mean=float(state["level_mean"]),
                level_variance=float(state["level_variance"]),
                change_mean=float(state["change_mean"]),
                likelihoods=likelihoods,
                since_alert=None if state["since_alert"] is None else int(state["since_alert"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"invalid detector state: {error!r}; pass null to start the series afresh") from error


@dataclass(frozen=True)
class PointScore:
    """Result for one point."""

    score: float
    alert: bool
    measures: dict[str, float]


class StreamingDetector:
    """Score the points of one series in time order, updating its state."""

    def __init__(self, config: DetectorConfig | None = None, state: SeriesState | None = None) -> None:
        self.config = config or DetectorConfig()
        self.state = state or SeriesState()

    def update(self, value: float, timestamp: datetime | None = None) -> PointScore:
        """Score `value`, then learn from it."""
        measures = self.measure(value, timestamp)
        if self.state.count <= self.config.warmup:
            return PointScore(0.0, False, measures)
        score, alert, self.state.since_alert = apply_alert_policy(
            max(measures.values()), self.state.since_alert, self.config
        )
        return PointScore(score, alert, measures)

    def measure(self, value: float, timestamp: datetime | None = None) -> dict[str, float]:
        """Return the likelihood score of each measure for `value` and learn from it."""
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"value must be a finite number, got {value!r}")
        config, state = self.config, self.state
        if timestamp is not None:
            self._check_order(timestamp)
            state.last_timestamp = timestamp.isoformat()

        value = float(value)
        previous = state.values[-1] if state.values else value
        state.values.append(value)
        del state.values[: -(config.history * config.stride + config.embedding)]
        state.count += 1

        raw = self._raw_measures(value, previous)
        self._learn_scale(value, previous)
        return {name: self._likelihood_score(name, raw[name]) for name in _MEASURES}

    def _check_order(self, timestamp: datetime) -> None:
        if self.state.last_timestamp is None:
            return
        last = datetime.fromisoformat(self.state.last_timestamp)
        try:
            in_order = timestamp > last
        except TypeError as error:
            raise ValueError(
                f"timestamp {timestamp.isoformat()} and the last scored timestamp {last.isoformat()} "
                "mix time zone aware and naive times; send every timestamp of a series the same way"
            ) from error
        if not in_order:
            raise ValueError(
                f"timestamp {timestamp.isoformat()} is not after the last scored timestamp {last.isoformat()}; "
                "send points in time order and do not resend scored points"
            )

    def _raw_measures(self, value: float, previous: float) -> dict[str, float]:
        state = self.state
        scale = math.sqrt(state.level_variance) if state.count > 2 else 0.0
        change_scale = state.change_mean
        if scale <= 0.0:
            scale = abs(state.level_mean) * 1e-3 or 1.0
        if change_scale <= 0.0:
            change_scale = scale * 1e-2
        return {
            "knn": self._knn_distance() / scale,
            "value": abs(value - state.level_mean) / scale,
            "change": abs(value - previous) / change_scale,
        }

    def _knn_distance(self) -> float:
        """Mean distance from the latest subsequence to its nearest sampled past subsequences."""
        config, values = self.config, self.state.values
        size = config.embedding
        end = len(values) - size
        if end < size:
            return 0.0
        current = values[end:]
        distances = []
        # Candidates end `size` or more points before the current one, so they do not overlap it.
        for start in range(end - size, -1, -config.stride):
            total = 0.0
            for offset in range(size):
                difference = values[start + offset] - current[offset]
                total += difference * difference
            distances.append(total)
        distances.sort()
        nearest = distances[: config.neighbours]
        return math.sqrt(sum(nearest) / (len(nearest) * size))

    def _learn_scale(self, value: float, previous: float) -> None:
        state, rate = self.state, self.config.scale_rate
        weight = max(rate, 1.0 / state.count)
        deviation = value - state.level_mean
        state.level_mean += weight * deviation
        state.level_variance = (1.0 - weight) * (state.level_variance + weight * deviation * deviation)
        state.change_mean += weight * (abs(value - previous) - state.change_mean)

    def _likelihood_score(self, name: str, raw: float) -> float:
        """Map a raw measure to [0, 1] through the tail probability of its recent average."""
        config = self.config
        likelihood = self.state.likelihoods[name]
        # The raw measures are heavy-tailed; their logarithm is closer to the normal model below.
        likelihood.recent.append(math.log1p(raw))
        del likelihood.recent[: -config.average_window]
        average = sum(likelihood.recent) / len(likelihood.recent)

        score = 0.0
        if likelihood.count > config.average_window:
            deviation = math.sqrt(likelihood.variance) or 1e-9
            z = (average - likelihood.mean) / deviation
            score = -_log10_upper_tail(z) / config.score_decades

        likelihood.count += 1
        weight = max(config.likelihood_rate, 1.0 / likelihood.count)
        difference = average - likelihood.mean
        likelihood.mean += weight * difference
        likelihood.variance = (1.0 - weight) * (likelihood.variance + weight * difference * difference)
        return min(max(score, 0.0), 1.0)


def apply_alert_policy(score: float, since_alert: int | None, config: DetectorConfig) -> tuple[float, bool, int | None]:
    """Scale `score` down shortly after an alert and decide whether it raises a new alert.

    `since_alert` counts the points since the last alert (None when there was none recently).
    Returns the final score, the alert flag and the new count.
    """
    if since_alert is not None:
        since_alert += 1
        if since_alert <= config.suppression:
            score *= config.suppressed_scale
        else:
            since_alert = None
    score = min(score, 1.0)
    alert = score >= config.alert_threshold
    if alert:
        since_alert = 0
    return score, alert, since_alert


def _log10_upper_tail(z: float) -> float:
    """Return log10 of the standard normal upper-tail probability, without underflow for large z."""
    if z < 8.0:
        return math.log10(0.5 * math.erfc(z / math.sqrt(2.0)))
    # Mills ratio: Q(z) is about pdf(z) / z for large z.
    return (-0.5 * z * z - math.log(z) - 0.5 * math.log(2.0 * math.pi)) / math.log(10.0)


def score_series(values: list[float], config: DetectorConfig | None = None) -> list[float]:
    """Score a whole series from a fresh state; returns one anomaly score per value."""
    detector = StreamingDetector(config)
    return [detector.update(value).score for value in values]


def measure_series(values: list[float], config: DetectorConfig | None = None) -> list[float]:
    """Return the combined score of every value before the alert policy (0 during warm-up).

    Replaying these through `apply_alert_policy` gives the same scores as `score_series`, which
    lets training try several alert thresholds without rerunning the detector.
    """
    detector = StreamingDetector(config)
    combined = []
    for value in values:
        measures = detector.measure(value)
        combined.append(max(measures.values()) if detector.state.count > detector.config.warmup else 0.0)
    return combined


def replay_alert_policy(combined: list[float], config: DetectorConfig) -> list[float]:
    """Apply the alert policy to the output of `measure_series`."""
    scores = []
    since_alert = None
    for index, score in enumerate(combined):
        if index < config.warmup:
            scores.append(0.0)
            continue
        score, _, since_alert = apply_alert_policy(score, since_alert, config)
        scores.append(score)
    return scores
