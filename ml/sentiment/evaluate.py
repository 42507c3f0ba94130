"""Evaluate the sentiment model beside a TF-IDF logistic regression baseline on held-out data.

Each review file is split 80/20 (stratified, fixed seed); the model and the baseline train on the
80 % parts and are scored on the 20 % parts. Review files are labelled only negative or positive,
so their accuracy, macro-F1, Brier score and ECE are computed from the polarity decision
(negative when p(negative) > p(positive)); `neutral_rate` reports how many reviews the full
three-class model would call neutral. The service desk corpus is split the same way and scored
on all three classes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from ml.sentiment.data import CORPUS_PATH, LabelledTexts, holdout_split, read_bitext
from ml.sentiment.model import LABELS, SentimentModel

BASELINE_NAME = "tfidf_char1-4_word1-2_logreg"
ECE_BINS = 10


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Return the ECE of top-label confidences over equal-width bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)


def binary_scores(p_negative: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Return accuracy, macro-F1, Brier score and ECE of negative/positive predictions."""
    truth = labels == "negative"
    predicted = p_negative > 0.5
    confidence = np.where(predicted, p_negative, 1 - p_negative)
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
        "brier": round(float(np.mean((p_negative - truth) ** 2)), 4),
        "ece": round(expected_calibration_error(confidence, predicted == truth), 4),
    }


def score_reviews(model: SentimentModel, data: LabelledTexts) -> dict[str, Any]:
    """Score the model on a binary review set; see the module docstring."""
    probabilities = model.predict_proba(data.texts)
    p_negative = probabilities[:, 0] / np.clip(probabilities[:, 0] + probabilities[:, 2], 1e-12, None)
    scores = binary_scores(p_negative, data.labels)
    scores["neutral_rate"] = round(float(np.mean(probabilities.argmax(axis=1) == LABELS.index("neutral"))), 4)
    scores["n"] = len(data)
    return scores


def score_corpus(model: SentimentModel, data: LabelledTexts) -> dict[str, Any]:
    """Score the model on three-class service desk messages (accuracy, macro-F1, multi-class Brier)."""
    probabilities = model.predict_proba(data.texts)
    predicted = np.asarray(LABELS)[probabilities.argmax(axis=1)]
    one_hot = (data.labels[:, None] == np.asarray(LABELS)[None, :]).astype(float)
    confidence = probabilities.max(axis=1)
    return {
        "accuracy": round(float(accuracy_score(data.labels, predicted)), 4),
        "macro_f1": round(float(f1_score(data.labels, predicted, average="macro", labels=list(LABELS))), 4),
        "brier": round(float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1))), 4),
        "ece": round(expected_calibration_error(confidence, predicted == data.labels), 4),
        "n": len(data),
    }


def _merge(parts: list[LabelledTexts], name: str) -> LabelledTexts:
    return LabelledTexts(name, [text for part in parts for text in part.texts], np.concatenate([part.labels for part in parts]))


def _group(held_out: dict[str, LabelledTexts]) -> dict[str, LabelledTexts]:
    """Return the held-out parts by file plus one merged set per language ("nsmc", "english")."""
    groups = dict(held_out)
    for prefix in ("nsmc", "english"):
        parts = [data for name, data in held_out.items() if name.startswith(prefix + "/")]
        if len(parts) > 1:
            groups[prefix] = _merge(parts, prefix)
        elif parts:
            groups[prefix] = groups.pop(next(name for name in held_out if name.startswith(prefix + "/")))
    return groups


def score_held_out(model: SentimentModel, held_out: dict[str, LabelledTexts]) -> dict[str, Any]:
    """Score the model on each held-out review set, plus the merged set per language."""
    return {name: score_reviews(model, data) for name, data in _group(held_out).items() if len(data)}


class Baseline:
    """TF-IDF (char 1-4 and word 1-2 grams) logistic regression on binary review labels."""

    def __init__(self) -> None:
        self.vectorizers = [
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32),
        ]
        self.classifier = LogisticRegression(C=1.0, max_iter=2000)

    def fit(self, data: LabelledTexts) -> Baseline:
        matrix = sp.hstack([vectorizer.fit_transform(data.texts) for vectorizer in self.vectorizers]).tocsr()
        self.classifier.fit(matrix, data.labels == "negative")
        return self

    def predict_negative(self, texts: list[str]) -> np.ndarray:
        matrix = sp.hstack([vectorizer.transform(texts) for vectorizer in self.vectorizers]).tocsr()
        return self.classifier.predict_proba(matrix)[:, 1]


def evaluate_files(
    nsmc_files: list[Path],
    english_files: list[Path],
    *,
    corpus_files: list[Path] | None = None,
    bitext_file: Path | None = None,
    holdout: float = 0.2,
    max_nsmc_rows: int = 0,
    hyper: Any = None,
) -> dict[str, Any]:
    """Train the model and the baseline on the 80 % parts and score both on the held-out parts."""
    from ml.sentiment.train import Hyperparameters, fit_model, load_training_files

    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    data, held_out = load_training_files(corpus_files or [CORPUS_PATH], nsmc_files, english_files, holdout, max_nsmc_rows)
    corpus_train, corpus_test = holdout_split(data.corpus, holdout)
    data.corpus = corpus_train

    started = time.perf_counter()
    model = fit_model(data, hyper or Hyperparameters())
    training_seconds = time.perf_counter() - started
    print(f"trained the model in {training_seconds:.1f} s", file=sys.stderr, flush=True)

    groups = _group(held_out)
    baselines = {}
    if data.korean_reviews:
        baselines["nsmc"] = Baseline().fit(_merge(data.korean_reviews, "nsmc"))
    if data.english_reviews:
        baselines["english"] = Baseline().fit(_merge(data.english_reviews, "english"))

    results: dict[str, Any] = {"model": "sentiment", "baseline": BASELINE_NAME, "holdout": holdout, "datasets": {}}
    for name, test in groups.items():
        if not len(test):
            continue
        entry: dict[str, Any] = {"model": score_reviews(model, test)}
        baseline = baselines.get(name.split("/")[0])
        if baseline is not None:
            entry["baseline"] = binary_scores(baseline.predict_negative(test.texts), test.labels)
        results["datasets"][name] = entry
    results["datasets"]["service_desk_corpus"] = {"model": score_corpus(model, corpus_test)}

    if bitext_file is not None:
        results["bitext_complaints"] = score_bitext(model, bitext_file, baselines.get("english"))
    results["training_seconds"] = round(training_seconds, 1)
    return results


def score_bitext(model: SentimentModel, path: Path, baseline: Baseline | None = None) -> dict[str, Any]:
    """Count how many Bitext `complaint` messages come out negative, against the other intents."""
    texts, intents = read_bitext(path)
    probabilities = model.predict_proba(texts)
    labels = np.asarray(LABELS)[probabilities.argmax(axis=1)]
    complaint = intents == "complaint"
    result: dict[str, Any] = {
        "complaints": int(complaint.sum()),
        "complaints_negative": int((labels[complaint] == "negative").sum()),
        "complaints_neutral": int((labels[complaint] == "neutral").sum()),
        "other_intents": int((~complaint).sum()),
        "other_intents_negative": int((labels[~complaint] == "negative").sum()),
        # How well p(negative) ranks complaints above the other intents' requests.
        "complaint_roc_auc": round(float(roc_auc_score(complaint, probabilities[:, LABELS.index("negative")])), 4),
    }
    if baseline is not None:
        # The review-trained baseline has no neutral class, so it is counted by p(negative) > 0.5.
        p_negative = baseline.predict_negative(texts)
        negative = p_negative > 0.5
        result["baseline_complaints_negative"] = int(negative[complaint].sum())
        result["baseline_other_intents_negative"] = int(negative[~complaint].sum())
        result["baseline_complaint_roc_auc"] = round(float(roc_auc_score(complaint, p_negative)), 4)
    return result


def evaluate_corpus_only(path: Path) -> dict[str, Any]:
    """Score a model trained on 80 % of a corpus TSV on the other 20 % (no review data)."""
    return evaluate_files([], [], corpus_files=[path])["datasets"]["service_desk_corpus"]["model"]

