"""SageMaker inference handlers of the sentiment model.

Request: JSON `{"texts": ["...", ...]}` (1 to 64 texts) or `{"text": "..."}`, each text at most
20,000 characters. Response: JSON `{"model": "sentiment", "model_version": "...", "predictions":
[{"label", "score", "negative", "language"}, ...]}` in request order, where `score` is the
probability of `label` and `negative` the probability of negative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib

from ml.sentiment.features import detect_language
from ml.sentiment.model import SentimentModel

MODEL_NAME = "sentiment"
MODEL_FILE = "model.joblib"
MAX_TEXTS = 64
MAX_TEXT_CHARACTERS = 20_000
JSON_CONTENT_TYPE = "application/json"
_WARM_UP_TEXTS = ["메일 서버가 또 안 됩니다", "The VPN keeps dropping"]


def model_fn(model_dir: str | Path) -> dict[str, Any]:
    """Load model.joblib from `model_dir` and run one warm-up prediction."""
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"model artifact not found: {path}; train it with `servicedesk train sentiment`")
    bundle = joblib.load(path)
    model: SentimentModel = bundle["model"]
    # The first prediction loads the Korean morpheme analyser, which takes seconds, so do it here
    # rather than in the first request.
    model.predict_proba(_WARM_UP_TEXTS)
    return {"model": model, "version": bundle["version"]}


def input_fn(request_body: str | bytes, content_type: str = JSON_CONTENT_TYPE) -> list[str]:
    """Parse and validate a JSON request; return the texts."""
    if content_type.split(";")[0].strip().lower() != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}")
    if isinstance(request_body, bytes | bytearray):
        try:
            request_body = request_body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError("request body is not valid UTF-8") from error
    try:
        payload = json.loads(request_body)
    except json.JSONDecodeError as error:
        raise ValueError(f"request body is not valid JSON: {error.msg} at position {error.pos}") from error
    if not isinstance(payload, dict) or ("texts" in payload) == ("text" in payload):
        raise ValueError('request must be a JSON object with either "texts" (a list of strings) or "text" (a string)')

    texts = payload["texts"] if "texts" in payload else [payload["text"]]
    if not isinstance(texts, list):
        raise ValueError(f'"texts" must be a list of strings, got {type(texts).__name__}')
    if not 1 <= len(texts) <= MAX_TEXTS:
        raise ValueError(f'"texts" must contain 1 to {MAX_TEXTS} texts, got {len(texts)}; split larger batches')
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {index} must be a string, got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARACTERS:
            raise ValueError(
                f"text {index} has {len(text)} characters, more than the limit of {MAX_TEXT_CHARACTERS}; truncate it"
            )
    return texts


def predict_fn(data: list[str], model: dict[str, Any]) -> dict[str, Any]:
    """Predict the sentiment of each text; return the response document."""
    sentiment: SentimentModel = model["model"]
    languages = [detect_language(text) for text in data]
    probabilities = sentiment.predict_proba(data, languages)
    labels = sentiment.labels
    negative_index = labels.index("negative")

    predictions = []
    for row, language in zip(probabilities, languages, strict=True):
        best = int(row.argmax())
        predictions.append(
            {
                "label": labels[best],
                "score": round(float(row[best]), 4),
                "negative": round(float(row[negative_index]), 4),
                "language": language,
            }
        )
    return {"model": MODEL_NAME, "model_version": model["version"], "predictions": predictions}


def output_fn(prediction: dict[str, Any], accept: str = JSON_CONTENT_TYPE) -> str:
    """Serialise the prediction as JSON."""
    accepted = accept.split(";")[0].strip().lower() if accept else "*/*"
    if accepted not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; request {JSON_CONTENT_TYPE}")
    return json.dumps(prediction, ensure_ascii=False)
