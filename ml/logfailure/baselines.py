"""Baselines the detector is compared with on the same time split."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ml.logfailure.parsing import LogRecord
from ml.logfailure.templates import mine_templates


def template_lookup(train: Sequence[LogRecord], train_labels: Sequence[int], test: Sequence[LogRecord]) -> np.ndarray:
    """Flag test lines whose Drain template was mostly alert lines in training.

    Lines of templates never seen in training are never flagged.
    """
    templates = mine_templates(record.content for record in train)
    alerts_by_template: dict[int | None, list[int]] = defaultdict(list)
    for record, label in zip(train, train_labels, strict=True):
        alerts_by_template[templates.match(record.content)].append(int(label))
    alert_templates = {
        template_id
        for template_id, labels in alerts_by_template.items()
        if template_id is not None and np.mean(labels) >= 0.5
    }
    return np.array([templates.match(record.content) in alert_templates for record in test], dtype=bool)


def tfidf_logistic_regression(
    train: Sequence[LogRecord], train_labels: Sequence[int], test: Sequence[LogRecord]
) -> np.ndarray:
    """Return alert probabilities of a word TF-IDF logistic regression on the raw message text."""
    vectorizer = TfidfVectorizer()
    model = LogisticRegression(class_weight="balanced", max_iter=2000)
    model.fit(vectorizer.fit_transform([record.content for record in train]), np.asarray(train_labels, dtype=int))
    return model.predict_proba(vectorizer.transform([record.content for record in test]))[:, 1]
