"""Train the log failure detector (SageMaker script mode).

The `train` channel is a log file or a folder with one: a labelled BGL log, or a loghub
structured CSV with a Label column. The first `--train-fraction` of the lines (file order)
trains the model and the rest measures it; `--train-fraction 1` trains on every line and
records no metrics.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from ml.common.artifacts import fingerprint_files, model_dir, write_metadata
from ml.logfailure import MODEL_NAME
from ml.logfailure.evaluate import (
    DEFAULT_TRAIN_FRACTION,
    DEFAULT_WARNING_HORIZON_SECONDS,
    default_bgl_log,
    evaluate_time_split,
    fit_detector,
    labels_of,
    split_by_time,
)
from ml.logfailure.parsing import FORMATS, read_log_file

ARTIFACT_FILE = "model.joblib"
_LOG_SUFFIXES = (".log", ".csv", ".txt")


def resolve_log_file(location: Path) -> Path:
    """Return the log file itself, or the only log file inside a channel folder."""
    if location.is_file():
        return location
    if location.is_dir():
        candidates = sorted(path for path in location.iterdir() if path.suffix.lower() in _LOG_SUFFIXES)
        if len(candidates) == 1:
            return candidates[0]
        raise ValueError(f"expected exactly one .log, .csv or .txt file in {location}, found {len(candidates)}")
    raise ValueError(f"training log not found: {location}; pass --train FILE or set SM_CHANNEL_TRAIN")


def add_hyperparameters(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by training and the time-split evaluation."""
    parser.add_argument("--format", dest="log_format", choices=FORMATS, default="auto",
                        help="log format: bgl, structured (loghub CSV), generic, or auto (by suffix and first line)")
    parser.add_argument("--train-fraction", type=float, default=DEFAULT_TRAIN_FRACTION,
                        help="share of lines, in file order, used for training; the rest is the test part")
    parser.add_argument("--alert-threshold", type=float, default=0.5, help="alert probability that flags a line")
    parser.add_argument("--warning-threshold", type=float, default=0.3,
                        help="alert probability of a line, or window risk, that raises a warning")
    parser.add_argument("--risk-half-life-lines", type=float, default=100.0,
                        help="lines after which a line's weight in the window risk halves")
    parser.add_argument("--regularization", type=float, default=10.0,
                        help="inverse L2 regularization strength C of the text model")
    parser.add_argument("--drain-similarity", type=float, default=0.5, help="Drain similarity threshold")
    parser.add_argument("--drain-depth", type=int, default=4, help="Drain parse tree depth")
    parser.add_argument("--warning-horizon-hours", type=float, default=DEFAULT_WARNING_HORIZON_SECONDS / 3600,
                        help="how far before an alert line a warning counts, in hours")


def detector_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the detector and Drain settings from parsed arguments."""
    return {
        "alert_threshold": args.alert_threshold,
        "warning_threshold": args.warning_threshold,
        "risk_half_life_lines": args.risk_half_life_lines,
        "regularization": args.regularization,
        "drain_similarity": args.drain_similarity,
        "drain_depth": args.drain_depth,
    }


def train_model(log_file: Path, output_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Train on a labelled log, write the artifact and metadata.json, and return the metadata."""
    records = read_log_file(log_file, args.log_format)
    print(f"read {len(records)} lines from {log_file}", file=sys.stderr)

    metrics: dict[str, Any] = {}
    if args.train_fraction < 1.0:
        metrics = evaluate_time_split(
            records,
            train_fraction=args.train_fraction,
            horizon_seconds=args.warning_horizon_hours * 3600,
            **detector_options(args),
        )
        records, _ = split_by_time(records, args.train_fraction)
    elif args.train_fraction != 1.0:
        raise ValueError(f"invalid train fraction {args.train_fraction}: expected a value in (0, 1]")

    detector = fit_detector(records, labels_of(records), **detector_options(args))
    version = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    output_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump({"detector": detector, "version": version}, output_dir / ARTIFACT_FILE)
    print(f"wrote {output_dir / ARTIFACT_FILE} ({len(detector.templates)} templates)", file=sys.stderr)

    return write_metadata(
        output_dir,
        name=MODEL_NAME,
        version=version,
        metrics=metrics,
        data_fingerprint=fingerprint_files([log_file]),
        training_file=log_file.name,
        training_lines=len(records),
        templates=len(detector.templates),
        hyperparameters={**detector_options(args), "train_fraction": args.train_fraction},
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the script-mode argument parser."""
    parser = argparse.ArgumentParser(description="Train the log failure detector.")
    parser.add_argument("--model-dir", type=Path,
                        default=Path(os.environ.get("SM_MODEL_DIR") or model_dir(MODEL_NAME)),
                        help="folder the artifact and metadata.json are written to")
    parser.add_argument("--train", type=Path,
                        default=Path(os.environ.get("SM_CHANNEL_TRAIN") or default_bgl_log()),
                        help="labelled log file, or a folder with exactly one")
    add_hyperparameters(parser)
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, train and return the metadata."""
    args = build_parser().parse_args(argv)
    return train_model(resolve_log_file(args.train), args.model_dir, args)


if __name__ == "__main__":
    main()
