"""The approval model: one-hot features, including role-system pairs, into logistic regression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

MODEL_FILE = "model.joblib"
FEATURES = ("system", "level", "role", "department", "employee_type", "in_role_template", "privileged_count")


def encode(request: dict[str, Any]) -> dict[str, Any]:
    """Turn one request into the vectoriser's features; raise ValueError on a missing field."""
    missing = [name for name in FEATURES if name not in request]
    if missing:
        raise ValueError(f"request lacks {', '.join(missing)}")
    return {
        "system": str(request["system"]),
        "level": str(request["level"]),
        "role": str(request["role"]),
        "department": str(request["department"]),
        "employee_type": str(request["employee_type"]),
        "role_system": f"{request['role']}|{request['system']}",
        "system_level": f"{request['system']}|{request['level']}",
        "in_role_template": 1.0 if request["in_role_template"] else 0.0,
        "privileged_count": float(min(int(request["privileged_count"]), 10)),
    }


class DecisionModel:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @classmethod
    def fit(cls, rows: list[dict[str, Any]], regularisation: float = 1.0) -> DecisionModel:
        pipeline = Pipeline(
            [
                ("features", DictVectorizer(sparse=True)),
                ("classifier", LogisticRegression(C=regularisation, max_iter=2000)),
            ]
        )
        pipeline.fit([encode(row) for row in rows], np.array([1 if row["approved"] else 0 for row in rows]))
        return cls(pipeline)

    def approve_probability(self, requests: list[dict[str, Any]]) -> list[float]:
        probabilities = self.pipeline.predict_proba([encode(request) for request in requests])[:, 1]
        return [float(value) for value in probabilities]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, directory / MODEL_FILE)

    @classmethod
    def load(cls, directory: Path) -> DecisionModel:
        return cls(joblib.load(directory / MODEL_FILE))
