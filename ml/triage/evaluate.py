"""Evaluation of the triage model on ticket files, with baselines and an open-set check.

Reported on the held-out rows of a file:

- accuracy, weighted F1, and macro F1 over the categories with at least `min_support`
  rows in the whole file (rarer categories make macro F1 mostly noise);
- coverage (share of tickets not abstained) and accuracy on the covered tickets at the
  model's threshold, plus a table of both over a range of thresholds;
- queue accuracy when the file has queue labels.

Baselines trained on the same rows: the majority category, and plain TF-IDF words with
logistic regression (scikit-learn defaults).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline

from ml.triage.data import TicketSet
from ml.triage.model import QueueMap, TriageConfig, TriageModel, fit_triage_model

COVERAGE_THRESHOLDS: tuple[float, ...] = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
COVERAGE_LEVELS: tuple[float, ...] = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
MIN_SUPPORT = 20


def supported_categories(categories: list[str], min_support: int = MIN_SUPPORT) -> list[str]:
    """Return the categories with at least `min_support` rows, sorted."""
    return sorted(category for category, count in Counter(categories).items() if count >= min_support)


def classification_metrics(truth: list[str], predicted: list[str], macro_labels: list[str]) -> dict[str, float | None]:
    """Return accuracy, weighted F1 and macro F1 over `macro_labels`."""
    present = [label for label in macro_labels if label in set(truth)]
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "weighted_f1": float(f1_score(truth, predicted, average="weighted", zero_division=0)),
        "macro_f1": float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)) if present else None,
    }


def coverage_table(
    truth: list[str], predicted: list[str], confidence: np.ndarray, thresholds: tuple[float, ...] = COVERAGE_THRESHOLDS
) -> list[dict[str, float | None]]:
    """Return coverage and accuracy of the covered tickets for each confidence threshold."""
    correct = np.array(truth) == np.array(predicted)
    rows = []
    for threshold in thresholds:
        accepted = confidence >= threshold
        rows.append(
            {
                "threshold": threshold,
                "coverage": float(accepted.mean()),
                "accuracy": float(correct[accepted].mean()) if accepted.any() else None,
            }
        )
    return rows


def accuracy_at_coverage(
    truth: list[str], predicted: list[str], confidence: np.ndarray, coverages: tuple[float, ...] = COVERAGE_LEVELS
) -> list[dict[str, float]]:
    """Return the accuracy of the most confident share of tickets for each coverage level.

    Unlike a fixed threshold, a fixed coverage compares models whose probabilities are
    scaled differently.
    """
    correct = (np.array(truth) == np.array(predicted))[np.argsort(-confidence, kind="stable")]
    rows = []
    for coverage in coverages:
        kept = max(1, round(coverage * len(correct)))
        rows.append({"coverage": coverage, "accuracy": float(correct[:kept].mean())})
    return rows


def evaluate_model(model: TriageModel, test: TicketSet, macro_labels: list[str]) -> dict[str, Any]:
    """Score a fitted model on test tickets; the forced choice is the top category."""
    probabilities, similarity = model.score(test.texts)
    labels = np.array(model.labels)
    forced = labels[probabilities.argmax(axis=1)].tolist()
    confidence = probabilities.max(axis=1)
    predictions = model.predict(test.texts)

    truth = np.array(test.categories)
    abstained = np.array([prediction.abstained for prediction in predictions])
    correct = truth == np.array(forced)

    metrics: dict[str, Any] = {
        "rows": len(test),
        **classification_metrics(test.categories, forced, macro_labels),
        "threshold": model.threshold,
        "min_similarity": model.min_similarity,
        "coverage": float((~abstained).mean()),
        "covered_accuracy": float(correct[~abstained].mean()) if (~abstained).any() else None,
        "abstained_low_confidence": sum(p.reason == "low_confidence" for p in predictions),
        "abstained_unfamiliar_text": sum(p.reason == "unfamiliar_text" for p in predictions),
        "coverage_table": coverage_table(test.categories, forced, confidence),
        "accuracy_at_coverage": accuracy_at_coverage(test.categories, forced, confidence),
        "unseen_category_rows": int(np.sum(~np.isin(truth, labels))),
        "mean_similarity": float(similarity.mean()),
    }
    if test.queues is not None:
        routed = [model.queue_map.queue_for(category) for category in forced]
        metrics["queue_accuracy"] = float(accuracy_score(test.queues, routed))
    return metrics


def baseline_metrics(train: TicketSet, test: TicketSet, macro_labels: list[str]) -> dict[str, dict[str, Any]]:
    """Score the majority-category and plain TF-IDF + logistic regression baselines."""
    majority = Counter(train.categories).most_common(1)[0][0]
    plain = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    plain.fit(train.texts, train.categories)
    plain_predicted = plain.predict(test.texts).tolist()
    plain_confidence = plain.predict_proba(test.texts).max(axis=1)
    return {
        "majority": classification_metrics(test.categories, [majority] * len(test), macro_labels),
        "tfidf_logreg": {
            **classification_metrics(test.categories, plain_predicted, macro_labels),
            "coverage_table": coverage_table(test.categories, plain_predicted, plain_confidence),
            "accuracy_at_coverage": accuracy_at_coverage(test.categories, plain_predicted, plain_confidence),
        },
    }


def open_set_check(
    train: TicketSet, test: TicketSet, held_out: list[str], config: TriageConfig | None = None
) -> dict[str, Any]:
    """Train without some categories and measure how often their test tickets are abstained.

    Returns the abstention rate on the held-out categories' tickets beside the rate on
    known-category tickets, and the ROC AUC of confidence and of similarity for telling
    the held-out tickets apart (0.5 is chance, 1.0 is perfect).
    """
    missing = sorted(set(held_out) - set(train.categories))
    if missing:
        raise ValueError(f"category {', '.join(missing)} does not occur in the training rows")
    keep = [i for i, category in enumerate(train.categories) if category not in held_out]
    novel = np.array([category in held_out for category in test.categories])
    if not novel.any() or novel.all():
        raise ValueError(f"the test rows need tickets both of category {', '.join(held_out)} and of other categories")

    reduced = train.subset(keep)
    model, _ = fit_triage_model(reduced.texts, reduced.categories, QueueMap.identity(reduced.categories), config)
    probabilities, similarity = model.score(test.texts)
    abstained = np.array([prediction.abstained for prediction in model.predict(test.texts)])
    return {
        "held_out_categories": list(held_out),
        "held_out_rows": int(novel.sum()),
        "known_rows": int((~novel).sum()),
        "abstained_held_out": float(abstained[novel].mean()),
        "abstained_known": float(abstained[~novel].mean()),
        "auroc_confidence": float(roc_auc_score(novel, -probabilities.max(axis=1))),
        "auroc_similarity": float(roc_auc_score(novel, -similarity)),
    }


def foreign_text_check(model: TriageModel, foreign: TicketSet) -> dict[str, Any]:
    """Return the share of tickets from another domain that the model abstains on."""
    predictions = model.predict(foreign.texts)
    return {
        "rows": len(foreign),
        "abstained": float(np.mean([prediction.abstained for prediction in predictions])),
        "abstained_unfamiliar_text": float(np.mean([prediction.reason == "unfamiliar_text" for prediction in predictions])),
    }

