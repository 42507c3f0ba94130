"""SageMaker inference handlers for the streaming anomaly detector.

Request (`application/json`):
    {"series_id": "...", "state": {...} or null, "points": [{"timestamp": iso, "value": float}, ...]}
Response:
    {"model": "anomaly", "model_version": ..., "series_id": ..., "scores": [...], "alerts": [...],
     "state": {...}}

The caller stores the returned state (for example in one DynamoDB item per series) and sends it
with the next batch of the same series. Imports only the standard library and this package.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ml.anomaly.detector import DetectorConfig, SeriesState, StreamingDetector

MODEL_NAME = "anomaly"
ARTIFACT_FILE = "detector.json"
JSON_CONTENT_TYPE = "application/json"
MAX_POINTS = 10_000


def model_fn(model_dir: str | Path) -> dict[str, Any]:
    """Load the detector settings written by train.py."""
    path = Path(model_dir) / ARTIFACT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run `servicedesk train anomaly` first")
    artifact = json.loads(path.read_text("utf-8"))
    return {"version": str(artifact["version"]), "config": DetectorConfig.from_dict(artifact["config"])}


def input_fn(request_body: str | bytes, content_type: str = JSON_CONTENT_TYPE) -> dict[str, Any]:
    """Parse and validate a scoring request."""
    if content_type.split(";")[0].strip() != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}")
    try:
        request = json.loads(request_body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"request body is not valid JSON: {error}") from error
    if not isinstance(request, dict):
        raise ValueError("request must be a JSON object with series_id, state and points")

    series_id = request.get("series_id")
    if not isinstance(series_id, str) or not series_id:
        raise ValueError("series_id is missing; pass a non-empty string naming the metric series")
    state = request.get("state")
    if state is not None and not isinstance(state, dict):
        raise ValueError("state must be an object returned by an earlier response, or null for a new series")
    points = request.get("points")
    if not isinstance(points, list) or not points:
        raise ValueError("points is missing or empty; pass a list of {timestamp, value} objects")
    if len(points) > MAX_POINTS:
        raise ValueError(f"{len(points)} points in one request; send at most {MAX_POINTS}")

    parsed = []
    for index, point in enumerate(points):
        if not isinstance(point, dict):
            raise ValueError(f"points[{index}] must be an object with timestamp and value")
        try:
            timestamp = datetime.fromisoformat(point["timestamp"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"points[{index}].timestamp must be an ISO 8601 string, got {point.get('timestamp')!r}") from error
        value = point.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"points[{index}].value must be a number, got {value!r}")
        parsed.append((timestamp, float(value)))
    return {"series_id": series_id, "state": state, "points": parsed}


def predict_fn(data: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """Score the points in order, continuing from the given state."""
    state = SeriesState.from_dict(data["state"]) if data["state"] is not None else SeriesState()
    detector = StreamingDetector(model["config"], state)
    scores, alerts = [], []
    for index, (timestamp, value) in enumerate(data["points"]):
        try:
            result = detector.update(value, timestamp)
        except ValueError as error:
            raise ValueError(f"points[{index}]: {error}") from error
        scores.append(result.score)
        alerts.append(result.alert)
    return {
        "model": MODEL_NAME,
        "model_version": model["version"],
        "series_id": data["series_id"],
        "scores": scores,
        "alerts": alerts,
        "state": detector.state.to_dict(),
    }


def output_fn(prediction: dict[str, Any], accept: str = JSON_CONTENT_TYPE) -> str:
    """Serialise a prediction as JSON."""
    if accept.split(";")[0].strip() not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; accept {JSON_CONTENT_TYPE}")
    return json.dumps(prediction)
