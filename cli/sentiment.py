"""`servicedesk sentiment`: score a text column and write the file back with the verdicts."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from cli.tables import column_index, read_rows

BATCH_SIZE = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="CSV or TSV file (TSV when the name ends in .tsv or .txt)")
    parser.add_argument("--text-column", default="text", help="name of the text column, or its number with --no-header")
    parser.add_argument("--no-header", action="store_true", help="the file has no header row")
    parser.add_argument("--delimiter", default=None, help="field delimiter; guessed from the file name when omitted")
    parser.add_argument("--model-dir", type=Path, default=None, help="sentiment artifact folder; trained when missing")


def run(args: argparse.Namespace) -> int:
    from functions.adapters.model_endpoints import InProcessEndpoint
    from functions.domain.escalation import decide_escalation
    from functions.domain.sentiment import SentimentAnalyser
    from functions.settings import Settings
    from functions.wiring import escalation_policy
    from ml.sentiment.train import ensure_model

    columns, rows = read_rows(args.file, args.delimiter, header=not args.no_header)
    text_index = column_index(columns, args.text_column, args.file)
    model_dir = ensure_model(args.model_dir)
    analyser = SentimentAnalyser(InProcessEndpoint("sentiment", model_dir))
    policy = escalation_policy(Settings())

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([*columns, "sentiment", "score", "language", "escalate"])
    batch: list[list[str]] = []

    def flush() -> None:
        texts = [row[text_index] if text_index < len(row) else "" for row in batch]
        verdicts = analyser.analyse([text or " " for text in texts])
        for row, text, verdict in zip(batch, texts, verdicts, strict=True):
            decision = decide_escalation(policy, text, verdict.negative, None)
            writer.writerow(
                [*row, verdict.label.value, f"{verdict.score:.4f}", verdict.language, str(decision.escalate).lower()]
            )
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            flush()
    if batch:
        flush()
    return 0
