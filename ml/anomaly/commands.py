"""`servicedesk train anomaly` and `servicedesk evaluate anomaly`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ml.anomaly import train as training
from ml.anomaly.detector import DetectorConfig
from ml.anomaly.evaluate import evaluate_corpus
from ml.common.artifacts import model_dir
from ml.common.datasets import dataset_path


def _add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nab-dir",
        type=Path,
        default=dataset_path("nab"),
        help="corpus folder with data/<category>/*.csv and labels/combined_windows.json (NAB layout)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=model_dir(training.MODEL_NAME),
        help="folder of detector.json and metadata.json",
    )


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `servicedesk train anomaly`."""
    _add_corpus_arguments(parser)
    training.add_hyperparameters(parser)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Tune the alert threshold on the corpus and write the artifact; return the metrics."""
    metadata = training.train_model(
        args.nab_dir,
        args.model_dir,
        training.config_from_args(args),
        tuple(args.alert_thresholds),
        args.limit,
        args.workers,
    )
    return {"model": metadata["name"], "version": metadata["version"], **metadata["metrics"]}


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `servicedesk evaluate anomaly`."""
    _add_corpus_arguments(parser)
    parser.add_argument(
        "--baseline-window", type=int, default=100, help="points in the rolling z-score baseline's window"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N series (quick runs)")
    parser.add_argument("--workers", type=int, default=2, help="processes that run the detectors")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Score the trained detector (default settings if untrained) and the baseline with NAB."""
    artifact_path = Path(args.model_dir) / training.ARTIFACT_FILE
    thresholds = None
    if artifact_path.is_file():
        artifact = json.loads(artifact_path.read_text("utf-8"))
        config = DetectorConfig.from_dict(artifact["config"])
        thresholds = artifact["nab_thresholds"]
        version = artifact["version"]
    else:
        config = DetectorConfig()
        version = "untrained-defaults"
    report = evaluate_corpus(args.nab_dir, config, thresholds, args.baseline_window, args.limit, args.workers)
    return {"model": training.MODEL_NAME, "model_version": version, **report}
