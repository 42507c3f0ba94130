"""`servicedesk train demand` and `servicedesk evaluate demand`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml.demand import evaluate as evaluation
from ml.demand import train as training
from ml.demand.data import default_incidents_path


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    training.add_training_arguments(parser)


def train(args: argparse.Namespace) -> dict:
    return training.train(args)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--incidents",
        type=Path,
        default=default_incidents_path(),
        help="incident event log: a CSV file or a folder of CSV files (default: the public ServiceNow log)",
    )
    parser.add_argument(
        "--granularity",
        choices=evaluation.GRANULARITIES,
        default="daily",
        help="forecast daily or hourly ticket counts (default daily)",
    )
    parser.add_argument(
        "--rank-calendars",
        type=int,
        default=3,
        metavar="N",
        help="also list the N holiday calendars that best explain the weekday dips (0 to skip)",
    )
    training.add_model_arguments(parser)


def evaluate(args: argparse.Namespace) -> dict:
    print(
        f"evaluating {args.granularity} forecasts on {args.incidents} with the {args.country.upper()} calendar",
        file=sys.stderr,
        flush=True,
    )
    return evaluation.evaluate(
        args.incidents,
        country=args.country,
        granularity=args.granularity,
        config=training.config_from_arguments(args),
        rank_calendars_top=args.rank_calendars,
    )
