"""The approval decision model: generated history, training, the SageMaker handlers and the
conversion of recorded decisions into training labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.decisions import inference
from ml.decisions.generator import generate
from ml.decisions.history import rows_from_recorded
from ml.decisions.train import train

REQUEST = {
    "system": "ci", "level": "admin", "role": "engineer", "department": "engineering",
    "employee_type": "regular", "in_role_template": True, "privileged_count": 1,
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("decisions")
    train(directory, [], generated_rows=3000)
    return directory


def test_generator_is_reproducible() -> None:
    assert generate(50, seed=3) == generate(50, seed=3)
    assert generate(50, seed=3) != generate(50, seed=4)


def test_generated_history_has_both_labels() -> None:
    approved = [row["approved"] for row in generate(2000)]

    assert 0.5 < sum(approved) / len(approved) < 0.9


def test_handlers_score_requests(model_dir: Path) -> None:
    model = inference.model_fn(str(model_dir))
    payload = json.dumps({"requests": [REQUEST, {**REQUEST, "system": "payroll", "in_role_template": False}]})

    body = json.loads(inference.output_fn(inference.predict_fn(inference.input_fn(payload), model)))

    fitting, outside = (prediction["approve_probability"] for prediction in body["predictions"])
    assert body["model_version"].startswith("decisions-")
    assert fitting > 0.8
    assert outside < fitting


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ("{}", "non-empty list"),
        (json.dumps({"requests": [{"system": "ci"}]}), "lacks"),
        (json.dumps({"requests": [REQUEST] * 65}), "maximum is 64"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_request_rejected(payload: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        inference.input_fn(payload)


def test_recorded_decisions_become_labels() -> None:
    subject = {"employee_id": "e-1", "role": "engineer", "department": "engineering", "employee_type": "regular",
               "access": [{"system": "ci", "level": "admin"}]}
    recorded = [
        {"approval_id": "ap-1", "subject": subject, "status": "approved", "overruled": False, "decided_at": "2025-03-01T00:00:00+00:00"},
        {"approval_id": "ap-1", "subject": subject, "status": "rejected", "overruled": True, "decided_at": "2025-03-02T00:00:00+00:00"},
        {"approval_id": "ap-2", "subject": subject, "status": "expired", "overruled": False, "decided_at": "2025-03-03T00:00:00+00:00"},
    ]

    rows = rows_from_recorded(recorded)

    assert len(rows) == 1
    assert rows[0]["approved"] is False
    assert rows[0]["overruled"] is True
    assert rows[0]["system"] == "ci"


def test_recorded_history_trains(tmp_path: Path) -> None:
    rows = [{**REQUEST, "decided_at": "2025-03-01T00:00:00+00:00", "approved": False}] * 20

    metadata = train(tmp_path, rows, generated_rows=500)

    assert metadata["recorded_rows"] == 20
    assert (tmp_path / "model.joblib").is_file()
