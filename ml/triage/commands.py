"""`servicedesk train triage` and `servicedesk evaluate triage`.

    servicedesk train triage --data tickets.csv --format endava [--test-fraction 0.2]
    servicedesk evaluate triage --data tickets.csv --format endava [--baselines] [--open-set 6]

Both default to the public data set file of the chosen format when it exists. They print
their metrics as one JSON object on stdout and their progress on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ml.common.artifacts import model_dir, read_metadata
from ml.triage.data import DEFAULT_SPLITS, FORMATS, SPLITS, default_data_file, load_tickets, split_tickets
from ml.triage.evaluate import baseline_metrics, evaluate_model, open_set_check, supported_categories
from ml.triage.model import TriageModel
from ml.triage.train import MODEL_NAME, add_hyperparameter_arguments, config_from_args, train_triage


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _data_file(args: argparse.Namespace) -> Path:
    if args.data is not None:
        return args.data
    path = default_data_file(args.format)
    if not path.exists():
        raise ValueError(f"no --data given and the public {args.format} file is missing at {path}; pass --data FILE")
    return path


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="ticket CSV file (default: the public data set of --format)")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help=f"folder to write the model into (default: {model_dir(MODEL_NAME)})",
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also fit the majority and plain TF-IDF baselines and report them on the held-back rows",
    )
    add_hyperparameter_arguments(parser)


def train(args: argparse.Namespace) -> dict[str, Any]:
    metadata = train_triage(
        _data_file(args),
        args.format,
        args.model_dir or model_dir(MODEL_NAME),
        config_from_args(args),
        test_fraction=args.test_fraction,
        split=args.split,
        queue_map_file=args.queue_map,
        default_queue=args.default_queue,
        review_queue=args.review_queue,
        with_baselines=args.baselines,
        progress=_progress,
    )
    return {
        "model": MODEL_NAME,
        "model_version": metadata["version"],
        "training_rows": metadata["training_rows"],
        "test_rows": metadata["test_rows"],
        "training_seconds": metadata["training_seconds"],
        **metadata["metrics"],
    }


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="ticket CSV file (default: the public data set of --format)")
    parser.add_argument("--format", choices=FORMATS, default="endava", help="layout of the ticket CSV file")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help=f"folder of the trained model (default: {model_dir(MODEL_NAME)})",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of rows to score (1 scores every row); "
        "use the value and split the model was trained with so no training row is scored",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default=None,
        help="which rows are scored: the last ones ('order') or rows spread over the file ('interleaved'); "
        "default: 'order' for endava, 'interleaved' for bitext",
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="fit the majority and plain TF-IDF baselines on the training rows and score them too",
    )
    parser.add_argument(
        "--open-set",
        metavar="CATEGORY",
        action="append",
        default=None,
        help="retrain without this category (repeat for several) and report how often its tickets are abstained",
    )


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    if not 0.0 < args.test_fraction <= 1.0:
        raise ValueError(f"--test-fraction must be in (0, 1], got {args.test_fraction}")
    directory = args.model_dir or model_dir(MODEL_NAME)
    model = TriageModel.load(directory)
    metadata = read_metadata(directory)

    tickets = load_tickets(_data_file(args), args.format)
    if args.test_fraction == 1.0:
        train, test = tickets.subset([]), tickets
    else:
        train, test = split_tickets(tickets, args.test_fraction, args.split or DEFAULT_SPLITS[args.format])
    macro_labels = supported_categories(tickets.categories)
    _progress(f"scoring {len(test)} tickets")

    result: dict[str, Any] = {
        "model": MODEL_NAME,
        "model_version": metadata.get("version"),
        "macro_f1_categories": macro_labels,
        "test": evaluate_model(model, test, macro_labels),
    }
    if args.baselines or args.open_set is not None:
        if not len(train):
            raise ValueError("--baselines and --open-set need training rows; use --test-fraction below 1")
    if args.baselines:
        _progress("fitting baselines")
        result["baselines"] = baseline_metrics(train, test, macro_labels)
    if args.open_set is not None:
        _progress(f"retraining without category {', '.join(args.open_set)}")
        config = config_from_args(_hyperparameters_from_metadata(metadata))
        config.validation_split = metadata.get("split", DEFAULT_SPLITS[args.format])
        result["open_set"] = open_set_check(train, test, args.open_set, config)
    return result


def _hyperparameters_from_metadata(metadata: dict[str, Any]) -> argparse.Namespace:
    """Rebuild the training options of a saved model so the open-set check retrains it alike."""
    saved = metadata.get("hyperparameters", {})
    parser = argparse.ArgumentParser()
    add_hyperparameter_arguments(parser)
    args = parser.parse_args([])
    args.regularization = saved.get("regularization", args.regularization)
    args.min_df = saved.get("min_df", args.min_df)
    args.target_accuracy = saved.get("target_accuracy", args.target_accuracy)
    args.similarity_quantile = saved.get("similarity_quantile", args.similarity_quantile)
    return args
