"""Approval decision model and policy on held-out past decisions (ml/decisions/evaluate.py)."""

from __future__ import annotations

import time

from ml.decisions.evaluate import evaluate
from ml.decisions.generator import generate

ROWS = 8000
SEED = 11


def run() -> str:
    started = time.perf_counter()
    report = evaluate(generate(ROWS, seed=SEED))
    seconds = time.perf_counter() - started

    lines = [
        "## Approval decisions (`ml/decisions`)",
        "",
        f"Data: {ROWS} access-approval decisions from the documented generator `ml/decisions/generator.py` "
        f"(seed {SEED}; no public approval log exists), 40 simulated approvers over 18 months with a stricter "
        "policy on admin access from month 12. Split by time: the model trains on the oldest "
        f"{report['train_rows']} decisions and is scored on the newest {report['held_out_rows']} "
        f"({report['held_out_approved_share']:.1%} approved). Baselines: the majority label of the training "
        "part; the explicit policy rules alone (approve unless a rule is violated). These numbers describe the "
        "simulation, so they show how the policy behaves, not accuracy on a real tenant's history; "
        "`python -m ml.decisions.evaluate --history FILE` measures a tenant's recorded decisions.",
        "",
        "| predictor | accuracy on held-out decisions |",
        "|---|---|",
        f"| model (logistic regression, probability >= 0.5) | {report['model_accuracy']:.3f} |",
        f"| majority label | {report['majority_accuracy']:.3f} |",
        f"| policy rules alone | {report['policy_only_accuracy']:.3f} |",
        "",
        "The decision policy (functions/domain/workflows/decisions.py) decides automatically only when the "
        "model is confident **and** the risk is low **and** the request is within limits, and rejects only on "
        "a rule violation; the rest goes to a person. Agreement is with the person's recorded decision.",
        "",
        "| approve threshold | decided automatically | auto-approved | auto-rejected | agreement of automatic decisions | auto-approve precision | auto-reject precision |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["thresholds"]:
        lines.append(
            f"| {row['approve_threshold']:.2f} | {row['auto_decision_rate']:.1%} | {row['auto_approve_rate']:.1%} | "
            f"{row['auto_reject_rate']:.1%} | {_fmt(row['auto_decision_accuracy'])} | {_fmt(row['auto_approve_precision'])} | "
            f"{_fmt(row['auto_reject_precision'])} |"
        )
    lines += [
        "",
        "The deployed threshold is 0.90 (DECISION_APPROVE_THRESHOLD). Auto-reject precision is lower because "
        "the simulated approvers sometimes approve requests that break the written policy; the policy rejects "
        "them anyway, and a person can overrule, which becomes a training label.",
        "",
        f"Evaluation time (generation, training, {len(report['thresholds'])} policy runs): {seconds:.1f} s.",
    ]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
