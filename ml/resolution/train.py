"""Train the resolution model (SageMaker script mode).

Reads a ServiceNow incident event log from the `incidents` channel and builds one row per
incident as known at open. The latest incidents by `opened_at` are held out, the model is fitted
on the rest, and `model.joblib` and `metadata.json` go to the model directory. The metadata
carries the held-out metrics beside those of the per-priority baseline.

Targets: `sla_breached` is true when `made_sla` on the incident's final event is false, and
the resolution time is `resolved_at - opened_at` in hours.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from ml.common.artifacts import fingerprint_files, model_dir, write_metadata
from ml.resolution import MODEL_FILE, MODEL_NAME
from ml.resolution.dataset import default_incidents_path, incident_files, load_incident_table, split_by_time
from ml.resolution.evaluate import evaluate_table
from ml.resolution.features import FEATURE_COLUMNS
from ml.resolution.model import TrainingSettings, fit_resolution_model

logger = logging.getLogger(__name__)

DEFAULT_TEST_FRACTION = 0.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the input, output and hyperparameter options of training."""
    _add_data_arguments(parser)
    _add_hyperparameter_arguments(parser)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("SM_MODEL_DIR") or model_dir(MODEL_NAME)),
        help="folder to write model.joblib and metadata.json to (default: SM_MODEL_DIR or .artifacts/models/resolution)",
    )
    parser.add_argument(
        "--incidents",
        type=Path,
        default=Path(os.environ.get("SM_CHANNEL_INCIDENTS") or default_incidents_path()),
        help="incident event log CSV, or a folder of them (default: SM_CHANNEL_INCIDENTS or the public ServiceNow log)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=DEFAULT_TEST_FRACTION,
        help="share of the latest incidents by opened_at held out for evaluation; 0 trains on all (default: 0.2)",
    )
    parser.add_argument(
        "--sample-incidents",
        type=int,
        default=None,
        help="train and test on a random sample of this many incidents, for quick runs (default: all)",
    )


def _add_hyperparameter_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainingSettings()
    parser.add_argument("--max-iter", type=int, default=defaults.max_iter, help="boosting iterations per model")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="boosting learning rate")
    parser.add_argument("--max-leaf-nodes", type=int, default=defaults.max_leaf_nodes, help="leaves per tree")
    parser.add_argument("--min-samples-leaf", type=int, default=defaults.min_samples_leaf, help="incidents per leaf")
    parser.add_argument(
        "--l2-regularization", type=float, default=defaults.l2_regularization, help="L2 penalty on leaf values"
    )
    parser.add_argument(
        "--min-category-frequency",
        type=int,
        default=defaults.min_category_frequency,
        help="categories seen on fewer training incidents are grouped as infrequent",
    )
    parser.add_argument("--random-state", type=int, default=defaults.random_state, help="seed for sampling and trees")
    parser.add_argument(
        "--threads", type=int, default=defaults.threads, help="OpenMP threads for fitting the trees (default: 1)"
    )


def settings_from_arguments(args: argparse.Namespace) -> TrainingSettings:
    """Return the hyperparameters given on the command line."""
    return TrainingSettings(
        max_iter=args.max_iter,
        learning_rate=args.learning_rate,
        max_leaf_nodes=args.max_leaf_nodes,
        min_samples_leaf=args.min_samples_leaf,
        l2_regularization=args.l2_regularization,
        min_category_frequency=args.min_category_frequency,
        random_state=args.random_state,
        threads=args.threads,
    )


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train on the incidents channel, write the artifact and metadata, and return the metadata."""
    settings = settings_from_arguments(args)
    if args.sample_incidents is not None and args.sample_incidents < 2:
        raise ValueError(f"--sample-incidents must be at least 2, got {args.sample_incidents}")
    files = incident_files(args.incidents)
    fingerprint = fingerprint_files(files)
    version = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{fingerprint[:8]}"

    started = time.perf_counter()
    logger.info("reading incident event log from %s", ", ".join(str(file) for file in files))
    table = load_incident_table(files, sample_incidents=args.sample_incidents, seed=args.random_state)
    training, test, boundary = split_by_time(table, args.test_fraction)
    if len(training) == 0:
        raise ValueError("the time split left no training incidents; lower --test-fraction")
    logger.info("training on %d incidents opened before %s, testing on %d", len(training), boundary, len(test))

    model = fit_resolution_model(training.features, training.outcomes, version=version, settings=settings)
    training_seconds = time.perf_counter() - started
    metrics = evaluate_table(model, test) if len(test) else None

    directory = Path(args.model_dir)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, directory / MODEL_FILE, compress=3)
    return write_metadata(
        directory,
        name=MODEL_NAME,
        version=version,
        metrics=metrics,
        data_fingerprint=fingerprint,
        training_seconds=round(training_seconds, 1),
        training_incidents=len(training),
        test_incidents=len(test),
        training_opened_before=boundary.isoformat(),
        features=list(FEATURE_COLUMNS),
        targets={
            "sla_breached": "made_sla is false on the incident's final event (latest sys_updated_at)",
            "resolution_hours": "resolved_at minus opened_at, in hours; incidents without resolved_at are left out",
        },
        hyperparameters=asdict(settings),
    )


def main(argv: list[str] | None = None) -> None:
    """Run training from the command line or as a SageMaker training job."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    metadata = train(parser.parse_args(argv))
    print(json.dumps(metadata, indent=2))


if __name__ == "__main__":
    main()
