"""Unit tests of the triage model on small hand-made ticket data."""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from ml.triage import commands, inference
from ml.triage.data import TicketSet, load_tickets, split_by_order, split_tickets
from ml.triage.evaluate import accuracy_at_coverage, classification_metrics, coverage_table, supported_categories
from ml.triage.model import (
    REASON_LOW_CONFIDENCE,
    REASON_UNFAMILIAR_TEXT,
    QueueMap,
    TriageConfig,
    TriageModel,
    choose_threshold,
    fit_triage_model,
)
from ml.triage.train import build_queue_map, main

VOCABULARY = {
    "network": ["vpn", "wifi", "router", "connection", "latency", "dns", "firewall", "ethernet", "proxy", "gateway"],
    "printer": ["printer", "toner", "paper", "jam", "scanner", "cartridge", "tray", "duplex", "spooler", "print"],
    "account": ["password", "reset", "locked", "login", "mfa", "expired", "username", "credentials", "unlock", "otp"],
}
# Never shown in training: the model must abstain on it.
UNSEEN_VOCABULARY = ["payroll", "salary", "payslip", "bonus", "deduction", "pension", "allowance", "overtime"]
FILLER = ["please", "help", "thanks", "urgent", "today", "issue", "hi", "team"]


def make_text(rng: random.Random, words: list[str]) -> str:
    return " ".join(rng.sample(words, 4) + rng.sample(FILLER, 3))


def make_tickets(rows_per_category: int = 40, seed: int = 7) -> TicketSet:
    rng = random.Random(seed)
    texts, categories = [], []
    for _ in range(rows_per_category):
        for category, words in VOCABULARY.items():
            texts.append(make_text(rng, words))
            categories.append(category)
    return TicketSet(texts=texts, categories=categories)


SMALL_CONFIG = TriageConfig(min_df=1, target_accuracy=0.95)


@pytest.fixture(scope="module")
def fitted() -> tuple[TriageModel, dict]:
    tickets = make_tickets()
    queue_map = QueueMap(queues={"network": "infrastructure", "printer": "infrastructure", "account": "identity"})
    return fit_triage_model(tickets.texts, tickets.categories, queue_map, SMALL_CONFIG)


def write_endava_csv(path: Path, tickets: TicketSet) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "body", "ticket_type", "category", "sub_category1", "sub_category2", "business_service", "urgency", "impact"])
        for text, category in zip(tickets.texts, tickets.categories, strict=True):
            title, body = text.split(" ", 1)
            writer.writerow([title, body, 1, category, 1, 1, 1, 3, 4])
    return path


# Data loading and splitting


def test_load_endava_joins_title_and_body(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("title,body,category\nvpn down,cannot connect,4\n,printer jam,5\nno category,text,\n", "utf-8")

    tickets = load_tickets(path, "endava")

    assert tickets.texts == ["vpn down cannot connect", "printer jam"]
    assert tickets.categories == ["4", "5"]
    assert tickets.queues is None


def test_load_bitext_uses_intent_and_routing_category(tmp_path: Path) -> None:
    path = tmp_path / "bitext.csv"
    path.write_text(
        'instruction,intent,category,response\n"cancel order 12",cancel_order,ORDER,"line one\nline two"\nwhere is my refund,track_refund,REFUND,ok\n',
        "utf-8",
    )

    tickets = load_tickets(path, "bitext")

    assert tickets.categories == ["cancel_order", "track_refund"]
    assert tickets.queues == ["ORDER", "REFUND"]


def test_load_rejects_wrong_format(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("instruction,intent,category\nhello,greet,X\n", "utf-8")

    with pytest.raises(ValueError, match="missing column"):
        load_tickets(path, "endava")
    with pytest.raises(ValueError, match="unknown data format"):
        load_tickets(path, "csv")
    with pytest.raises(ValueError, match="not found"):
        load_tickets(tmp_path / "absent.csv", "endava")


def test_split_keeps_file_order() -> None:
    tickets = TicketSet(texts=[str(i) for i in range(10)], categories=["a"] * 10)

    train, test = split_by_order(tickets, 0.2)

    assert train.texts == [str(i) for i in range(8)]
    assert test.texts == ["8", "9"]
    with pytest.raises(ValueError, match="test fraction"):
        split_by_order(tickets, 1.0)


def test_interleaved_split_spreads_test_rows() -> None:
    tickets = TicketSet(texts=[str(i) for i in range(10)], categories=["a"] * 5 + ["b"] * 5)

    train, test = split_tickets(tickets, 0.2, "interleaved")

    assert test.texts == ["4", "9"]
    assert set(test.categories) == {"a", "b"}
    assert len(train) == 8
    with pytest.raises(ValueError, match="unknown split"):
        split_tickets(tickets, 0.2, "random")


# Model


def test_model_predicts_known_categories(fitted: tuple[TriageModel, dict]) -> None:
    model, _ = fitted
    rng = random.Random(99)
    cases = [(make_text(rng, words), category) for category, words in VOCABULARY.items()]

    predictions = model.predict([text for text, _ in cases])

    for prediction, (_, category) in zip(predictions, cases, strict=True):
        assert prediction.category == category
        assert not prediction.abstained
        assert prediction.confidence >= model.threshold
        assert len(prediction.top) == 3
        assert prediction.top[0] == (category, prediction.confidence)
        assert [p for _, p in prediction.top] == sorted((p for _, p in prediction.top), reverse=True)
    assert predictions[0].queue == "infrastructure"
    assert predictions[2].queue == "identity"


def test_model_abstains_on_unseen_category(fitted: tuple[TriageModel, dict]) -> None:
    model, _ = fitted
    rng = random.Random(5)
    texts = [make_text(rng, UNSEEN_VOCABULARY) for _ in range(20)]

    predictions = model.predict(texts)

    assert all(prediction.abstained for prediction in predictions)
    assert all(prediction.category is None for prediction in predictions)
    assert all(prediction.queue == "triage-review" for prediction in predictions)
    assert {prediction.reason for prediction in predictions} <= {REASON_UNFAMILIAR_TEXT, REASON_LOW_CONFIDENCE}


def test_model_flags_text_unlike_training(fitted: tuple[TriageModel, dict]) -> None:
    model, _ = fitted
    # No word in common with any training ticket: similarity decides, whatever the confidence.
    texts = ["payroll salary payslip bonus", "급여 명세서 오류 문의"]

    predictions = model.predict(texts)

    for prediction in predictions:
        assert prediction.abstained
        assert prediction.reason == REASON_UNFAMILIAR_TEXT
        assert prediction.similarity < model.min_similarity


def test_model_abstains_on_mixed_ticket() -> None:
    tickets = make_tickets()
    model, _ = fit_triage_model(
        tickets.texts, tickets.categories, config=TriageConfig(min_df=1, threshold=0.9, min_similarity=0.0)
    )
    mixed = "vpn router dns printer toner jam please help"

    prediction = model.predict([mixed])[0]

    assert prediction.abstained
    assert prediction.reason == REASON_LOW_CONFIDENCE
    assert prediction.category is None
    assert {label for label, _ in prediction.top[:2]} == {"network", "printer"}


def test_limits_chosen_on_validation(fitted: tuple[TriageModel, dict]) -> None:
    model, report = fitted

    assert report["validation_rows"] == 24
    assert 0.0 < model.threshold < 1.0
    assert 0.0 < model.min_similarity < 1.0
    assert report["threshold"] == model.threshold


def test_limits_on_label_sorted_data() -> None:
    tickets = make_tickets()
    order = sorted(range(len(tickets)), key=lambda i: tickets.categories[i])
    sorted_tickets = tickets.subset(order)

    _, report = fit_triage_model(
        sorted_tickets.texts, sorted_tickets.categories, config=TriageConfig(min_df=1, validation_split="interleaved")
    )

    # Validating on the last rows would see only one category, never trained on.
    assert report["validation_accuracy"] > 0.9
    assert report["target_met"]


def test_choose_threshold_lowest_meeting_target() -> None:
    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True, False])

    assert choose_threshold(confidence, correct, 1.0) == (0.8, True)
    assert choose_threshold(confidence, correct, 0.8) == (0.6, True)
    assert choose_threshold(confidence, correct, 0.5) == (0.5, True)


def test_choose_threshold_ties_and_unreachable() -> None:
    confidence = np.array([0.9, 0.9, 0.5, 0.5])
    correct = np.array([True, False, False, False])

    # The two tickets at 0.9 are accepted together, so 100 % is out of reach.
    assert choose_threshold(confidence, correct, 1.0) == (0.9, False)


def test_save_and_load_round_trip(fitted: tuple[TriageModel, dict], tmp_path: Path) -> None:
    model, _ = fitted
    texts = ["vpn gateway down please", "payroll bonus salary"]

    model.save(tmp_path)
    loaded = TriageModel.load(tmp_path)

    assert [p.to_dict() for p in loaded.predict(texts)] == [p.to_dict() for p in model.predict(texts)]
    assert loaded.queue_map == model.queue_map


def test_load_rejects_missing_artifact(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="servicedesk train triage"):
        TriageModel.load(tmp_path)


def test_fit_rejects_bad_training_data() -> None:
    with pytest.raises(ValueError, match="at least 2 categories"):
        fit_triage_model(["a b", "c d"], ["x", "x"], config=SMALL_CONFIG)
    with pytest.raises(ValueError, match="empty"):
        fit_triage_model(["a b", "  "], ["x", "y"], config=SMALL_CONFIG)
    with pytest.raises(ValueError, match="too few rows"):
        fit_triage_model(["vpn down", "printer jam"] * 4, ["n", "p"] * 4, config=SMALL_CONFIG)
    with pytest.raises(ValueError, match="threshold"):
        TriageConfig(threshold=1.5).validate()


# Queues


def test_queue_map_from_groups_uses_most_common() -> None:
    queue_map = QueueMap.from_groups(["a", "a", "a", "b"], ["Q1", "Q2", "Q1", "Q3"])

    assert queue_map.queues == {"a": "Q1", "b": "Q3"}
    assert queue_map.queue_for("b") == "Q3"
    assert queue_map.queue_for("unknown") == "general"
    assert queue_map.queue_for(None) == "triage-review"


def test_build_queue_map_sources(tmp_path: Path) -> None:
    tickets = TicketSet(texts=["t1", "t2"], categories=["4", "5"])
    mapping_file = tmp_path / "queues.json"
    mapping_file.write_text(json.dumps({"4": "service-requests"}), "utf-8")
    bad_file = tmp_path / "bad.json"
    bad_file.write_text('["4"]', "utf-8")

    from_file, source = build_queue_map(tickets, mapping_file, "general", "review")
    identity, identity_source = build_queue_map(tickets, None, "general", "review")

    assert source == "file"
    assert from_file.queue_for("4") == "service-requests"
    assert from_file.queue_for("5") == "general"
    assert identity_source == "identity"
    assert identity.queues == {"4": "4", "5": "5"}
    with pytest.raises(ValueError, match="JSON object"):
        build_queue_map(tickets, bad_file, "general", "review")


# Metrics


def test_metrics_macro_over_given_labels() -> None:
    truth = ["a", "a", "b", "c"]
    predicted = ["a", "a", "c", "c"]

    metrics = classification_metrics(truth, predicted, ["a", "b"])

    assert metrics["accuracy"] == 0.75
    assert metrics["macro_f1"] == 0.5
    assert supported_categories(["a"] * 20 + ["b"] * 19) == ["a"]


def test_coverage_table_and_accuracy_at_coverage() -> None:
    truth = ["a", "a", "a", "a"]
    predicted = ["a", "a", "b", "b"]
    confidence = np.array([0.9, 0.8, 0.6, 0.3])

    table = coverage_table(truth, predicted, confidence, thresholds=(0.0, 0.7, 0.95))
    at_coverage = accuracy_at_coverage(truth, predicted, confidence, coverages=(1.0, 0.5))

    assert table == [
        {"threshold": 0.0, "coverage": 1.0, "accuracy": 0.5},
        {"threshold": 0.7, "coverage": 0.5, "accuracy": 1.0},
        {"threshold": 0.95, "coverage": 0.0, "accuracy": None},
    ]
    assert at_coverage == [{"coverage": 1.0, "accuracy": 0.5}, {"coverage": 0.5, "accuracy": 1.0}]


# Inference handlers


def test_input_fn_accepts_text_and_texts() -> None:
    assert inference.input_fn('{"text": "vpn down"}', "application/json") == ["vpn down"]
    assert inference.input_fn(b'{"texts": ["a", "b"]}', "application/json; charset=utf-8") == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ('{"texts": ["a"]}', "text/csv", "content type"),
        ("{not json", "application/json", "not valid JSON"),
        ('{"texts": ["a"], "text": "b"}', "application/json", "either"),
        ('["a"]', "application/json", "either"),
        ('{"texts": []}', "application/json", "non-empty"),
        ('{"texts": [1]}', "application/json", "must be a string"),
        ('{"text": "   "}', "application/json", "is empty"),
        (json.dumps({"texts": ["a"] * 65}), "application/json", "maximum is 64"),
        (json.dumps({"text": "a" * 50_001}), "application/json", "characters"),
    ],
)
def test_input_fn_rejects_bad_request(body: str, content_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inference.input_fn(body, content_type)


def test_handlers_round_trip(fitted: tuple[TriageModel, dict], tmp_path: Path) -> None:
    model, _ = fitted
    model.save(tmp_path)
    (tmp_path / "metadata.json").write_text(json.dumps({"name": "triage", "version": "v-test"}), "utf-8")

    loaded = inference.model_fn(str(tmp_path))
    data = inference.input_fn(json.dumps({"texts": ["printer toner jam tray", "payroll salary bonus pension"]}), "application/json")
    body = json.loads(inference.output_fn(inference.predict_fn(data, loaded), "application/json"))

    assert body["model"] == "triage"
    assert body["model_version"] == "v-test"
    first, second = body["predictions"]
    assert first["category"] == "printer"
    assert first["queue"] == "infrastructure"
    assert first["abstained"] is False
    assert first["top"][0][0] == "printer"
    assert second == {**second, "category": None, "abstained": True, "queue": "triage-review"}
    with pytest.raises(ValueError, match="accept"):
        inference.output_fn(body, "text/csv")


# Training script and commands


def test_train_main_writes_artifact(tmp_path: Path) -> None:
    data = write_endava_csv(tmp_path / "tickets.csv", make_tickets())
    output = tmp_path / "model"

    metadata = main(["--train", str(tmp_path), "--model-dir", str(output), "--min-df", "1", "--test-fraction", "0.25"])

    assert (output / "model.joblib").is_file()
    saved = json.loads((output / "metadata.json").read_text("utf-8"))
    assert saved["name"] == "triage"
    assert saved["version"] == metadata["version"]
    assert saved["data_file"] == data.name
    assert saved["training_rows"] == 90
    assert saved["test_rows"] == 30
    assert saved["metrics"]["test"]["accuracy"] > 0.9
    assert saved["queue_source"] == "identity"


def test_commands_train_then_evaluate(tmp_path: Path) -> None:
    tickets = make_tickets(rows_per_category=60)
    data = write_endava_csv(tmp_path / "tickets.csv", tickets)
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    commands.add_train_arguments(subparsers.add_parser("train"))
    commands.add_evaluate_arguments(subparsers.add_parser("evaluate"))
    model_dir = str(tmp_path / "model")

    trained = commands.train(parser.parse_args(["train", "--data", str(data), "--model-dir", model_dir, "--min-df", "1"]))
    evaluated = commands.evaluate(
        parser.parse_args(["evaluate", "--data", str(data), "--model-dir", model_dir, "--baselines", "--open-set", "account"])
    )

    assert trained["model_version"] == evaluated["model_version"]
    assert evaluated["test"]["rows"] == 36
    assert evaluated["test"]["accuracy"] == trained["test"]["accuracy"]
    assert set(evaluated["baselines"]) == {"majority", "tfidf_logreg"}
    assert evaluated["open_set"]["held_out_categories"] == ["account"]
    assert evaluated["open_set"]["abstained_held_out"] > evaluated["open_set"]["abstained_known"]
    with pytest.raises(ValueError, match="does not occur"):
        commands.evaluate(parser.parse_args(["evaluate", "--data", str(data), "--model-dir", model_dir, "--open-set", "payroll"]))
