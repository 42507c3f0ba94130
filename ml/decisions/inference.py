"""SageMaker inference handlers for the approval decision model.

Request (``application/json``): ``{"requests": [{"system": "ci", "level": "admin", "role":
"engineer", "department": "engineering", "employee_type": "regular", "in_role_template": true,
"privileged_count": 1}, ...]}`` with 1 to 64 requests. Response::

    {"model": "decisions", "model_version": "...", "predictions": [{"approve_probability": 0.93}]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ml.decisions.model import FEATURES, DecisionModel

MODEL_NAME = "decisions"
JSON_CONTENT_TYPE = "application/json"
MAX_REQUESTS = 64
_METADATA_FILE = "metadata.json"


def model_fn(model_dir: str) -> dict[str, Any]:
    directory = Path(model_dir)
    metadata_path = directory / _METADATA_FILE
    version = json.loads(metadata_path.read_text("utf-8")).get("version", "unknown") if metadata_path.is_file() else "unknown"
    return {"model": DecisionModel.load(directory), "version": version}


def input_fn(request_body: str | bytes, content_type: str = JSON_CONTENT_TYPE) -> list[dict[str, Any]]:
    """Parse a JSON request into a list of requests; raise ValueError on bad input."""
    if content_type.split(";")[0].strip().lower() != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}")
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    try:
        payload = json.loads(request_body)
    except json.JSONDecodeError as error:
        raise ValueError(f"request body is not valid JSON: {error.msg}") from error
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list) or not requests:
        raise ValueError('request must be a JSON object with "requests", a non-empty list of objects')
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f'"requests" has {len(requests)} items, the maximum is {MAX_REQUESTS}')
    for index, request in enumerate(requests):
        if not isinstance(request, dict):
            raise ValueError(f"request {index} must be an object")
        missing = [name for name in FEATURES if name not in request]
        if missing:
            raise ValueError(f"request {index} lacks {', '.join(missing)}")
    return requests


def predict_fn(data: list[dict[str, Any]], model: dict[str, Any]) -> dict[str, Any]:
    probabilities = model["model"].approve_probability(data)
    return {
        "model": MODEL_NAME,
        "model_version": model["version"],
        "predictions": [{"approve_probability": round(value, 6)} for value in probabilities],
    }


def output_fn(prediction: dict[str, Any], accept: str = JSON_CONTENT_TYPE) -> str:
    if accept and accept.split(";")[0].strip().lower() not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; request {JSON_CONTENT_TYPE}")
    return json.dumps(prediction)
