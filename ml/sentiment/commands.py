"""`servicedesk train sentiment` and `servicedesk evaluate sentiment`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ml.sentiment import train as training
from ml.sentiment.data import CORPUS_PATH, default_bitext_file, default_english_files, default_nsmc_file


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    training.build_parser(parser)


def train(args: argparse.Namespace) -> dict[str, Any]:
    return training.train(args)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    nsmc = default_nsmc_file()
    parser.add_argument(
        "--nsmc",
        type=Path,
        default=nsmc,
        help=f"NSMC ratings file, tab-separated id, document, label (default: {nsmc or 'none found'})",
    )
    parser.add_argument(
        "--english",
        type=Path,
        nargs="*",
        default=default_english_files(),
        help="UCI sentiment labelled sentence files, sentence<TAB>label (default: the public data set, if present)",
    )
    parser.add_argument(
        "--bitext",
        type=Path,
        default=default_bitext_file(),
        help="Bitext customer support CSV; counts how many complaint messages come out negative (default: if present)",
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS_PATH, help="service desk corpus TSV (text, label, language)")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction of each file held out for scoring")
    parser.add_argument("--max-nsmc-rows", type=int, default=0, help="subsample the NSMC training part to this many rows (0: all)")


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from ml.sentiment.evaluate import evaluate_files

    for path in [args.nsmc, args.bitext, args.corpus, *(args.english or [])]:
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"evaluation file not found: {path}")
    return evaluate_files(
        [args.nsmc] if args.nsmc else [],
        list(args.english or []),
        corpus_files=[args.corpus],
        bitext_file=args.bitext,
        holdout=args.holdout,
        max_nsmc_rows=args.max_nsmc_rows,
    )
