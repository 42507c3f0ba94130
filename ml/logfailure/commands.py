"""`servicedesk train logfailure` and `servicedesk evaluate logfailure`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import joblib

from ml.common.artifacts import model_dir
from ml.logfailure import MODEL_NAME
from ml.logfailure.evaluate import (
    default_bgl_log,
    evaluate_time_split,
    flagged_report,
    loghub_systems,
    system_structured_csv,
)
from ml.logfailure.parsing import read_log_file
from ml.logfailure.train import ARTIFACT_FILE, add_hyperparameters, detector_options, train_model


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `servicedesk train logfailure`."""
    parser.add_argument("--log", type=Path, default=default_bgl_log(),
                        help="labelled log: BGL raw lines or a structured CSV with a Label column")
    parser.add_argument("--model-dir", type=Path, default=model_dir(MODEL_NAME),
                        help="folder the artifact and metadata.json are written to")
    add_hyperparameters(parser)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train on `--log` and return the metadata, metrics included."""
    return train_model(args.log, args.model_dir, args)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `servicedesk evaluate logfailure`."""
    parser.add_argument("--log", type=Path, default=None,
                        help="log file; labelled logs get a time-split evaluation, unlabelled ones a flag report "
                             "(default: the BGL sample when no --system is given)")
    parser.add_argument("--system", action="append", default=[],
                        help="loghub system whose structured CSV gets a flag report, e.g. HDFS; "
                             "repeat it, or pass 'all' for every system except BGL")
    parser.add_argument("--model-dir", type=Path, default=model_dir(MODEL_NAME),
                        help="trained artifact used for the flag reports on unlabelled logs")
    add_hyperparameters(parser)


def _load_detector(directory: Path):
    path = directory / ARTIFACT_FILE
    if not path.is_file():
        raise ValueError(f"model artifact not found: {path}; run `servicedesk train logfailure` first")
    return joblib.load(path)["detector"]


def _system_files(names: list[str]) -> dict[str, Path]:
    systems = loghub_systems() if "all" in names else names
    files = {}
    for system in systems:
        path = system_structured_csv(system)
        if not path.is_file():
            raise ValueError(f"no structured CSV for system {system!r} at {path}; known: {', '.join(loghub_systems())}")
        files[system] = path
    return files


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate a labelled log on a time split, and report flagged lines on unlabelled logs."""
    result: dict[str, Any] = {"model": MODEL_NAME}
    logs = {} if args.log is None and args.system else {"log": args.log or default_bgl_log()}
    logs.update(_system_files(args.system))

    detector = None
    for name, path in logs.items():
        print(f"evaluating {path}", file=sys.stderr)
        records = read_log_file(path, args.log_format if name == "log" else "structured")
        if records and all(record.label is not None for record in records):
            result[name] = {
                "log": str(path),
                **evaluate_time_split(
                    records,
                    train_fraction=args.train_fraction,
                    horizon_seconds=args.warning_horizon_hours * 3600,
                    **detector_options(args),
                ),
            }
        else:
            detector = detector or _load_detector(args.model_dir)
            result[name] = {"log": str(path), **flagged_report(detector, records)}
    return result
