"""Unit tests of the resolution model on hand-made incident event logs."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.common.artifacts import read_metadata
from ml.resolution import MODEL_NAME, inference
from ml.resolution.dataset import IncidentTable, load_incident_table, split_by_time
from ml.resolution.evaluate import evaluate_files
from ml.resolution.features import (
    EVENT_COLUMNS,
    FEATURE_COLUMNS,
    feature_frame,
    incident_outcomes,
    incidents_at_open,
    read_event_log,
)
from ml.resolution.model import TrainingSettings, fit_resolution_model
from ml.resolution.train import main as train_main

FIELD_DEFAULTS = {
    "caller_id": "Caller 1",
    "contact_type": "Phone",
    "location": "Location 1",
    "category": "Category 1",
    "subcategory": "Subcategory 1",
    "u_symptom": "?",
    "impact": "2 - Medium",
    "urgency": "2 - Medium",
    "priority": "3 - Moderate",
    "assignment_group": "Group 1",
    "assigned_to": "?",
}


def stamp(moment: datetime) -> str:
    """Format a time as the event log does: day first, no zero padding."""
    return f"{moment.day}/{moment.month}/{moment.year} {moment:%H:%M}"


def event(number: str, opened_at: datetime, updated_at: datetime, mod_count: int, **fields: str) -> dict[str, str]:
    """Return one event row with the open-time defaults, overridden by `fields`."""
    row = {
        "number": number,
        "opened_at": stamp(opened_at),
        "sys_updated_at": stamp(updated_at),
        "sys_mod_count": str(mod_count),
        "made_sla": "true",
        "resolved_at": stamp(opened_at + timedelta(hours=5)),
        **FIELD_DEFAULTS,
    }
    row.update(fields)
    return row


def write_log(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write event rows as a CSV in the event log layout and return its path."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(EVENT_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def synthetic_log(incident_count: int, seed: int = 0) -> list[dict[str, str]]:
    """Return a log in which the category decides the SLA outcome and the resolution time.

    Category A incidents take about 2 hours and meet the SLA; category B take about 200 hours
    and breach it. Each incident has an open event and a later closing event that changes the
    assignment group.
    """
    rng = np.random.default_rng(seed)
    start = datetime(2016, 3, 1, 8, 0)
    rows = []
    for index in range(incident_count):
        opened = start + timedelta(hours=int(index) * 3)
        slow = bool(rng.random() < 0.5)
        hours = float(rng.uniform(150, 250) if slow else rng.uniform(1, 3))
        resolved = opened + timedelta(hours=hours)
        common = {
            "category": "Category B" if slow else "Category A",
            "caller_id": f"Caller {rng.integers(20)}",
            "resolved_at": stamp(resolved),
        }
        number = f"INC{index:07d}"
        rows.append(event(number, opened, opened + timedelta(minutes=2), 0, **common))
        rows.append(
            event(
                number,
                opened,
                resolved,
                3,
                made_sla="false" if slow else "true",
                assignment_group="Group 9",
                **common,
            )
        )
    return rows


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    opened = datetime(2016, 3, 1, 9, 15)
    rows = [
        # Rows out of order: the first event by sys_updated_at is the one with mod count 0.
        event("INC1", opened, opened + timedelta(hours=3), 2, category="Category 9", made_sla="false"),
        event("INC1", opened, opened + timedelta(minutes=5), 0, category="Category 5"),
        event("INC1", opened, opened + timedelta(minutes=5), 1, category="Category 7"),
        event("INC2", opened + timedelta(days=1), opened + timedelta(days=1), 0, resolved_at="?"),
    ]
    return write_log(tmp_path / "log.csv", rows)


def test_read_event_log_parses_day_first_and_missing(small_log: Path):
    events = read_event_log(small_log)

    assert events["opened_at"].iloc[0] == pd.Timestamp(2016, 3, 1, 9, 15)
    assert events["u_symptom"].isna().all()
    assert events["made_sla"].tolist() == [False, True, True, True]


def test_read_event_log_rejects_missing_column(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text("number,opened_at\nINC1,1/3/2016 09:00\n", "utf-8")

    with pytest.raises(ValueError, match="missing columns"):
        read_event_log(path)


def test_read_event_log_rejects_bad_timestamp(tmp_path: Path):
    row = event("INC1", datetime(2016, 3, 1), datetime(2016, 3, 1), 0)
    row["opened_at"] = "2016-03-01T09:00"
    path = write_log(tmp_path / "log.csv", [row])

    with pytest.raises(ValueError, match="opened_at"):
        read_event_log(path)


def test_incidents_at_open_take_first_event(small_log: Path):
    incidents = incidents_at_open(read_event_log(small_log))

    assert list(incidents.index) == ["INC1", "INC2"]
    assert incidents.loc["INC1", "category"] == "Category 5"


def test_later_event_leaves_open_features_unchanged(tmp_path: Path):
    opened = datetime(2016, 3, 1, 9, 15)
    first = event("INC1", opened, opened + timedelta(minutes=1), 0)
    earlier_incident = event("INC0", opened - timedelta(days=1), opened - timedelta(days=1), 0)
    later_change = event(
        "INC1",
        opened,
        opened + timedelta(days=2),
        7,
        category="Category 99",
        subcategory="Subcategory 99",
        assignment_group="Group 99",
        assigned_to="Resolver 5",
        impact="1 - High",
        urgency="1 - High",
        priority="1 - Critical",
        made_sla="false",
    )
    later_incident = event("INC2", opened + timedelta(hours=1), opened + timedelta(hours=1), 0)

    before = feature_frame(incidents_at_open(read_event_log(write_log(tmp_path / "a.csv", [earlier_incident, first]))))
    after = feature_frame(
        incidents_at_open(
            read_event_log(write_log(tmp_path / "b.csv", [earlier_incident, first, later_change, later_incident]))
        )
    )

    pd.testing.assert_frame_equal(before.loc[["INC0", "INC1"]], after.loc[["INC0", "INC1"]])
    assert after.loc["INC1", "category"] == "Category 1"
    assert after.loc["INC1", "priority"] == 3


def test_caller_history_counts_only_earlier_incidents(tmp_path: Path):
    base = datetime(2016, 3, 1, 9, 0)
    rows = [
        event("INC1", base, base, 0),
        event("INC2", base + timedelta(days=10), base + timedelta(days=10), 0),
        event("INC3", base + timedelta(days=12), base + timedelta(days=12), 0),
        # Same minute as INC3: neither counts the other.
        event("INC4", base + timedelta(days=12), base + timedelta(days=12), 0),
        event("INC5", base + timedelta(days=11), base + timedelta(days=11), 0, caller_id="Caller 2"),
        event("INC6", base + timedelta(days=13), base + timedelta(days=13), 0, caller_id="?"),
        # Beyond both windows: the counts drop to zero but the time since the previous one stays.
        event("INC7", base + timedelta(days=43), base + timedelta(days=43), 0),
    ]
    incidents = incidents_at_open(read_event_log(write_log(tmp_path / "log.csv", rows)))

    assert incidents.loc["INC1", "caller_prior_incidents_30d"] == 0
    assert np.isnan(incidents.loc["INC1", "caller_hours_since_previous"])
    assert incidents.loc["INC2", "caller_prior_incidents_30d"] == 1
    assert incidents.loc["INC2", "caller_prior_incidents_7d"] == 0
    assert incidents.loc["INC2", "caller_hours_since_previous"] == 240
    assert incidents.loc["INC3", "caller_prior_incidents_30d"] == 2
    assert incidents.loc["INC4", "caller_prior_incidents_30d"] == 2
    assert incidents.loc["INC3", "caller_prior_incidents_7d"] == 1
    assert incidents.loc["INC3", "caller_hours_since_previous"] == 48
    assert incidents.loc["INC7", "caller_prior_incidents_30d"] == 0
    assert incidents.loc["INC7", "caller_prior_incidents_7d"] == 0
    assert incidents.loc["INC7", "caller_hours_since_previous"] == 31 * 24
    assert incidents.loc["INC5", "caller_prior_incidents_30d"] == 0
    assert np.isnan(incidents.loc["INC6", "caller_prior_incidents_30d"])


def test_incident_outcomes_use_final_event(small_log: Path):
    outcomes = incident_outcomes(read_event_log(small_log))

    assert bool(outcomes.loc["INC1", "sla_breached"]) is True
    assert bool(outcomes.loc["INC2", "sla_breached"]) is False
    assert outcomes.loc["INC1", "resolution_hours"] == 5
    assert np.isnan(outcomes.loc["INC2", "resolution_hours"])


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [("1 - High", "1 - High", 1), ("1 - High", "2 - Medium", 2), ("2 - Medium", "2 - Medium", 3), ("3 - Low", "3 - Low", 4)],
)
def test_priority_derived_from_impact_urgency(impact: str, urgency: str, expected: int):
    incidents = pd.DataFrame(
        {"opened_at": [pd.Timestamp(2016, 3, 1, 9)], "priority": [None], "impact": [impact], "urgency": [urgency]}
    )

    assert feature_frame(incidents)["priority"].iloc[0] == expected


def test_feature_frame_columns_and_calendar():
    incidents = pd.DataFrame({"opened_at": [pd.Timestamp(2016, 3, 5, 22, 40)], "priority": ["2 - High"]})

    features = feature_frame(incidents)

    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert features["open_hour"].iloc[0] == 22
    assert features["open_weekday"].iloc[0] == 5
    assert features["priority"].iloc[0] == 2
    assert pd.isna(features["category"].iloc[0])


def test_split_by_time_keeps_same_minute_together():
    opened_at = pd.Series(pd.to_datetime(["2016-03-01 09:00", "2016-03-02 09:00", "2016-03-03 09:00", "2016-03-03 09:00"]))
    table = IncidentTable(pd.DataFrame(index=range(4)), pd.DataFrame(index=range(4)), opened_at)

    training, test, boundary = split_by_time(table, 0.25)

    assert boundary == pd.Timestamp("2016-03-03 09:00")
    assert len(training) == 2
    assert len(test) == 2


def test_split_by_time_rejects_bad_fraction():
    table = IncidentTable(pd.DataFrame(), pd.DataFrame(), pd.Series(dtype="datetime64[ns]"))

    with pytest.raises(ValueError, match="test fraction"):
        split_by_time(table, 1.0)


def test_model_learns_category_effect(tmp_path: Path):
    table = load_incident_table([write_log(tmp_path / "log.csv", synthetic_log(300))])
    training, test, _ = split_by_time(table, 0.3)

    model = fit_resolution_model(
        training.features, training.outcomes, version="test", settings=TrainingSettings(max_iter=40, learning_rate=0.3, min_samples_leaf=5)
    )
    predictions = model.predict(test.features)
    slow = (test.features["category"] == "Category B").to_numpy()

    assert predictions["sla_breach_probability"][slow].min() > 0.8
    assert predictions["sla_breach_probability"][~slow].max() < 0.2
    assert predictions["resolution_hours_p50"][slow].median() > 100
    assert predictions["resolution_hours_p50"][~slow].median() < 5
    assert (predictions["resolution_hours_p90"] >= predictions["resolution_hours_p50"]).all()


def test_fit_rejects_single_outcome(tmp_path: Path):
    rows = [row for row in synthetic_log(40) if row["category"] == "Category A"]
    table = load_incident_table([write_log(tmp_path / "log.csv", rows)])

    with pytest.raises(ValueError, match="both SLA outcomes"):
        fit_resolution_model(table.features, table.outcomes, version="test")


def test_fit_rejects_feature_missing_everywhere(tmp_path: Path):
    rows = synthetic_log(40)
    for row in rows:
        row["caller_id"] = "?"
    table = load_incident_table([write_log(tmp_path / "log.csv", rows)])

    with pytest.raises(ValueError, match="caller_prior_incidents_7d"):
        fit_resolution_model(table.features, table.outcomes, version="test")


@pytest.fixture(scope="module")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("resolution")
    log = write_log(directory / "log.csv", synthetic_log(300))
    model_dir = directory / "model"
    train_main(["--incidents", str(log), "--model-dir", str(model_dir), "--max-iter", "40", "--learning-rate", "0.3", "--min-samples-leaf", "5"])
    return model_dir, log


def test_train_writes_artifact_and_metadata(trained_model_dir: tuple[Path, Path]):
    model_dir, _ = trained_model_dir

    metadata = read_metadata(model_dir)

    assert metadata["name"] == MODEL_NAME
    assert (model_dir / "model.joblib").is_file()
    assert metadata["test_incidents"] == 60
    assert metadata["metrics"]["model"]["sla_roc_auc"] > 0.95
    assert metadata["metrics"]["model"]["resolution_median_ae_hours"] < 60


def test_evaluate_files_scores_held_out_part(trained_model_dir: tuple[Path, Path]):
    model_dir, log = trained_model_dir

    result = evaluate_files(model_dir, log)

    assert result["incidents"] == 60
    assert result["skipped_earlier_incidents"] == 240
    assert result["model"] == read_metadata(model_dir)["metrics"]["model"]


def test_evaluate_files_rejects_only_training_incidents(tmp_path: Path):
    log = write_log(tmp_path / "log.csv", synthetic_log(100))
    model_dir = tmp_path / "model"
    train_main(["--incidents", str(log), "--model-dir", str(model_dir), "--max-iter", "5", "--test-fraction", "0"])

    with pytest.raises(ValueError, match="no incidents opened at or after"):
        evaluate_files(model_dir, log)


def test_inference_round_trip(trained_model_dir: tuple[Path, Path]):
    model_dir, _ = trained_model_dir
    model = inference.model_fn(str(model_dir))
    body = json.dumps(
        {
            "tickets": [
                {"ticket_id": "T-1", "opened_at": "2016-06-01T09:00:00+09:00", "priority": 3, "category": "Category B"},
                {"opened_at": "2016-06-01T09:00:00", "impact": "2 - Medium", "urgency": 2, "category": "Category A"},
                {"opened_at": "2016-06-01T09:00:00", "priority": "3 - Moderate", "category": "never seen"},
            ]
        }
    )

    response = json.loads(inference.output_fn(inference.predict_fn(inference.input_fn(body, "application/json"), model), "application/json"))

    assert response["model"] == MODEL_NAME
    assert response["model_version"] == read_metadata(model_dir)["version"]
    predictions = response["predictions"]
    assert len(predictions) == 3
    assert predictions[0]["ticket_id"] == "T-1"
    assert "ticket_id" not in predictions[1]
    assert predictions[0]["sla_breach_probability"] > predictions[1]["sla_breach_probability"]
    assert predictions[0]["resolution_hours_p50"] > predictions[1]["resolution_hours_p50"]
    for prediction in predictions:
        assert 0 <= prediction["sla_breach_probability"] <= 1
        assert prediction["resolution_hours_p90"] >= prediction["resolution_hours_p50"] >= 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"items": []}', '"tickets" list'),
        ('{"tickets": []}', "1 to 64"),
        (json.dumps({"tickets": [{"opened_at": "2016-06-01T09:00", "priority": 3}] * 65}), "1 to 64"),
        ('{"tickets": [{"priority": 3}]}', "opened_at is required"),
        ('{"tickets": [{"opened_at": "yesterday", "priority": 3}]}', "not an ISO 8601"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00"}]}', "needs priority"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00", "impact": 2}]}', "needs priority"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00", "priority": 5}]}', "priority must be a level from 1 to 4"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00", "priority": true}]}', "priority must be a level"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00", "priority": 3, "category": 4}]}', "category must be a string"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00", "priority": 3, "caller_prior_incidents_7d": -1}]}', "non-negative"),
        ('{"tickets": [{"opened_at": "2016-06-01T09:00", "priority": 3, "subject": "x"}]}', "unknown fields"),
        ('{"tickets": ["x"]}', "must be a JSON object"),
    ],
)
def test_input_fn_rejects_invalid_request(body: str, message: str):
    with pytest.raises(ValueError, match=message):
        inference.input_fn(body, "application/json")


def test_input_fn_rejects_other_content_type():
    with pytest.raises(ValueError, match="unsupported content type"):
        inference.input_fn("{}", "text/csv")


def test_output_fn_rejects_other_accept():
    with pytest.raises(ValueError, match="unsupported accept type"):
        inference.output_fn({"model": MODEL_NAME}, "text/csv")
