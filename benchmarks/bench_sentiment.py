"""Benchmark of the sentiment model on NSMC, the UCI sentences, Bitext and the service desk corpus.

Every file is split 80/20 (stratified, fixed seed). The model and a plain TF-IDF (char 1-4 and
word 1-2 grams) logistic regression baseline train on the 80 % parts and are scored on the 20 %
parts. Latency is one single-text request through inference.py's four functions, with the model
trained on the full training parts.

Run ``python -m benchmarks.bench_sentiment`` to write ``benchmarks/results/sentiment.md``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ml.sentiment import inference
from ml.sentiment.data import CORPUS_PATH, default_bitext_file, default_english_files, default_nsmc_file, read_corpus
from ml.sentiment.evaluate import BASELINE_NAME, evaluate_files
from ml.sentiment.train import MODEL_FILE, main as train_main

RESULTS_FILE = Path(__file__).parent / "results" / "sentiment.md"
TARGETS = {"nsmc": 0.89, "english": 0.86}
LATENCY_REQUESTS = 300


def _measure_latency(model_dir: Path, texts: list[str]) -> tuple[float, float]:
    """Return p50 and p95 in milliseconds of single-text requests through the four handler functions."""
    model = inference.model_fn(str(model_dir))
    timings = []
    for i in range(LATENCY_REQUESTS):
        body = json.dumps({"text": texts[i % len(texts)]}, ensure_ascii=False)
        started = time.perf_counter()
        inference.output_fn(inference.predict_fn(inference.input_fn(body, "application/json"), model), "application/json")
        timings.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(timings, n=100)
    return quantiles[49], quantiles[94]


def _row(name: str, scores: dict[str, Any], target: float | None) -> str:
    model, baseline = scores["model"], scores.get("baseline", {})
    cells = []
    for key in ("accuracy", "macro_f1", "brier", "ece"):
        other = f"{baseline[key]:.3f}" if key in baseline else "–"
        cells.append(f"{model[key]:.3f} ({other})")
    met, target_text = "–", "–"
    if target is not None:
        met = "yes" if model["accuracy"] >= target else "no"
        target_text = f"{target:.2f}"
    return f"| {name} | {model['n']} | " + " | ".join(cells) + f" | {model.get('neutral_rate', '–')} | {target_text} | {met} |"


def run() -> str:
    nsmc = default_nsmc_file()
    english = default_english_files()
    bitext = default_bitext_file()
    if nsmc is None or not english:
        raise FileNotFoundError("public sentiment data sets not found; set SERVICEDESK_DATA_DIR")

    print("sentiment: evaluating on held-out parts", file=sys.stderr, flush=True)
    results = evaluate_files([nsmc], english, bitext_file=bitext)

    print("sentiment: training the full model for latency and size", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as work:
        model_dir = Path(work)
        started = time.perf_counter()
        train_main(["--model-dir", str(model_dir), "--nsmc", str(nsmc), "--english", *map(str, english), "--holdout", "0.2"])
        training_seconds = time.perf_counter() - started
        size_mb = (model_dir / MODEL_FILE).stat().st_size / 1e6
        samples = read_corpus(CORPUS_PATH).texts
        p50, p95 = _measure_latency(model_dir, samples)

    datasets = results["datasets"]
    lines = [
        "## Sentiment (`ml/sentiment`)",
        "",
        "Measured on a 2-core machine (shared with other jobs while it ran) by `python -m benchmarks.bench_sentiment`.",
        "",
        "Three classes (negative, neutral, positive): a neutral gate trained on the project's service desk corpus, "
        "in front of Korean and English polarity experts (NB-weighted logistic regression on char 1-5-gram, "
        "Korean morpheme 1-3-gram and negation-marked word 1-3-gram TF-IDF). Each file is split 80/20 "
        "(stratified, fixed seed); everything trains on the 80 % parts and is scored on the 20 % parts. "
        "Review data is labelled only negative/positive, so its scores use the polarity decision, and "
        "*neutral rate* is the share of reviews the full three-class model calls neutral. "
        f"Baseline in brackets: `{BASELINE_NAME}` (TF-IDF char 1-4 + word 1-2 grams, logistic regression) trained "
        "on the same 80 % part of the same language. Brier score and ECE (10 bins) measure calibration; lower is better.",
        "",
        "| held-out set | rows | accuracy (baseline) | macro-F1 (baseline) | Brier (baseline) | ECE (baseline) | neutral rate | target accuracy | target met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, scores in datasets.items():
        if name == "service_desk_corpus":
            continue
        lines.append(_row(name, scores, TARGETS.get(name)))
    corpus = datasets["service_desk_corpus"]["model"]
    lines += [
        "",
        f"Service desk corpus, three classes, {corpus['n']} held-out messages (no baseline: the review-trained "
        f"baseline has no neutral class): accuracy {corpus['accuracy']:.3f}, macro-F1 {corpus['macro_f1']:.3f}, "
        f"multi-class Brier {corpus['brier']:.3f}, ECE {corpus['ece']:.3f}. This set is small and written for "
        "the project, so it shows the domain fit rather than an independent estimate.",
    ]
    if "bitext_complaints" in results:
        counts = results["bitext_complaints"]
        lines += [
            "",
            f"Bitext customer messages (English, no sentiment labels): of {counts['complaints']} messages with intent "
            f"`complaint`, the model labels {counts['complaints_negative']} negative and {counts['complaints_neutral']} "
            f"neutral; the review-trained baseline finds {counts['baseline_complaints_negative']} negative. Of the "
            f"{counts['other_intents']} messages with other intents (orders, refunds, accounts), the model labels "
            f"{counts['other_intents_negative']} negative and the baseline {counts['baseline_other_intents_negative']}. "
            f"ROC AUC of p(negative) for complaint against other intents: model {counts['complaint_roc_auc']:.3f}, "
            f"baseline {counts['baseline_complaint_roc_auc']:.3f}.",
        ]
    lines += [
        "",
        "| cost | value |",
        "|---|---|",
        f"| training time, 80 % of NSMC + UCI sentences + corpus | {training_seconds:.0f} s |",
        f"| artifact size (model.joblib) | {size_mb:.1f} MB |",
        f"| latency per single-text request, p50 / p95 | {p50:.1f} / {p95:.1f} ms |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    section = run()
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(section + "\n", "utf-8")
    print(section)


if __name__ == "__main__":
    main()
