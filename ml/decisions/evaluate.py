"""Evaluate the decision model and the decision policy on held-out past decisions.

The history is split by time: the model trains on the oldest 80 % of decisions and is scored on
the newest 20 %, as it would be used. The report gives the model's accuracy at probability 0.5
against two baselines, the majority label and the explicit policy rules alone. For the whole
policy (model plus rules, functions/domain/workflows/decisions.py) it gives the share of requests
decided automatically and how often those decisions agree with the person who decided.

    python -m ml.decisions.evaluate [--rows N] [--seed S] [--history FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from functions.domain.workflows.decisions import ApprovalFeatures, DecisionPolicy, decide, violation_of
from ml.decisions.generator import generate
from ml.decisions.history import read_rows
from ml.decisions.model import DecisionModel

HELD_OUT_SHARE = 0.2
THRESHOLDS = (0.8, 0.9, 0.95)


class _ModelEndpoint:
    """The trained model behind the ModelEndpoint interface, as InProcessEndpoint serves it."""

    name = "decisions"

    def __init__(self, model: DecisionModel) -> None:
        self._model = model

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        probabilities = self._model.approve_probability(payload["requests"])
        return {"model_version": "evaluation", "predictions": [{"approve_probability": value} for value in probabilities]}


def features_of(row: dict[str, Any]) -> ApprovalFeatures:
    return ApprovalFeatures(
        system=row["system"], level=row["level"], role=row["role"], department=row["department"],
        employee_type=row["employee_type"], in_role_template=bool(row["in_role_template"]),
        privileged_count=int(row["privileged_count"]),
    )


def split_by_time(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ordered = sorted(rows, key=lambda row: row["decided_at"])
    cut = int(len(ordered) * (1 - HELD_OUT_SHARE))
    return ordered[:cut], ordered[cut:]


def evaluate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    train_rows, test_rows = split_by_time(rows)
    model = DecisionModel.fit(train_rows)
    labels = [bool(row["approved"]) for row in test_rows]
    probabilities = model.approve_probability(test_rows)

    majority = Counter(bool(row["approved"]) for row in train_rows).most_common(1)[0][0]
    policy_only = [violation_of(features_of(row)) is None for row in test_rows]
    report: dict[str, Any] = {
        "train_rows": len(train_rows),
        "held_out_rows": len(test_rows),
        "held_out_approved_share": sum(labels) / len(labels),
        "model_accuracy": _accuracy([probability >= 0.5 for probability in probabilities], labels),
        "majority_accuracy": _accuracy([majority] * len(labels), labels),
        "policy_only_accuracy": _accuracy(policy_only, labels),
        "thresholds": [],
    }
    endpoint = _ModelEndpoint(model)
    for threshold in THRESHOLDS:
        policy = DecisionPolicy(approve_threshold=threshold)
        outcomes = [decide(features_of(row), policy, endpoint).outcome.value for row in test_rows]
        automatic = [(outcome, label) for outcome, label in zip(outcomes, labels, strict=True) if outcome != "human"]
        approved = [label for outcome, label in automatic if outcome == "approve"]
        rejected = [label for outcome, label in automatic if outcome == "reject"]
        report["thresholds"].append(
            {
                "approve_threshold": threshold,
                "auto_decision_rate": len(automatic) / len(outcomes),
                "auto_approve_rate": len(approved) / len(outcomes),
                "auto_reject_rate": len(rejected) / len(outcomes),
                "auto_decision_accuracy": _accuracy([outcome == "approve" for outcome, _ in automatic], [label for _, label in automatic]) if automatic else None,
                "auto_approve_precision": sum(approved) / len(approved) if approved else None,
                "auto_reject_precision": (len(rejected) - sum(rejected)) / len(rejected) if rejected else None,
            }
        )
    return report


def _accuracy(predicted: list[bool], actual: list[bool]) -> float:
    return sum(p == a for p, a in zip(predicted, actual, strict=True)) / len(actual)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.decisions.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=8000, help="rows of generated history (without --history)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the generated history")
    parser.add_argument("--history", default=None, help="JSON Lines of recorded decisions to evaluate on instead")
    arguments = parser.parse_args(argv)

    from pathlib import Path

    rows = read_rows(Path(arguments.history)) if arguments.history else generate(arguments.rows, seed=arguments.seed)
    print(json.dumps(evaluate(rows), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
