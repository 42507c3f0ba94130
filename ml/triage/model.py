"""The ticket triage model: text to category and queue, or abstention when unsure.

Features are TF-IDF word uni- and bigrams joined with TF-IDF character 2- to 5-grams
within word boundaries. Character n-grams cope with typos, inflected Korean words
and mixed Korean and English text. A multinomial logistic regression with balanced class
weights turns them into class probabilities, so rare categories are not swamped by the
one or two that dominate ticket streams.

The model abstains (category None) in two cases:

- low confidence: the highest class probability is below `threshold`. Ambiguous tickets
  and many tickets of categories never seen in training land here.
- unfamiliar text: the mean cosine similarity of the ticket's word vector to its
  `neighbours` nearest training tickets is below `min_similarity`. Text far from
  everything seen in training (another domain, another language, noise) lands here even
  when the classifier happens to be confident.

Unless given, both limits are chosen on a validation slice (by default the last rows of
the training data). `threshold` is the lowest probability at which the accepted validation
tickets reach `target_accuracy`. `min_similarity` is the `similarity_quantile` of the
validation tickets' similarity.

NOTE: on the Endava tickets both signals separate a category left out of training from the
known ones only weakly (ROC AUC about 0.6 to 0.7, see benchmarks/results/triage.md), because
the categories share most of their vocabulary. Most tickets of an unseen category are then
routed to the closest known category rather than abstained on.

Queues: every category routes to one queue through a mapping stored in the artifact.
Categories missing from the mapping go to `default_queue`, and abstained tickets go to
`review_queue`, where a person triages them.

This module imports only what the SageMaker scikit-learn container provides.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

ARTIFACT_FILE = "model.joblib"
ARTIFACT_FORMAT = 1
TOP_LABELS = 3

REASON_LOW_CONFIDENCE = "low_confidence"
REASON_UNFAMILIAR_TEXT = "unfamiliar_text"


@dataclass
class TriageConfig:
    """Hyperparameters of the triage model."""

    regularization: float = 3.0
    balanced_classes: bool = True
    min_df: int = 2
    max_char_features: int = 200_000
    neighbours: int = 5
    threshold: float | None = None
    min_similarity: float | None = None
    target_accuracy: float = 0.90
    similarity_quantile: float = 0.01
    validation_fraction: float = 0.2
    # "order" validates on the last rows; "interleaved" on rows spread evenly over the data,
    # for training files sorted by label.
    validation_split: str = "order"
    max_reference_rows: int = 20_000
    max_iterations: int = 2000

    def validate(self) -> None:
        """Raise ValueError naming the first hyperparameter that is out of range."""
        if self.regularization <= 0:
            raise ValueError(f"regularization must be > 0, got {self.regularization}")
        if self.min_df < 1:
            raise ValueError(f"min_df must be >= 1, got {self.min_df}")
        if self.neighbours < 1:
            raise ValueError(f"neighbours must be >= 1, got {self.neighbours}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.min_similarity is not None and not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be in [0, 1], got {self.min_similarity}")
        if not 0.0 < self.target_accuracy <= 1.0:
            raise ValueError(f"target_accuracy must be in (0, 1], got {self.target_accuracy}")
        if not 0.0 <= self.similarity_quantile < 1.0:
            raise ValueError(f"similarity_quantile must be in [0, 1), got {self.similarity_quantile}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if self.validation_split not in ("order", "interleaved"):
            raise ValueError(f"validation_split must be 'order' or 'interleaved', got {self.validation_split!r}")
        if self.max_reference_rows < 1:
            raise ValueError(f"max_reference_rows must be >= 1, got {self.max_reference_rows}")


@dataclass
class QueueMap:
    """Routing of categories to queues, stored with the model."""

    queues: dict[str, str] = field(default_factory=dict)
    default_queue: str = "general"
    review_queue: str = "triage-review"

    def queue_for(self, category: str | None) -> str:
        """Return the queue of a predicted category, or the review queue for None."""
        if category is None:
            return self.review_queue
        return self.queues.get(category, self.default_queue)

    @classmethod
    def identity(cls, categories: list[str], **queues: str) -> QueueMap:
        """Route every category to a queue of the same name."""
        return cls(queues={category: category for category in sorted(set(categories))}, **queues)

    @classmethod
    def from_groups(cls, categories: list[str], groups: list[str], **queues: str) -> QueueMap:
        """Route every category to the group it carries most often in the training data."""
        if len(categories) != len(groups):
            raise ValueError(f"{len(categories)} categories but {len(groups)} queue labels")
        counts: dict[str, Counter[str]] = {}
        for category, group in zip(categories, groups, strict=True):
            counts.setdefault(category, Counter())[group] += 1
        return cls(queues={category: count.most_common(1)[0][0] for category, count in sorted(counts.items())}, **queues)


@dataclass
class Prediction:
    """One ticket's triage result; category is None when the model abstains."""

    category: str | None
    queue: str
    confidence: float
    abstained: bool
    reason: str | None
    similarity: float
    top: list[tuple[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the inference endpoint."""
        return {
            "category": self.category,
            "queue": self.queue,
            "confidence": round(self.confidence, 4),
            "abstained": self.abstained,
            "reason": self.reason,
            "top": [[label, round(probability, 4)] for label, probability in self.top],
        }


class TriageModel:
    """A fitted triage model; build one with `fit_triage_model` or `TriageModel.load`."""

    def __init__(
        self,
        *,
        features: FeatureUnion,
        classifier: LogisticRegression,
        reference: sparse.csr_matrix,
        word_features: int,
        threshold: float,
        min_similarity: float,
        neighbours: int,
        queue_map: QueueMap,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.reference = reference
        self.word_features = word_features
        self.threshold = threshold
        self.min_similarity = min_similarity
        self.neighbours = neighbours
        self.queue_map = queue_map

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self.classifier.classes_]

    def score(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return class probabilities (columns in `labels` order) and similarity to the training data."""
        matrix = self.features.transform(texts)
        probabilities = self.classifier.predict_proba(matrix)
        similarity = neighbour_similarity(word_block(matrix, self.word_features), self.reference, self.neighbours)
        return probabilities, similarity

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Triage each text, abstaining when confidence or similarity is below its limit."""
        probabilities, similarity = self.score(texts)
        labels = self.labels
        predictions = []
        for row, row_similarity in zip(probabilities, similarity, strict=True):
            order = np.argsort(row)[::-1][:TOP_LABELS]
            top = [(labels[i], float(row[i])) for i in order]
            best_label, confidence = top[0]

            reason = None
            if row_similarity < self.min_similarity:
                reason = REASON_UNFAMILIAR_TEXT
            elif confidence < self.threshold:
                reason = REASON_LOW_CONFIDENCE
            category = None if reason else best_label

            predictions.append(
                Prediction(
                    category=category,
                    queue=self.queue_map.queue_for(category),
                    confidence=confidence,
                    abstained=reason is not None,
                    reason=reason,
                    similarity=float(row_similarity),
                    top=top,
                )
            )
        return predictions

    def save(self, directory: Path) -> Path:
        """Write the model to `directory/model.joblib` and return that path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_FILE
        state = {
            "artifact_format": ARTIFACT_FORMAT,
            "features": self.features,
            "classifier": self.classifier,
            "reference": self.reference,
            "word_features": self.word_features,
            "threshold": self.threshold,
            "min_similarity": self.min_similarity,
            "neighbours": self.neighbours,
            "queue_map": asdict(self.queue_map),
        }
        joblib.dump(state, path, compress=3)
        return path

    @classmethod
    def load(cls, directory: Path) -> TriageModel:
        """Read a model written by `save`."""
        path = Path(directory) / ARTIFACT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no triage model at {path}; train one with `servicedesk train triage`")
        state = joblib.load(path)
        if state.get("artifact_format") != ARTIFACT_FORMAT:
            raise ValueError(
                f"{path} has artifact format {state.get('artifact_format')!r}, "
                f"this code reads format {ARTIFACT_FORMAT}; retrain the model"
            )
        return cls(
            features=state["features"],
            classifier=state["classifier"],
            reference=state["reference"],
            word_features=state["word_features"],
            threshold=state["threshold"],
            min_similarity=state["min_similarity"],
            neighbours=state["neighbours"],
            queue_map=QueueMap(**state["queue_map"]),
        )


def fit_triage_model(
    texts: list[str],
    categories: list[str],
    queue_map: QueueMap | None = None,
    config: TriageConfig | None = None,
) -> tuple[TriageModel, dict[str, Any]]:
    """Fit a triage model on texts in file order and return it with its abstention report.

    When `threshold` or `min_similarity` is not set, a first model is fitted without a
    `validation_fraction` of the rows (picked by `validation_split`) and the limits are chosen
    on those rows. The returned model is then fitted on all rows.
    """
    config = config or TriageConfig()
    config.validate()
    _check_training_data(texts, categories)
    queue_map = queue_map or QueueMap.identity(categories)

    report: dict[str, Any] = {}
    threshold, min_similarity = config.threshold, config.min_similarity
    if threshold is None or min_similarity is None:
        chosen = _choose_limits(texts, categories, config)
        report.update(chosen)
        threshold = chosen["threshold"] if threshold is None else threshold
        min_similarity = chosen["min_similarity"] if min_similarity is None else min_similarity

    model = _fit(texts, categories, config, threshold, min_similarity, queue_map)
    report.update({"threshold": threshold, "min_similarity": min_similarity})
    return model, report


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target_accuracy: float) -> tuple[float, bool]:
    """Return the lowest confidence threshold whose accepted rows reach `target_accuracy`.

    The second value is False when no threshold reaches the target. The threshold then
    maximises the accuracy of the accepted rows while keeping at least a tenth of them.
    """
    order = np.argsort(-confidence, kind="stable")
    sorted_confidence = confidence[order]
    accepted = np.arange(1, len(order) + 1)
    accuracy = np.cumsum(correct[order]) / accepted
    # Only cut between distinct confidence values: ties are accepted or rejected together.
    boundary = np.r_[sorted_confidence[1:] < sorted_confidence[:-1], True]

    meets = boundary & (accuracy >= target_accuracy)
    if meets.any():
        last = np.flatnonzero(meets)[-1]
        return float(sorted_confidence[last]), True

    enough = boundary & (accepted >= max(1, int(np.ceil(0.1 * len(order)))))
    candidates = np.flatnonzero(enough)
    best = candidates[np.argmax(accuracy[candidates])]
    return float(sorted_confidence[best]), False


def neighbour_similarity(queries: sparse.spmatrix, reference: sparse.spmatrix, neighbours: int) -> np.ndarray:
    """Return the mean cosine similarity of each L2-normalised query row to its nearest reference rows."""
    similarity = (queries @ reference.T).toarray()
    k = min(neighbours, similarity.shape[1])
    nearest = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k:]
    return nearest.mean(axis=1)


def word_block(matrix: sparse.spmatrix, word_features: int) -> sparse.csr_matrix:
    """Return the word TF-IDF columns of a feature matrix (already L2-normalised)."""
    return sparse.csr_matrix(matrix)[:, :word_features]


def _build_features(config: TriageConfig) -> FeatureUnion:
    words = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=config.min_df)
    characters = TfidfVectorizer(
        sublinear_tf=True,
        analyzer="char_wb",
        ngram_range=(2, 5),
        min_df=config.min_df,
        max_features=config.max_char_features,
    )
    return FeatureUnion([("words", words), ("characters", characters)])


def _fit(
    texts: list[str],
    categories: list[str],
    config: TriageConfig,
    threshold: float,
    min_similarity: float,
    queue_map: QueueMap,
) -> TriageModel:
    features = _build_features(config)
    matrix = features.fit_transform(texts)
    classifier = LogisticRegression(
        C=config.regularization,
        class_weight="balanced" if config.balanced_classes else None,
        max_iter=config.max_iterations,
    )
    classifier.fit(matrix, categories)

    word_features = len(features.transformer_list[0][1].vocabulary_)
    reference = word_block(matrix, word_features)
    if reference.shape[0] > config.max_reference_rows:
        # Keep the most recent tickets: they describe the current mix best.
        reference = reference[-config.max_reference_rows :]
    reference = sparse.csr_matrix(reference, dtype=np.float32)

    return TriageModel(
        features=features,
        classifier=classifier,
        reference=reference,
        word_features=word_features,
        threshold=threshold,
        min_similarity=min_similarity,
        neighbours=config.neighbours,
        queue_map=queue_map,
    )


def _choose_limits(texts: list[str], categories: list[str], config: TriageConfig) -> dict[str, Any]:
    fraction = config.validation_fraction
    if config.validation_split == "order":
        cut = len(texts) - round(len(texts) * fraction)
        validation = set(range(cut, len(texts)))
    else:
        validation = {i for i in range(len(texts)) if int((i + 1) * fraction) > int(i * fraction)}
    fit_texts = [text for i, text in enumerate(texts) if i not in validation]
    fit_categories = [category for i, category in enumerate(categories) if i not in validation]
    validation_texts = [text for i, text in enumerate(texts) if i in validation]
    validation_categories = [category for i, category in enumerate(categories) if i in validation]
    if len(validation_texts) < 10 or len(set(fit_categories)) < 2:
        raise ValueError(
            f"too few rows to choose the abstention limits ({len(validation_texts)} validation rows, "
            f"{len(set(fit_categories))} categories before them); pass threshold and min_similarity explicitly"
        )

    probe = _fit(fit_texts, fit_categories, config, 0.0, 0.0, QueueMap())
    probabilities, similarity = probe.score(validation_texts)
    labels = np.array(probe.labels)
    correct = labels[probabilities.argmax(axis=1)] == np.array(validation_categories)
    confidence = probabilities.max(axis=1)

    threshold, target_met = choose_threshold(confidence, correct, config.target_accuracy)
    min_similarity = float(np.quantile(similarity, config.similarity_quantile))
    accepted = (confidence >= threshold) & (similarity >= min_similarity)
    return {
        "threshold": threshold,
        "min_similarity": min_similarity,
        "target_accuracy": config.target_accuracy,
        "target_met": target_met,
        "validation_rows": len(validation_texts),
        "validation_accuracy": float(correct.mean()),
        "validation_coverage": float(accepted.mean()),
        "validation_accepted_accuracy": float(correct[accepted].mean()) if accepted.any() else None,
    }


def _check_training_data(texts: list[str], categories: list[str]) -> None:
    if len(texts) != len(categories):
        raise ValueError(f"{len(texts)} texts but {len(categories)} categories")
    if len(set(categories)) < 2:
        raise ValueError(f"need at least 2 categories to train, got {sorted(set(categories))}")
    empty = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if empty:
        raise ValueError(f"{len(empty)} training text(s) are empty or not strings, first at row {empty[0]}")
