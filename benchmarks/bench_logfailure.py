"""Benchmark of the log failure detector on the loghub samples.

Run `python -m benchmarks.bench_logfailure` to write benchmarks/results/logfailure.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ml.logfailure import commands, inference, train
from ml.logfailure.evaluate import default_bgl_log, split_by_time
from ml.logfailure.parsing import read_log_file

RESULTS_FILE = Path(__file__).parent / "results" / "logfailure.md"
TARGET_F1 = 0.95
REQUEST_LINES = 100
LATENCY_REQUESTS = 50


def _measure_latency(model_dir: Path, lines: list[str]) -> tuple[float, float]:
    model = inference.model_fn(str(model_dir))
    durations = []
    for index in range(LATENCY_REQUESTS):
        start = (index * REQUEST_LINES) % max(len(lines) - REQUEST_LINES, 1)
        body = json.dumps({"lines": lines[start : start + REQUEST_LINES]})
        began = time.perf_counter()
        inference.output_fn(inference.predict_fn(inference.input_fn(body, "application/json"), model), "application/json")
        durations.append((time.perf_counter() - began) * 1000)
    return float(np.percentile(durations, 50)), float(np.percentile(durations, 95))


def _metric_rows(metrics: dict) -> list[str]:
    detector = metrics["detector"]
    lookup = metrics["baseline_template_lookup"]
    tfidf = metrics["baseline_tfidf_logistic_regression"]
    rows = []
    for name in ("precision", "recall", "f1"):
        target, met = "", ""
        if name == "f1":
            target = f"{TARGET_F1}"
            met = "yes" if detector["f1"] >= TARGET_F1 else "no"
        rows.append(f"| {name} (per line) | {detector[name]:.3f} | {lookup[name]:.3f} | {tfidf[name]:.3f} | {target} | {met} |")
    return rows


def _warning_lines(warning: dict) -> list[str]:
    lines = [
        f"- warning lines (labelled normal, alert probability >= {warning['warning_threshold']}): "
        f"{warning['warning_lines']}, of which followed by an alert within "
        f"{warning['horizon_seconds'] / 3600:.0f} h: {warning['warning_precision'] or 0:.0%}",
        f"- alert lines with a warning in the {warning['horizon_seconds'] / 3600:.0f} h before them: "
        f"{warning['alerts_warned']} of {warning['alerts']}",
    ]
    if warning["alerts_warned"]:
        lines.append(
            f"- lead time (alert time minus earliest warning in the horizon): median "
            f"{warning['lead_time_seconds_median']:.0f} s, range {warning['lead_time_seconds_min']:.0f} to "
            f"{warning['lead_time_seconds_max']:.0f} s"
        )
    return lines


def run() -> str:
    """Train and evaluate on the BGL sample, report the other systems, and return Markdown."""
    log = default_bgl_log()
    if not log.is_file():
        return f"## Log failure prediction (logfailure)\n\nSkipped: BGL sample not found at {log}.\n"

    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder)
        began = time.perf_counter()
        metadata = train.main(["--train", str(log), "--model-dir", str(model_dir)])
        training_seconds = time.perf_counter() - began
        artifact_kib = (model_dir / train.ARTIFACT_FILE).stat().st_size / 1024

        raw_lines = [line for line in log.read_text("utf-8").splitlines() if line.strip()]
        _, test_lines = split_by_time(raw_lines, 0.7)
        p50, p95 = _measure_latency(model_dir, test_lines)

        parser = argparse.ArgumentParser()
        commands.add_evaluate_arguments(parser)
        systems = commands.evaluate(parser.parse_args(["--system", "all", "--model-dir", str(model_dir)]))

    metrics = metadata["metrics"]
    records = read_log_file(log)
    _, test_records = split_by_time(records, 0.7)
    gaps = np.diff([record.timestamp for record in test_records])

    out = [
        "## Log failure prediction (logfailure)",
        "",
        f"Data: loghub BGL sample ({len(records)} lines), split by time in file order: first "
        f"{metrics['train_lines']} lines train ({metrics['train_alerts']} alerts), last {metrics['test_lines']} "
        f"test ({metrics['detector']['alerts']} alerts). Share of test alert lines whose Drain template never "
        f"occurs in training: {metrics['test_alerts_unseen_template']:.0%}. The alert label token is stripped "
        "before any feature is built.",
        "",
        "| metric | detector | baseline: template lookup | baseline: TF-IDF logistic regression | target | met |",
        "|---|---|---|---|---|---|",
        *_metric_rows(metrics),
        "",
        "Warnings ahead of alerts (test part):",
        "",
        *_warning_lines(metrics["warning"]),
        f"- the sample is sparse in time: median gap between consecutive test lines {np.median(gaps):.0f} s, "
        f"maximum {gaps.max() / 3600:.0f} h",
        "",
        "Unlabelled loghub systems (structured CSV Content, Level and Component columns), model trained on BGL:",
        "",
        "| system | lines | flagged | highest-scored template (probability) |",
        "|---|---|---|---|",
    ]
    for system, report in systems.items():
        if system == "model":
            continue
        top = report["highest_scored_templates"][0]
        template = top["template"][:80].replace("|", "\\|")
        out.append(f"| {system} | {report['lines']} | {report['flagged']} | `{template}` ({top['alert_probability']:.2f}) |")
    out += [
        "",
        "| cost | value |",
        "|---|---|",
        f"| training time (Drain, detector and both baselines on the split) | {training_seconds:.1f} s |",
        f"| inference latency per request of {REQUEST_LINES} lines, p50 / p95 | {p50:.1f} ms / {p95:.1f} ms |",
        f"| artifact size | {artifact_kib:.0f} KiB |",
        "",
        "Measured on a 2-core machine with `python -m benchmarks.bench_logfailure`; latency goes through "
        "inference.py's input_fn, predict_fn and output_fn on a loaded model.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(run(), "utf-8")
    print(RESULTS_FILE.read_text("utf-8"))
