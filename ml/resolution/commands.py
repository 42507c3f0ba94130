"""`servicedesk train resolution` and `servicedesk evaluate resolution`."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from ml.common.artifacts import model_dir
from ml.resolution import MODEL_NAME
from ml.resolution import train as training
from ml.resolution.dataset import default_incidents_path
from ml.resolution.evaluate import evaluate_files

logger = logging.getLogger(__name__)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `servicedesk train resolution`."""
    training.add_arguments(parser)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train the model and return its metadata, held-out metrics included."""
    return training.train(args)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `servicedesk evaluate resolution`."""
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("SM_MODEL_DIR") or model_dir(MODEL_NAME)),
        help="folder with the trained model.joblib and metadata.json (default: .artifacts/models/resolution)",
    )
    parser.add_argument(
        "--incidents",
        type=Path,
        default=default_incidents_path(),
        help=(
            "incident event log CSV to score; only incidents opened after the model's training data count "
            "(default: the public ServiceNow log, whose latest incidents are the held-out test part)"
        ),
    )


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Score the trained model and its per-priority baseline on an incident event log."""
    logger.info("evaluating %s on %s", args.model_dir, args.incidents)
    return evaluate_files(args.model_dir, args.incidents)
