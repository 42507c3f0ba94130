"""The three-class sentiment model: a neutral gate in front of per-language polarity experts.

Public review data (NSMC, the UCI sentences) is labelled only negative or positive, while service
desk traffic is mostly neutral requests. So the model is built in two stages, each trained on the
data that actually carries its label:

1. Polarity experts, one for Korean and one for English, each a logistic regression on
   NB-weighted (log-count ratio, Wang and Manning 2012) n-gram TF-IDF features. They learn
   negative against positive from the reviews plus the negative and positive service desk
   messages, which get a fixed share of the training weight so that the review volume does not
   drown the service desk domain.
2. A neutral gate, a logistic regression that learns neutral against opinionated from the
   service desk corpus alone (plus a small, down-weighted sample of reviews as opinionated text).

The probabilities combine as p(neutral) = g, p(negative) = (1 - g) * q, p(positive) =
(1 - g) * (1 - q), where g is the gate's probability and q the expert's probability of negative.
Korean text goes to the Korean expert, English text to the English expert, and mixed or
letterless text to the mean of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from ml.sentiment.features import FeatureSet, detect_language

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


def log_count_ratio(features: sp.csr_matrix, negative: np.ndarray, weights: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Return the NB log-count ratio log(p/|p|) - log(q/|q|) of binarised features.

    p counts the documents where `negative` is true and q the others, each document scaled by its
    sample weight, so the ratio is positive for features typical of negative text.
    """
    present = (features > 0).astype(np.float32)
    negative_counts = alpha + np.asarray(present.T @ (weights * negative)).ravel()
    positive_counts = alpha + np.asarray(present.T @ (weights * ~negative)).ravel()
    ratio = np.log(negative_counts / negative_counts.sum()) - np.log(positive_counts / positive_counts.sum())
    return ratio.astype(np.float32)


@dataclass
class PolarityExpert:
    """NB-weighted logistic regression that returns the probability of negative."""

    features: FeatureSet
    C: float
    ratio: np.ndarray | None = None
    classifier: LogisticRegression | None = None

    def fit(self, texts: Sequence[str], negative: np.ndarray, weights: np.ndarray) -> PolarityExpert:
        matrix = self.features.fit_transform(texts)
        self.ratio = log_count_ratio(matrix, negative, weights)
        self.classifier = LogisticRegression(C=self.C, solver="liblinear", max_iter=2000)
        self.classifier.fit(matrix.multiply(self.ratio).tocsr(), negative.astype(int), sample_weight=weights)
        return self

    def predict_negative(self, texts: Sequence[str]) -> np.ndarray:
        if self.classifier is None or self.ratio is None:
            raise RuntimeError("the polarity expert is not fitted")
        matrix = self.features.transform(texts).multiply(self.ratio).tocsr()
        return self.classifier.predict_proba(matrix)[:, 1]


@dataclass
class NeutralGate:
    """Logistic regression that returns the probability that a message carries no sentiment."""

    features: FeatureSet
    C: float
    classifier: LogisticRegression | None = None

    def fit(self, texts: Sequence[str], neutral: np.ndarray, weights: np.ndarray) -> NeutralGate:
        matrix = self.features.fit_transform(texts)
        self.classifier = LogisticRegression(C=self.C, solver="liblinear", max_iter=2000)
        self.classifier.fit(matrix, neutral.astype(int), sample_weight=weights)
        return self

    def predict_neutral(self, texts: Sequence[str]) -> np.ndarray:
        if self.classifier is None:
            raise RuntimeError("the neutral gate is not fitted")
        return self.classifier.predict_proba(self.features.transform(texts))[:, 1]


@dataclass
class SentimentModel:
    """Neutral gate plus Korean and English polarity experts; see the module docstring."""

    korean: PolarityExpert
    english: PolarityExpert
    gate: NeutralGate
    labels: tuple[str, ...] = field(default=LABELS)

    def predict_polarity(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """Return p(negative | opinionated) per text from the expert(s) chosen by language."""
        if languages is None:
            languages = [detect_language(text) for text in texts]
        languages = np.asarray(languages)
        negative = np.empty(len(texts), dtype=np.float64)
        korean = languages == "ko"
        english = languages == "en"
        both = ~(korean | english)
        texts_array = np.asarray(texts, dtype=object)
        if korean.any():
            negative[korean] = self.korean.predict_negative(list(texts_array[korean]))
        if english.any():
            negative[english] = self.english.predict_negative(list(texts_array[english]))
        if both.any():
            chosen = list(texts_array[both])
            negative[both] = (self.korean.predict_negative(chosen) + self.english.predict_negative(chosen)) / 2
        return negative

    def predict_proba(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        """Return an (n, 3) array of probabilities in the order of `labels`."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)))
        negative = self.predict_polarity(texts, languages)
        neutral = self.gate.predict_neutral(texts)
        return np.column_stack([(1 - neutral) * negative, neutral, (1 - neutral) * (1 - negative)])
