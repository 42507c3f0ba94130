"""SageMaker inference handlers for the triage model.

Request (``application/json``): ``{"texts": ["...", ...]}`` with 1 to 64 texts, or
``{"text": "..."}`` for one. Response::

    {"model": "triage", "model_version": "...",
     "predictions": [{"category": "4" | null, "queue": "...", "confidence": 0.93,
                      "abstained": false, "reason": null | "low_confidence" | "unfamiliar_text",
                      "top": [["4", 0.93], ["5", 0.05], ["6", 0.01]]}]}

An abstained prediction has category null and the review queue, so a person decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ml.triage.model import TriageModel

MODEL_NAME = "triage"
JSON_CONTENT_TYPE = "application/json"
MAX_TEXTS = 64
MAX_TEXT_CHARS = 50_000
_METADATA_FILE = "metadata.json"


def model_fn(model_dir: str) -> dict[str, Any]:
    """Load the model and its version from an artifact folder."""
    directory = Path(model_dir)
    metadata_path = directory / _METADATA_FILE
    version = "unknown"
    if metadata_path.is_file():
        version = json.loads(metadata_path.read_text("utf-8")).get("version", "unknown")
    return {"model": TriageModel.load(directory), "version": version}


def input_fn(request_body: str | bytes, content_type: str = JSON_CONTENT_TYPE) -> list[str]:
    """Parse a JSON request into a list of ticket texts; raise ValueError on bad input."""
    if content_type.split(";")[0].strip().lower() != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}")
    if isinstance(request_body, bytes):
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
    if not isinstance(texts, list) or not texts:
        raise ValueError('"texts" must be a non-empty list of strings')
    if len(texts) > MAX_TEXTS:
        raise ValueError(f'"texts" has {len(texts)} items, the maximum is {MAX_TEXTS}; split the request')

    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {index} must be a string, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"text {index} is empty; send the ticket's title and body")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text {index} has {len(text)} characters, the maximum is {MAX_TEXT_CHARS}")
    return texts


def predict_fn(data: list[str], model: dict[str, Any]) -> dict[str, Any]:
    """Triage each text with the loaded model."""
    predictions = model["model"].predict(data)
    return {
        "model": MODEL_NAME,
        "model_version": model["version"],
        "predictions": [prediction.to_dict() for prediction in predictions],
    }


def output_fn(prediction: dict[str, Any], accept: str = JSON_CONTENT_TYPE) -> str:
    """Serialise the predictions as JSON."""
    if accept and accept.split(";")[0].strip().lower() not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; request {JSON_CONTENT_TYPE}")
    return json.dumps(prediction, ensure_ascii=False)
