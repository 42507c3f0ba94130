"""Tune the streaming anomaly detector on a corpus in the NAB layout (SageMaker script mode).

The detector learns each series online, so "training" only chooses the alert threshold: the
detector runs once over the corpus, then every candidate threshold is replayed through the alert
policy and scored with the NAB standard profile. The NAB thresholds of all three profiles are
stored too. When the same corpus is used for tuning and for the reported score, the score is
optimistic in the same way NAB's own per-profile threshold optimisation is.

Writes `detector.json` (settings and thresholds) and `metadata.json` into the model dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ml.anomaly.detector import DetectorConfig, measure_series, replay_alert_policy
from ml.anomaly.nab_corpus import Series, corpus_files, load_corpus
from ml.anomaly.nab_scoring import PROFILES, SeriesResult, score_corpus
from ml.common.artifacts import fingerprint_files, model_dir, write_metadata

MODEL_NAME = "anomaly"
ARTIFACT_FILE = "detector.json"
DEFAULT_ALERT_THRESHOLDS = (0.15, 0.2, 0.25, 0.3)


def tune_alert_threshold(
    corpus: list[Series],
    config: DetectorConfig,
    candidates: tuple[float, ...] = DEFAULT_ALERT_THRESHOLDS,
    workers: int = 2,
) -> tuple[DetectorConfig, dict[str, Any]]:
    """Return the config with the best alert threshold and the NAB scores it reached."""
    measure = partial(measure_series, config=config)
    values = [series.values for series in corpus]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            combined = list(pool.map(measure, values))
    else:
        combined = [measure(series_values) for series_values in values]

    trials = []
    best_config, best_scores = None, None
    for candidate in candidates:
        trial_config = replace(config, alert_threshold=candidate)
        results = {
            series.name: SeriesResult(series.timestamps, replay_alert_policy(scores, trial_config), series.windows)
            for series, scores in zip(corpus, combined, strict=True)
        }
        scores = score_corpus(results)
        trials.append({"alert_threshold": candidate, "standard": round(scores["standard"].score, 2)})
        print(f"alert threshold {candidate}: NAB standard {scores['standard'].score:.2f}", file=sys.stderr)
        if best_scores is None or scores["standard"].score > best_scores["standard"].score:
            best_config, best_scores = trial_config, scores

    metrics = {
        profile: {"score": round(result.score, 2), "threshold": result.threshold}
        for profile, result in best_scores.items()
    }
    return best_config, {"nab": metrics, "trials": trials}


def train_model(
    nab_dir: Path,
    output_dir: Path,
    config: DetectorConfig,
    candidates: tuple[float, ...] = DEFAULT_ALERT_THRESHOLDS,
    limit: int | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Tune the detector on the corpus at `nab_dir`, write the artifact and return its metadata."""
    started = time.perf_counter()
    corpus = load_corpus(nab_dir, limit=limit)
    print(f"tuning on {len(corpus)} series from {nab_dir}", file=sys.stderr)
    tuned, metrics = tune_alert_threshold(corpus, config, candidates, workers)

    version = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    artifact = {
        "model": MODEL_NAME,
        "version": version,
        "config": tuned.to_dict(),
        "nab_thresholds": {profile: values["threshold"] for profile, values in metrics["nab"].items()},
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / ARTIFACT_FILE).write_text(json.dumps(artifact, indent=2) + "\n", "utf-8")
    files = [path for path in corpus_files(nab_dir) if path.is_file()]
    return write_metadata(
        output_dir,
        name=MODEL_NAME,
        version=version,
        metrics={**metrics, "tuned_on_scored_series": True, "series": len(corpus)},
        config=tuned.to_dict(),
        data_fingerprint=fingerprint_files(files),
        training_seconds=round(time.perf_counter() - started, 1),
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the training script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("SM_MODEL_DIR", model_dir(MODEL_NAME))),
        help="folder for detector.json and metadata.json",
    )
    parser.add_argument(
        "--nab",
        type=Path,
        default=os.environ.get("SM_CHANNEL_NAB"),
        help="corpus folder with data/<category>/*.csv and labels/combined_windows.json",
    )
    add_hyperparameters(parser)
    return parser


def add_hyperparameters(parser: argparse.ArgumentParser) -> None:
    """Add the detector settings and tuning options to a parser."""
    defaults = DetectorConfig()
    parser.add_argument("--warmup", type=int, default=defaults.warmup, help="points before the first score")
    parser.add_argument("--suppression", type=int, default=defaults.suppression, help="points damped after an alert")
    parser.add_argument(
        "--alert-thresholds",
        type=float,
        nargs="+",
        default=list(DEFAULT_ALERT_THRESHOLDS),
        help="candidate alert thresholds in (0, 1]; the best on the NAB standard profile is kept",
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N series (quick runs)")
    parser.add_argument("--workers", type=int, default=2, help="processes that run the detector")


def config_from_args(args: argparse.Namespace) -> DetectorConfig:
    """Return the detector config named by the parsed arguments."""
    return replace(DetectorConfig(), warmup=args.warmup, suppression=args.suppression)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train from the command line; prints the metadata as JSON."""
    args = build_parser().parse_args(argv)
    if args.nab is None:
        raise SystemExit("missing corpus: pass --nab DIR or set SM_CHANNEL_NAB")
    metadata = train_model(
        args.nab, args.model_dir, config_from_args(args), tuple(args.alert_thresholds), args.limit, args.workers
    )
    print(json.dumps(metadata, indent=2))
    return metadata


if __name__ == "__main__":
    main()
