"""Sentiment model: training on the shipped corpus, the inference contract and language detection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.common import artifacts
from ml.sentiment import inference
from ml.sentiment.data import CORPUS_PATH, LabelledTexts, holdout_split, read_corpus
from ml.sentiment.features import detect_language, mark_negation
from ml.sentiment.train import MODEL_FILE, ensure_model, main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sentiment")
    main(["--model-dir", str(directory), "--no-public-data"])
    return directory


@pytest.fixture(scope="module")
def loaded(model_dir):
    return inference.model_fn(str(model_dir))


def predict(loaded, payload):
    body = json.dumps(payload, ensure_ascii=False)
    output = inference.output_fn(inference.predict_fn(inference.input_fn(body, "application/json"), loaded), "application/json")
    return json.loads(output)


def test_corpus_is_balanced_and_labelled():
    corpus = read_corpus(CORPUS_PATH)
    labels, counts = np.unique(corpus.labels, return_counts=True)

    assert list(labels) == ["negative", "neutral", "positive"]
    assert counts.min() >= 200
    assert len(set(corpus.texts)) == len(corpus.texts)


def test_training_writes_artifact_and_metadata(model_dir):
    metadata = artifacts.read_metadata(model_dir)

    assert (model_dir / MODEL_FILE).is_file()
    assert metadata["name"] == "sentiment"
    assert metadata["version"]
    assert len(metadata["data_fingerprint"]) == 64
    assert metadata["training_files"] == ["service_desk.tsv"]


def test_round_trip_returns_contract(loaded):
    response = predict(loaded, {"texts": ["비밀번호 초기화 부탁드립니다.", "Thanks, it works now!"]})

    assert response["model"] == "sentiment"
    assert response["model_version"] == loaded["version"]
    assert len(response["predictions"]) == 2
    for prediction in response["predictions"]:
        assert set(prediction) == {"label", "score", "negative", "language"}
        assert prediction["label"] in ("negative", "neutral", "positive")
        assert 0.0 <= prediction["negative"] <= 1.0
        assert prediction["score"] >= 1 / 3


def test_single_text_request(loaded):
    response = predict(loaded, {"text": "Thank you so much, the VPN works again. Great job!"})

    assert len(response["predictions"]) == 1
    assert response["predictions"][0]["label"] == "positive"
    assert response["predictions"][0]["language"] == "en"


@pytest.mark.parametrize(
    "text",
    [
        "서버가 또 다운됐어요. 벌써 세 번째입니다. 이번 주 안에 해결 안 되면 계약 해지하겠습니다.",
        "몇 번을 말해야 고쳐주나요? 진짜 화가 납니다.",
        "환불 요청한 지 한 달째인데 아무 연락이 없네요. 최악입니다.",
        "VPN 또 끊겼어요 ㅡㅡ 업무를 못 하잖아요",
    ],
)
def test_korean_complaints_are_negative(loaded, text):
    prediction = predict(loaded, {"text": text})["predictions"][0]

    assert prediction["label"] == "negative"
    assert prediction["negative"] > 0.5


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("프린터 토너 교체 요청드립니다. 5층 복합기입니다.", "neutral"),
        ("Could you tell me when the maintenance window starts?", "neutral"),
        ("빠르게 해결해 주셔서 정말 감사합니다!", "positive"),
    ],
)
def test_requests_and_thanks(loaded, text, label):
    assert predict(loaded, {"text": text})["predictions"][0]["label"] == label


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", '"texts"'),
        ('{"texts": "one string"}', "must be a list"),
        ('{"texts": []}', "1 to 64"),
        (json.dumps({"texts": ["a"] * 65}), "1 to 64"),
        ('{"texts": ["ok", 3]}', "text 1 must be a string"),
        (json.dumps({"text": "가" * 20_001}), "limit of 20000"),
        ('{"text": "a", "texts": ["b"]}', "either"),
    ],
)
def test_bad_input_raises(body, message):
    with pytest.raises(ValueError, match=message):
        inference.input_fn(body, "application/json")


def test_bad_content_types_raise(loaded):
    with pytest.raises(ValueError, match="unsupported content type"):
        inference.input_fn('{"text": "a"}', "text/csv")
    with pytest.raises(ValueError, match="unsupported accept type"):
        inference.output_fn({"predictions": []}, "text/csv")


def test_input_accepts_bytes_and_limits():
    texts = inference.input_fn(json.dumps({"texts": ["가" * 20_000] * 64}).encode(), "application/json; charset=utf-8")

    assert len(texts) == 64


def test_model_fn_missing_artifact(tmp_path):
    with pytest.raises(FileNotFoundError, match="servicedesk train sentiment"):
        inference.model_fn(str(tmp_path))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("비밀번호 초기화 부탁드립니다.", "ko"),
        ("티켓 #4821 PC 재부팅 후에도 증상이 계속됩니다", "ko"),
        ("Please reset my password.", "en"),
        ("The build server in the 판교 office is down since this morning", "en"),
        ("Outlook 비밀번호 reset 부탁드립니다.", "mixed"),
        ("VPN이 또 disconnect 됩니다", "mixed"),
        ("#4821 !!! 👍", "unknown"),
        ("", "unknown"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_mark_negation_scopes_to_clause():
    assert mark_negation("It was not good, but fine.") == "it was not NEG_good , but fine ."
    assert mark_negation("I don't like it") == "i don't NEG_like NEG_it"


def test_holdout_split_is_stratified_and_fixed():
    data = LabelledTexts("toy", [f"text {i}" for i in range(100)], np.asarray(["negative"] * 60 + ["positive"] * 40))

    train, held_out = holdout_split(data, 0.2)
    again, _ = holdout_split(data, 0.2)

    assert len(held_out) == 20
    assert (held_out.labels == "negative").sum() == 12
    assert train.texts == again.texts
    assert not set(train.texts) & set(held_out.texts)


def test_ensure_model_trains_only_when_missing(model_dir, monkeypatch):
    monkeypatch.setattr("ml.sentiment.train.train", lambda args: pytest.fail("must not retrain"))

    assert ensure_model(model_dir) == model_dir
