"""Benchmark of the triage model on the Endava and Bitext ticket data.

Endava: trained on the first 80 % of the file, scored on the last 20 % (the label mix drifts
along the file), beside a majority-category and a plain TF-IDF + logistic regression
baseline fitted on the same rows. Open-set checks retrain without one category at a time and
score the abstention on its tickets, and score Bitext customer messages as text from another
domain. Bitext (synthetic, nearly saturated) is a smoke test on an interleaved split.

Run ``python -m benchmarks.bench_triage`` to write ``benchmarks/results/triage.md``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ml.triage import inference
from ml.triage.data import default_data_file, load_tickets, split_tickets
from ml.triage.evaluate import baseline_metrics, foreign_text_check, open_set_check, supported_categories
from ml.triage.model import TriageConfig, TriageModel
from ml.triage.train import train_triage

RESULTS_FILE = Path(__file__).parent / "results" / "triage.md"
TEST_FRACTION = 0.2
OPEN_SET_CATEGORIES = ("6", "5")
LATENCY_REQUESTS = 200
FOREIGN_ROWS = 500


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _measure_latency(model_dir: Path, texts: list[str], batch: int) -> tuple[float, float]:
    """Return p50 and p95 in milliseconds of one request through the four handler functions."""
    model = inference.model_fn(str(model_dir))
    timings = []
    for i in range(LATENCY_REQUESTS):
        chunk = [texts[(i * batch + j) % len(texts)] for j in range(batch)]
        body = json.dumps({"texts": chunk})
        started = time.perf_counter()
        inference.output_fn(inference.predict_fn(inference.input_fn(body, "application/json"), model), "application/json")
        timings.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(timings, n=100)
    return quantiles[49], quantiles[94]


def _endava_section(work: Path) -> list[str]:
    data_file = default_data_file("endava")
    tickets = load_tickets(data_file, "endava")
    train, test = split_tickets(tickets, TEST_FRACTION, "order")
    macro_labels = supported_categories(tickets.categories)
    config = TriageConfig()

    print("endava: training", file=sys.stderr)
    model_dir = work / "endava"
    metadata = train_triage(data_file, "endava", model_dir, config, test_fraction=TEST_FRACTION)
    result = metadata["metrics"]["test"]
    limits = metadata["metrics"]["limits"]
    print("endava: baselines", file=sys.stderr)
    baselines = baseline_metrics(train, test, macro_labels)
    majority, plain = baselines["majority"], baselines["tfidf_logreg"]

    lines = [
        f"Endava IT tickets: {len(train)} training rows (first 80 % of the file), {len(test)} test rows "
        f"(last 20 %). Macro F1 is over categories with at least 20 rows in the file: {', '.join(macro_labels)}. "
        "Model: TF-IDF word 1–2-grams + char 2–5-grams, logistic regression with balanced class weights. "
        "Target: beat the plain TF-IDF + logistic regression baseline on every metric.",
        "",
        "| metric (forced choice, all test rows) | triage model | majority baseline | TF-IDF + LR baseline | target met |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("accuracy", "accuracy"), ("weighted_f1", "weighted F1"), ("macro_f1", "macro F1 (≥ 20 rows)")):
        met = "yes" if result[key] > plain[key] else "no"
        lines.append(f"| {label} | {_fmt(result[key])} | {_fmt(majority[key])} | {_fmt(plain[key])} | {met} |")

    lines += [
        "",
        f"Abstention (\"not sure\"): threshold {limits['threshold']:.3f} chosen on a validation slice "
        f"(last 20 % of the training rows) as the lowest confidence whose accepted tickets reach "
        f"{limits['target_accuracy']:.0%} accuracy, plus a similarity floor of {limits['min_similarity']:.3f} "
        f"(the {config.similarity_quantile:.0%} quantile of validation similarity to the training tickets). "
        f"On the test rows: coverage {result['coverage']:.3f}, accuracy of covered tickets "
        f"{result['covered_accuracy']:.3f} (target {limits['target_accuracy']:.2f}: "
        f"{'met' if result['covered_accuracy'] >= limits['target_accuracy'] else 'not met'}); "
        f"{result['abstained_low_confidence']} abstained for low confidence, "
        f"{result['abstained_unfamiliar_text']} for unfamiliar text.",
        "",
        "Coverage against accuracy by confidence threshold (the two models' probabilities are scaled differently):",
        "",
        "| threshold | model coverage | model accuracy | TF-IDF + LR coverage | TF-IDF + LR accuracy |",
        "|---|---|---|---|---|",
    ]
    for ours, theirs in zip(result["coverage_table"], plain["coverage_table"], strict=True):
        lines.append(
            f"| {ours['threshold']:.2f} | {_fmt(ours['coverage'])} | {_fmt(ours['accuracy'])} | "
            f"{_fmt(theirs['coverage'])} | {_fmt(theirs['accuracy'])} |"
        )
    lines += [
        "",
        "Accuracy of the most confident share of tickets (same coverage for both models):",
        "",
        "| coverage | model accuracy | TF-IDF + LR accuracy |",
        "|---|---|---|",
    ]
    for ours, theirs in zip(result["accuracy_at_coverage"], plain["accuracy_at_coverage"], strict=True):
        lines.append(f"| {ours['coverage']:.0%} | {_fmt(ours['accuracy'])} | {_fmt(theirs['accuracy'])} |")

    lines += [
        "",
        "Open-set check: the model is retrained without one category and scored on the same test rows. "
        "A ticket of the held-out category can only be right if the model abstains.",
        "",
        "| held-out category | its test rows | abstained on them | abstained on known categories | ROC AUC of confidence | ROC AUC of similarity |",
        "|---|---|---|---|---|---|",
    ]
    for category in OPEN_SET_CATEGORIES:
        print(f"endava: open-set check without category {category}", file=sys.stderr)
        check = open_set_check(train, test, [category], config)
        lines.append(
            f"| {category} | {check['held_out_rows']} | {check['abstained_held_out']:.3f} | "
            f"{check['abstained_known']:.3f} | {check['auroc_confidence']:.3f} | {check['auroc_similarity']:.3f} |"
        )

    bitext_file = default_data_file("bitext")
    if bitext_file.exists():
        foreign = load_tickets(bitext_file, "bitext").subset(slice(0, None, 7))
        foreign = foreign.subset(slice(0, FOREIGN_ROWS))
        check = foreign_text_check(TriageModel.load(model_dir), foreign)
        lines += [
            "",
            f"Text from another domain: {check['rows']} Bitext customer messages sent to the Endava model are "
            f"abstained on {check['abstained']:.1%} of the time ({check['abstained_unfamiliar_text']:.1%} as unfamiliar text).",
        ]

    p50, p95 = _measure_latency(model_dir, test.texts, batch=1)
    p50_batch, p95_batch = _measure_latency(model_dir, test.texts, batch=16)
    lines += [
        "",
        "| cost | value |",
        "|---|---|",
        f"| training time (final fit, incl. the validation fit that picks the limits) | {metadata['training_seconds']:.1f} s |",
        f"| artifact size (model.joblib) | {metadata['artifact_bytes'] / 1e6:.2f} MB |",
        f"| latency p50 / p95, 1 text per request | {p50:.1f} / {p95:.1f} ms |",
        f"| latency p50 / p95, 16 texts per request | {p50_batch:.1f} / {p95_batch:.1f} ms |",
    ]
    return lines


def _bitext_section(work: Path) -> list[str]:
    data_file = default_data_file("bitext")
    tickets = load_tickets(data_file, "bitext")
    train, test = split_tickets(tickets, TEST_FRACTION, "interleaved")
    macro_labels = supported_categories(tickets.categories)

    print("bitext: training", file=sys.stderr)
    metadata = train_triage(data_file, "bitext", work / "bitext", TriageConfig(), test_fraction=TEST_FRACTION)
    result = metadata["metrics"]["test"]
    baselines = baseline_metrics(train, test, macro_labels)
    majority, plain = baselines["majority"], baselines["tfidf_logreg"]

    lines = [
        f"Bitext customer support (synthetic, a smoke test): {len(train)} training rows, {len(test)} test rows "
        "spread evenly over the file (it is sorted by intent). Category = intent (27), queue = the data set's "
        "routing category (11).",
        "",
        "| metric | triage model | majority baseline | TF-IDF + LR baseline |",
        "|---|---|---|---|",
    ]
    for key, label in (("accuracy", "intent accuracy"), ("weighted_f1", "weighted F1"), ("macro_f1", "macro F1 (≥ 20 rows)")):
        lines.append(f"| {label} | {_fmt(result[key])} | {_fmt(majority[key])} | {_fmt(plain[key])} |")
    lines += [
        f"| queue accuracy | {_fmt(result['queue_accuracy'])} | – | – |",
        f"| coverage / covered accuracy | {_fmt(result['coverage'])} / {_fmt(result['covered_accuracy'])} | – | – |",
        f"| training time | {metadata['training_seconds']:.1f} s | – | – |",
    ]
    return lines


def run() -> str:
    """Train and evaluate on the public data and return the Markdown section."""
    if not default_data_file("endava").exists():
        return "## Ticket triage\n\nSkipped: the Endava ticket data set is not available.\n"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        lines = ["## Ticket triage (`ml/triage`)", "", "Measured on a 2-core machine by `python -m benchmarks.bench_triage`.", ""]
        lines += _endava_section(work)
        if default_data_file("bitext").exists():
            lines += [""] + _bitext_section(work)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    section = run()
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(section, "utf-8")
    print(section)
