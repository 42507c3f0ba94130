"""Triage model on the public Endava and Bitext ticket data (skipped when it is missing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.triage import inference
from ml.triage.data import default_data_file, load_tickets, split_tickets
from ml.triage.evaluate import open_set_check
from ml.triage.model import TriageConfig
from ml.triage.train import train_triage

pytestmark = pytest.mark.slow


def require(data_format: str) -> Path:
    path = default_data_file(data_format)
    if not path.exists():
        pytest.skip(f"public {data_format} data not found at {path}")
    return path


@pytest.fixture(scope="module")
def endava_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = require("endava")
    model_dir = tmp_path_factory.mktemp("triage-endava")
    metadata = train_triage(path, "endava", model_dir, TriageConfig(), test_fraction=0.2, with_baselines=True)
    return model_dir, metadata


def test_endava_beats_plain_baseline(endava_model: tuple[Path, dict]) -> None:
    _, metadata = endava_model
    test = metadata["metrics"]["test"]
    plain = metadata["metrics"]["baselines"]["tfidf_logreg"]
    majority = metadata["metrics"]["baselines"]["majority"]

    assert test["rows"] == 760
    assert test["accuracy"] >= 0.84
    assert test["accuracy"] > plain["accuracy"]
    assert test["weighted_f1"] > plain["weighted_f1"]
    assert test["macro_f1"] > plain["macro_f1"]
    assert plain["accuracy"] > majority["accuracy"]


def test_endava_abstention_trades_coverage(endava_model: tuple[Path, dict]) -> None:
    _, metadata = endava_model
    test = metadata["metrics"]["test"]

    assert 0.7 < test["coverage"] < 1.0
    assert test["covered_accuracy"] > test["accuracy"]
    table = test["coverage_table"]
    assert [row["coverage"] for row in table] == sorted((row["coverage"] for row in table), reverse=True)


def test_endava_handlers_serve_model(endava_model: tuple[Path, dict]) -> None:
    model_dir, metadata = endava_model
    texts = load_tickets(default_data_file("endava"), "endava").texts[-5:]

    model = inference.model_fn(str(model_dir))
    body = json.loads(inference.output_fn(inference.predict_fn(inference.input_fn(json.dumps({"texts": texts})), model)))

    assert body["model_version"] == metadata["version"]
    assert len(body["predictions"]) == 5
    for prediction in body["predictions"]:
        assert (prediction["category"] is None) == prediction["abstained"]
        assert len(prediction["top"]) == 3


def test_endava_held_out_category_abstains_more() -> None:
    tickets = load_tickets(require("endava"), "endava")
    train, test = split_tickets(tickets, 0.2, "order")
    # Fixed limits skip the validation fit and keep the test short.
    config = TriageConfig(threshold=0.7, min_similarity=0.1)

    check = open_set_check(train, test, ["6"], config)

    assert check["held_out_rows"] == 38
    assert check["abstained_held_out"] > check["abstained_known"]
    assert check["auroc_confidence"] > 0.6


def test_bitext_smoke(tmp_path: Path) -> None:
    path = require("bitext")

    metadata = train_triage(path, "bitext", tmp_path, TriageConfig(), test_fraction=0.2)

    test = metadata["metrics"]["test"]
    assert metadata["split"] == "interleaved"
    assert metadata["queue_source"] == "data"
    assert test["accuracy"] >= 0.95
    assert test["queue_accuracy"] >= 0.95
    assert test["coverage"] >= 0.9
