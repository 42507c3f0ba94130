"""Evaluation on loghub files: a time split of labelled BGL, and a report on unlabelled systems."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from ml.common.datasets import dataset_path
from ml.logfailure import baselines
from ml.logfailure.model import LogFailureDetector
from ml.logfailure.parsing import LogRecord, read_log_file
from ml.logfailure.templates import mine_templates

DEFAULT_TRAIN_FRACTION = 0.7
DEFAULT_WARNING_HORIZON_SECONDS = 6 * 3600.0
LOGHUB_FOLDER = "loghub"
LABELLED_SYSTEM = "BGL"


def default_bgl_log() -> Path:
    """Return the path of the labelled BGL sample in the data folder (it may not exist)."""
    return dataset_path(LOGHUB_FOLDER, LABELLED_SYSTEM, f"{LABELLED_SYSTEM}_2k.log")


def loghub_systems() -> list[str]:
    """Return the loghub systems in the data folder that have a structured CSV, except BGL."""
    folder = dataset_path(LOGHUB_FOLDER)
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.name != LABELLED_SYSTEM and (path / f"{path.name}_2k.log_structured.csv").is_file()
    )


def system_structured_csv(system: str) -> Path:
    """Return the structured CSV of one loghub system in the data folder."""
    return dataset_path(LOGHUB_FOLDER, system, f"{system}_2k.log_structured.csv")


def labels_of(records: Sequence[LogRecord]) -> np.ndarray:
    """Return 1 for alert lines and 0 for normal lines; raise if any line is unlabelled."""
    if any(record.label is None for record in records):
        raise ValueError("the log has unlabelled lines: training and the time-split evaluation need labelled lines")
    return np.array([int(bool(record.is_alert)) for record in records], dtype=int)


def split_by_time(records: Sequence[LogRecord], train_fraction: float) -> tuple[list[LogRecord], list[LogRecord]]:
    """Split lines in file order: the first `train_fraction` trains, the rest tests."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"invalid train fraction {train_fraction}: expected a value between 0 and 1")
    cut = int(round(len(records) * train_fraction))
    return list(records[:cut]), list(records[cut:])


def line_metrics(labels: np.ndarray, flagged: np.ndarray) -> dict[str, float | int]:
    """Return per-line precision, recall and F1 of the alert class, with the counts behind them."""
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, flagged.astype(int), average="binary", zero_division=0
    )
    return {
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "f1": round(float(f1), 4),
        "flagged": int(flagged.sum()),
        "alerts": int(labels.sum()),
        "true_positives": int((flagged & (labels == 1)).sum()),
    }


def warning_lead_times(
    records: Sequence[LogRecord],
    labels: np.ndarray,
    probabilities: np.ndarray,
    warning_threshold: float,
    horizon_seconds: float,
) -> dict[str, Any]:
    """Measure how long before each alert line the detector first warned.

    A warning line is a line labelled normal whose alert probability is at least the warning
    threshold. An alert line at time t was warned if a warning line falls in [t - horizon, t),
    and its lead time is t minus the time of the earliest such warning line. Warning precision
    is the share of warning lines followed by an alert line within the horizon.
    """
    times = np.array([np.nan if record.timestamp is None else record.timestamp for record in records])
    if np.isnan(times).any():
        return {"available": False, "reason": "lead time needs a timestamp on every line (BGL or a Timestamp column)"}

    is_warning = (probabilities >= warning_threshold) & (labels == 0)
    warning_times = times[is_warning]
    alert_times = times[labels == 1]

    lead_times = []
    for alert_time in alert_times:
        in_horizon = warning_times[(warning_times >= alert_time - horizon_seconds) & (warning_times < alert_time)]
        if in_horizon.size:
            lead_times.append(float(alert_time - in_horizon.min()))
    followed = [bool(((alert_times > t) & (alert_times <= t + horizon_seconds)).any()) for t in warning_times]

    summary: dict[str, Any] = {
        "available": True,
        "horizon_seconds": horizon_seconds,
        "warning_threshold": warning_threshold,
        "warning_lines": int(is_warning.sum()),
        "warning_precision": round(float(np.mean(followed)), 4) if followed else None,
        "alerts": int(alert_times.size),
        "alerts_warned": len(lead_times),
    }
    if lead_times:
        summary["lead_time_seconds_median"] = round(float(np.median(lead_times)), 1)
        summary["lead_time_seconds_min"] = round(float(np.min(lead_times)), 1)
        summary["lead_time_seconds_max"] = round(float(np.max(lead_times)), 1)
    return summary


def unseen_template_share(train: Sequence[LogRecord], test: Sequence[LogRecord], test_labels: np.ndarray) -> dict[str, float]:
    """Return the share of test lines, and of test alert lines, whose template training never saw."""
    templates = mine_templates(record.content for record in train)
    unseen = np.array([templates.match(record.content) is None for record in test])
    alerts = test_labels == 1
    return {
        "test_lines_unseen_template": round(float(unseen.mean()), 4) if len(test) else 0.0,
        "test_alerts_unseen_template": round(float(unseen[alerts].mean()), 4) if alerts.any() else 0.0,
    }


def evaluate_time_split(
    records: Sequence[LogRecord],
    *,
    train_fraction: float = DEFAULT_TRAIN_FRACTION,
    horizon_seconds: float = DEFAULT_WARNING_HORIZON_SECONDS,
    **detector_options: Any,
) -> dict[str, Any]:
    """Train the detector and both baselines on the earlier lines and score the later ones."""
    train, test = split_by_time(records, train_fraction)
    train_labels, test_labels = labels_of(train), labels_of(test)

    detector = fit_detector(train, train_labels, **detector_options)
    scores = detector.score(test)
    flagged = scores.alert_probability >= detector.alert_threshold

    lookup = baselines.template_lookup(train, train_labels, test)
    tfidf = baselines.tfidf_logistic_regression(train, train_labels, test) >= 0.5
    return {
        "train_lines": len(train),
        "test_lines": len(test),
        "train_alerts": int(train_labels.sum()),
        **unseen_template_share(train, test, test_labels),
        "detector": line_metrics(test_labels, flagged),
        "baseline_template_lookup": line_metrics(test_labels, lookup),
        "baseline_tfidf_logistic_regression": line_metrics(test_labels, tfidf),
        "warning": warning_lead_times(
            test, test_labels, scores.alert_probability, detector.warning_threshold, horizon_seconds
        ),
    }


def fit_detector(
    records: Sequence[LogRecord],
    labels: np.ndarray,
    *,
    drain_similarity: float = 0.5,
    drain_depth: int = 4,
    **detector_options: Any,
) -> LogFailureDetector:
    """Mine templates with Drain and fit the detector on labelled lines."""
    templates = mine_templates((record.content for record in records), drain_similarity, drain_depth)
    return LogFailureDetector(templates=templates, **detector_options).fit(records, labels)


def flagged_report(detector: LogFailureDetector, records: Sequence[LogRecord], examples: int = 5) -> dict[str, Any]:
    """Count the lines the detector flags in an unlabelled log; list flagged and highest-scored templates."""
    scores = detector.score(records)
    flagged = scores.alert_probability >= detector.alert_threshold
    templates = detector.template_texts(records)
    flagged_templates = [template for template, hit in zip(templates, flagged, strict=True) if hit]
    highest: dict[str, float] = {}
    for template, probability in zip(templates, scores.alert_probability, strict=True):
        highest[template] = max(highest.get(template, 0.0), float(probability))
    return {
        "lines": len(records),
        "flagged": int(flagged.sum()),
        "flagged_share": round(float(flagged.mean()), 4) if len(records) else 0.0,
        "warning_risk": round(detector.window_risk(scores.alert_probability), 4),
        "top_flagged_templates": [
            {"template": template, "lines": count} for template, count in Counter(flagged_templates).most_common(examples)
        ],
        "highest_scored_templates": [
            {"template": template, "alert_probability": round(probability, 4)}
            for template, probability in sorted(highest.items(), key=lambda item: -item[1])[:examples]
        ],
    }


def evaluate_log(path: Path, log_format: str = "auto", **options: Any) -> dict[str, Any]:
    """Read a labelled log file and run the time-split evaluation on it."""
    records = read_log_file(path, log_format)
    return {"log": str(path), **evaluate_time_split(records, **options)}
