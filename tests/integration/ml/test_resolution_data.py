"""The resolution model on the public ServiceNow incident event log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ml.resolution import inference
from ml.resolution.dataset import default_incidents_path
from ml.resolution.evaluate import evaluate_files
from ml.resolution.features import feature_frame, incidents_at_open, read_event_log
from ml.resolution.train import main as train_main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def incidents_path() -> Path:
    path = default_incidents_path()
    if not path.is_file():
        pytest.skip(f"incident event log not found at {path}")
    return path


@pytest.fixture(scope="module")
def trained_model_dir(incidents_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("resolution")
    train_main(["--incidents", str(incidents_path), "--model-dir", str(model_dir)])
    return model_dir


def test_features_ignore_every_later_event(incidents_path: Path):
    events = read_event_log(incidents_path)
    ordered = events.sort_values(["number", "sys_updated_at", "sys_mod_count"], kind="stable")
    first_events_only = ordered.groupby("number").head(1)

    from_all_events = feature_frame(incidents_at_open(events))
    from_first_events = feature_frame(incidents_at_open(first_events_only))

    pd.testing.assert_frame_equal(from_all_events, from_first_events.loc[from_all_events.index])


def test_model_beats_priority_baseline(trained_model_dir: Path):
    metrics = json.loads((trained_model_dir / "metadata.json").read_text("utf-8"))["metrics"]
    model, baseline = metrics["model"], metrics["baseline_per_priority"]

    assert metrics["incidents"] > 3000
    assert model["sla_roc_auc"] > baseline["sla_roc_auc"] + 0.1
    assert model["resolution_mae_hours"] < baseline["resolution_mae_hours"]
    assert model["resolution_median_ae_hours"] < baseline["resolution_median_ae_hours"]
    assert 0.8 < model["resolution_p90_coverage"] < 0.97


def test_evaluate_reproduces_held_out_metrics(trained_model_dir: Path, incidents_path: Path):
    metadata = json.loads((trained_model_dir / "metadata.json").read_text("utf-8"))

    result = evaluate_files(trained_model_dir, incidents_path)

    assert result["incidents"] == metadata["test_incidents"]
    assert result["model"] == pytest.approx(metadata["metrics"]["model"])


def test_inference_on_trained_artifact(trained_model_dir: Path):
    model = inference.model_fn(str(trained_model_dir))
    tickets = [
        {"opened_at": "2016-05-02T10:00:00", "priority": 3, "category": "Category 26", "contact_type": "Phone"},
        {"opened_at": "2016-05-02T10:00:00", "impact": 1, "urgency": 1, "category": "Category 999"},
    ]

    response = json.loads(
        inference.output_fn(
            inference.predict_fn(inference.input_fn(json.dumps({"tickets": tickets}), "application/json"), model),
            "application/json",
        )
    )

    assert response["model"] == "resolution"
    assert len(response["predictions"]) == 2
    for prediction in response["predictions"]:
        assert 0 <= prediction["sla_breach_probability"] <= 1
        assert prediction["resolution_hours_p90"] >= prediction["resolution_hours_p50"] >= 0
