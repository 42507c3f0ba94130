"""The alert detector: a text model for familiar lines, a severity prior for unfamiliar ones.

For each line the detector computes
- `text_probability`: logistic regression on character n-grams (3 to 5) of the masked message,
  which is reliable for lines like those seen in training;
- `prior_probability`: logistic regression on template-independent features (the level group
  and whether the message contains failure words), which still applies to unseen templates;
- `familiarity`: the highest cosine similarity between the line's n-gram vector and any
  training message, in [0, 1].

The alert probability is `familiarity * text + (1 - familiarity) * prior`, so a line far from
everything seen in training is scored by its severity rather than by a text model that has
never seen anything like it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ml.logfailure.parsing import LogRecord, mask_message
from ml.logfailure.templates import TemplateSet

# Failure vocabulary matched case-insensitively as whole words. The prior model learns one
# weight for "any of them occurs", so a failure word never seen in training still counts.
FAILURE_WORDS = re.compile(
    r"\b(?:fail(?:s|ed|ure|ures|ing)?|fatal|errors?|panic\w*|terminat(?:ed|es|ion|ing)|severed|"
    r"abort(?:s|ed|ing)?|crash(?:ed|es)?|killed|interrupt(?:s|ed)?|exceptions?|timed out|timeout|"
    r"refused|denied|lost|unreachable|corrupt(?:ed|ion)?|critical|emergency|segfault|"
    r"segmentation fault|out of memory|unrecoverable|halt(?:ed)?)\b",
    re.IGNORECASE,
)
_FATAL_LEVELS = frozenset({"FATAL", "CRITICAL", "ALERT", "EMERGENCY", "PANIC"})
_ERROR_LEVELS = frozenset({"ERROR", "SEVERE"})
_WARNING_LEVELS = frozenset({"WARNING"})


def prior_features(records: Sequence[LogRecord]) -> np.ndarray:
    """Return the template-independent features: level group flags and whether failure words occur.

    NOTE: a level group absent from the training log gets no weight. A model trained on BGL,
    whose alerts are all FATAL and which has no ERROR lines before its test part, scores ERROR
    lines of other systems like INFO lines with the same words.
    """
    rows = []
    for record in records:
        failure_words = len(FAILURE_WORDS.findall(record.content))
        rows.append(
            (
                record.level in _FATAL_LEVELS,
                record.level in _ERROR_LEVELS,
                record.level in _WARNING_LEVELS,
                failure_words > 0,
            )
        )
    return np.asarray(rows, dtype=float).reshape(len(records), 4)


def text_documents(records: Sequence[LogRecord]) -> list[str]:
    """Return the text model's input: level, component and masked message, never the label."""
    return [f"{record.level} {record.component} {mask_message(record.content)}" for record in records]


@dataclass
class LineScores:
    """Per-line scores, in input order."""

    alert_probability: np.ndarray
    text_probability: np.ndarray
    prior_probability: np.ndarray
    familiarity: np.ndarray


class LogFailureDetector:
    """Flags alert lines and computes a warning risk over a window of recent lines."""

    def __init__(
        self,
        *,
        templates: TemplateSet,
        alert_threshold: float = 0.5,
        warning_threshold: float = 0.3,
        risk_half_life_lines: float = 100.0,
        regularization: float = 10.0,
    ) -> None:
        if not 0.0 < warning_threshold <= alert_threshold < 1.0:
            raise ValueError(
                f"invalid thresholds warning={warning_threshold} alert={alert_threshold}: "
                "need 0 < warning <= alert < 1"
            )
        self.templates = templates
        self.alert_threshold = alert_threshold
        self.warning_threshold = warning_threshold
        self.risk_half_life_lines = risk_half_life_lines
        self.regularization = regularization
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32)
        self.text_model = LogisticRegression(C=regularization, class_weight="balanced", max_iter=2000)
        self.prior_model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        self.reference_vectors = None

    def fit(self, records: Sequence[LogRecord], labels: Sequence[int]) -> LogFailureDetector:
        """Fit both models on labelled lines; both classes must be present."""
        y = np.asarray(labels, dtype=int)
        if len(records) != len(y):
            raise ValueError(f"got {len(records)} records but {len(y)} labels")
        if set(np.unique(y)) != {0, 1}:
            raise ValueError("training lines need both alert and normal lines to fit the detector")

        documents = text_documents(records)
        vectors = self.vectorizer.fit_transform(documents)
        self.text_model.fit(vectors, y)
        self.prior_model.fit(prior_features(records), y)

        # Familiarity compares against each distinct training message once.
        _, first_rows = np.unique(np.asarray(documents, dtype=object), return_index=True)
        self.reference_vectors = vectors[np.sort(first_rows)].T.tocsr()
        return self

    def score(self, records: Sequence[LogRecord]) -> LineScores:
        """Score lines; an empty sequence returns empty arrays."""
        if self.reference_vectors is None:
            raise ValueError("the detector is not fitted: call fit() or load a trained artifact")
        if not records:
            empty = np.zeros(0)
            return LineScores(empty, empty, empty, empty)

        vectors = self.vectorizer.transform(text_documents(records))
        text_probability = self.text_model.predict_proba(vectors)[:, 1]
        prior_probability = self.prior_model.predict_proba(prior_features(records))[:, 1]
        familiarity = np.clip((vectors @ self.reference_vectors).max(axis=1).toarray().ravel(), 0.0, 1.0)
        alert_probability = familiarity * text_probability + (1.0 - familiarity) * prior_probability
        return LineScores(alert_probability, text_probability, prior_probability, familiarity)

    def window_risk(self, alert_probability: Sequence[float]) -> float:
        """Return the warning risk of lines in time order: the highest recency-decayed probability.

        A line `k` lines before the last one counts with weight 0.5 ** (k / half-life), so a
        recent suspicious line raises the risk more than an old one.
        """
        probabilities = np.asarray(alert_probability, dtype=float)
        if probabilities.size == 0:
            return 0.0
        age = np.arange(probabilities.size - 1, -1, -1, dtype=float)
        weights = np.power(0.5, age / self.risk_half_life_lines)
        return float(np.max(probabilities * weights))

    def template_texts(self, records: Sequence[LogRecord]) -> list[str]:
        """Return each line's template (the masked message for unseen templates)."""
        return [self.templates.template_text(record.content) for record in records]

