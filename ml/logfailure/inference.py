"""SageMaker inference handlers for the log failure detector.

Request: `{"lines": ["raw log line", ...]}` with 1 to 500 lines in time order. BGL lines are
read with their fields (a leading alert label, as in the loghub files, is dropped); other
lines are parsed generically. Response: one prediction per line and a warning over the window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib

from ml.logfailure import MODEL_NAME
from ml.logfailure.parsing import parse_line

ARTIFACT_FILE = "model.joblib"
JSON_CONTENT_TYPE = "application/json"
MAX_LINES = 500


def model_fn(model_dir: str) -> dict[str, Any]:
    """Load the artifact written by train.py."""
    path = Path(model_dir) / ARTIFACT_FILE
    if not path.is_file():
        raise ValueError(f"model artifact not found: {path}; run `servicedesk train logfailure` first")
    return joblib.load(path)


def input_fn(request_body: str | bytes, content_type: str = JSON_CONTENT_TYPE) -> list[str]:
    """Parse and validate the request; raise ValueError saying what is wrong."""
    if content_type.split(";")[0].strip() != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}: send {JSON_CONTENT_TYPE}")
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    try:
        payload = json.loads(request_body)
    except json.JSONDecodeError as error:
        raise ValueError(f"request body is not valid JSON: {error}") from error

    if not isinstance(payload, dict) or "lines" not in payload:
        raise ValueError('request must be a JSON object with a "lines" list of log lines')
    lines = payload["lines"]
    if not isinstance(lines, list) or not lines:
        raise ValueError('"lines" must be a non-empty list of log lines')
    if len(lines) > MAX_LINES:
        raise ValueError(f'"lines" has {len(lines)} entries; send at most {MAX_LINES} per request')
    for index, line in enumerate(lines):
        if not isinstance(line, str):
            raise ValueError(f'"lines"[{index}] must be a string, got {type(line).__name__}')
    return lines


def predict_fn(lines: list[str], model: dict[str, Any]) -> dict[str, Any]:
    """Score each line and the warning risk of the whole window."""
    detector = model["detector"]
    records = [parse_line(line) for line in lines]
    scores = detector.score(records)
    templates = detector.template_texts(records)
    risk = detector.window_risk(scores.alert_probability)

    predictions = [
        {
            "alert_probability": round(float(probability), 4),
            "alert": bool(probability >= detector.alert_threshold),
            "template": template,
        }
        for probability, template in zip(scores.alert_probability, templates, strict=True)
    ]
    return {
        "model": MODEL_NAME,
        "model_version": model["version"],
        "predictions": predictions,
        "warning": {"risk": round(risk, 4), "raised": risk >= detector.warning_threshold},
    }


def output_fn(prediction: dict[str, Any], accept: str = JSON_CONTENT_TYPE) -> str:
    """Serialise the prediction as JSON."""
    if accept not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}: request {JSON_CONTENT_TYPE}")
    return json.dumps(prediction, ensure_ascii=False)
