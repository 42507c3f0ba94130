"""Train the triage model (SageMaker script mode).

Reads one ticket CSV file (channel ``train``), holds back ``--test-fraction`` of its rows
(the last ones, or rows spread over the file with ``--split interleaved``), fits on the rest,
and writes ``model.joblib`` and ``metadata.json`` (version, metrics
on the held-back rows, data fingerprint, training time) into the model folder. With
``--test-fraction 0`` every row is used for training and no test metrics are reported.

Example::

    python -m ml.triage.train --train tickets.csv --format endava --model-dir /tmp/triage
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.common.artifacts import fingerprint_files, model_dir, write_metadata
from ml.triage.data import DEFAULT_SPLITS, FORMATS, SPLITS, TicketSet, load_tickets, resolve_data_file, split_tickets
from ml.triage.evaluate import baseline_metrics, evaluate_model, supported_categories
from ml.triage.model import QueueMap, TriageConfig, fit_triage_model

MODEL_NAME = "triage"


def add_hyperparameter_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options shared by this script and `servicedesk train triage`."""
    defaults = TriageConfig()
    parser.add_argument("--format", choices=FORMATS, default="endava", help="layout of the ticket CSV file")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of rows held back for test metrics (0 trains on every row)",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default=None,
        help="which rows are held back: the last ones ('order') or rows spread over the file ('interleaved'); "
        "default: 'order' for endava, 'interleaved' for bitext, which is sorted by intent",
    )
    parser.add_argument(
        "--regularization",
        type=float,
        default=defaults.regularization,
        help="inverse regularization strength C of the logistic regression",
    )
    parser.add_argument("--min-df", type=int, default=defaults.min_df, help="minimum number of tickets a term must occur in")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="confidence below which the model abstains (default: chosen on a validation slice to reach --target-accuracy)",
    )
    parser.add_argument(
        "--min-similarity",
        type=float,
        default=None,
        help="similarity to the training tickets below which the model abstains (default: chosen on a validation slice)",
    )
    parser.add_argument(
        "--target-accuracy",
        type=float,
        default=defaults.target_accuracy,
        help="accuracy that the accepted validation tickets must reach when the threshold is chosen",
    )
    parser.add_argument(
        "--similarity-quantile",
        type=float,
        default=defaults.similarity_quantile,
        help="quantile of validation similarity used as --min-similarity when that is not given",
    )
    parser.add_argument(
        "--queue-map",
        type=Path,
        default=None,
        help="JSON file mapping each category to its queue name (default: the file's own queue column if it "
        "has one, else one queue per category, named like the category)",
    )
    parser.add_argument("--default-queue", default="general", help="queue of categories missing from --queue-map")
    parser.add_argument("--review-queue", default="triage-review", help="queue of tickets the model abstains on")


def config_from_args(args: argparse.Namespace) -> TriageConfig:
    """Build the model hyperparameters from parsed options."""
    config = TriageConfig(
        regularization=args.regularization,
        min_df=args.min_df,
        threshold=args.threshold,
        min_similarity=args.min_similarity,
        target_accuracy=args.target_accuracy,
        similarity_quantile=args.similarity_quantile,
    )
    config.validate()
    return config


def build_queue_map(
    tickets: TicketSet, queue_map_file: Path | None, default_queue: str, review_queue: str
) -> tuple[QueueMap, str]:
    """Return the category-to-queue routing and the name of its source.

    Priority: an explicit JSON file, then the file's own queue column (Bitext's routing
    ``category``), then one queue per category. The Endava export publishes only numeric
    codes and no coarser grouping column, so there each category is its own queue until an
    operator supplies a mapping.
    """
    queues = {"default_queue": default_queue, "review_queue": review_queue}
    if queue_map_file is not None:
        try:
            mapping = json.loads(Path(queue_map_file).read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read queue map {queue_map_file}: {error}") from error
        if not isinstance(mapping, dict) or not all(isinstance(v, str) and v for v in mapping.values()):
            raise ValueError(f"queue map {queue_map_file} must be a JSON object of category to non-empty queue name")
        return QueueMap(queues={str(key): value for key, value in mapping.items()}, **queues), "file"
    if tickets.queues is not None:
        return QueueMap.from_groups(tickets.categories, tickets.queues, **queues), "data"
    return QueueMap.identity(tickets.categories, **queues), "identity"


def train_triage(
    data_file: Path,
    data_format: str,
    output_dir: Path,
    config: TriageConfig,
    *,
    test_fraction: float = 0.2,
    split: str | None = None,
    queue_map_file: Path | None = None,
    default_queue: str = "general",
    review_queue: str = "triage-review",
    with_baselines: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the model on a ticket file, write the artifact and metadata, and return the metadata."""
    say = progress or (lambda message: None)
    data_file = resolve_data_file(Path(data_file))
    tickets = load_tickets(data_file, data_format)
    split = split or DEFAULT_SPLITS[data_format]
    train, test = split_tickets(tickets, test_fraction, split)
    config = replace(config, validation_split=split)
    queue_map, queue_source = build_queue_map(train, queue_map_file, default_queue, review_queue)
    say(f"loaded {len(tickets)} tickets from {data_file}: {len(train)} for training, {len(test)} held back")

    started = time.perf_counter()
    model, limits = fit_triage_model(train.texts, train.categories, queue_map, config)
    training_seconds = time.perf_counter() - started
    say(f"trained in {training_seconds:.1f} s; threshold {limits['threshold']:.3f}, min similarity {limits['min_similarity']:.3f}")

    metrics: dict[str, Any] = {"limits": limits}
    if len(test):
        macro_labels = supported_categories(tickets.categories)
        metrics["test"] = evaluate_model(model, test, macro_labels)
        metrics["macro_f1_categories"] = macro_labels
        if with_baselines:
            say("fitting baselines")
            metrics["baselines"] = baseline_metrics(train, test, macro_labels)

    output_dir = Path(output_dir)
    artifact = model.save(output_dir)
    fingerprint = fingerprint_files([data_file])
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{fingerprint[:8]}"
    metadata = write_metadata(
        output_dir,
        name=MODEL_NAME,
        version=version,
        data_format=data_format,
        data_file=data_file.name,
        data_fingerprint=fingerprint,
        training_rows=len(train),
        test_rows=len(test),
        test_fraction=test_fraction,
        split=split,
        training_seconds=round(training_seconds, 2),
        artifact_bytes=artifact.stat().st_size,
        categories=model.labels,
        queue_source=queue_source,
        queues=queue_map.queues,
        default_queue=queue_map.default_queue,
        review_queue=queue_map.review_queue,
        hyperparameters={
            "regularization": config.regularization,
            "min_df": config.min_df,
            "target_accuracy": config.target_accuracy,
            "similarity_quantile": config.similarity_quantile,
            "neighbours": config.neighbours,
        },
        metrics=metrics,
    )
    say(f"wrote {artifact}")
    return metadata


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train the ticket triage model.")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("SM_MODEL_DIR") or model_dir(MODEL_NAME)),
        help="folder to write model.joblib and metadata.json into",
    )
    parser.add_argument(
        "--train",
        type=Path,
        default=os.environ.get("SM_CHANNEL_TRAIN"),
        help="ticket CSV file, or a folder holding exactly one (default: env SM_CHANNEL_TRAIN)",
    )
    add_hyperparameter_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.train is None:
        parser.error("no training data: pass --train FILE or set SM_CHANNEL_TRAIN")
    try:
        metadata = train_triage(
            args.train,
            args.format,
            args.model_dir,
            config_from_args(args),
            test_fraction=args.test_fraction,
            split=args.split,
            queue_map_file=args.queue_map,
            default_queue=args.default_queue,
            review_queue=args.review_queue,
            progress=lambda message: print(message, file=sys.stderr),
        )
    except ValueError as error:
        parser.error(str(error))
    print(json.dumps(metadata["metrics"], indent=2))
    return metadata


if __name__ == "__main__":
    main()
