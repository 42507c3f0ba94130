"""SageMaker inference handlers for the resolution model.

Request (application/json):

    {"tickets": [{"opened_at": "2024-05-02T09:30:00+09:00", "priority": 3,
                  "category": "Category 26", "contact_type": "Phone", ...}]}

Each ticket needs `opened_at` (ISO 8601) and either `priority` (1 critical to 4 low) or both
`impact` and `urgency` (1 high to 3 low), and `priority` wins when both are sent. Levels may
also be written as `3 - Moderate`. Optional text fields: contact_type, location, category,
subcategory, u_symptom, assignment_group, assigned_to. Unknown category values are fine.
Optional caller history, from the caller's earlier tickets: caller_prior_incidents_7d,
caller_prior_incidents_30d and caller_hours_since_previous. `ticket_id` is echoed back.

Response: {"model": "resolution", "model_version": ..., "predictions": [{"resolution_hours_p50",
"resolution_hours_p90", "sla_breach_probability"}, ...]} in request order.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from ml.resolution import MODEL_FILE, MODEL_NAME
from ml.resolution.features import CALLER_HISTORY_FEATURES, CATEGORICAL_FEATURES, feature_frame
from ml.resolution.model import ResolutionModel

MAX_TICKETS = 64
JSON_CONTENT_TYPE = "application/json"

_LEVEL_RANGES = {"priority": (1, 4), "impact": (1, 3), "urgency": (1, 3)}
_ACCEPTED_FIELDS = frozenset(
    {"ticket_id", "opened_at", *_LEVEL_RANGES, *CATEGORICAL_FEATURES, *CALLER_HISTORY_FEATURES}
)


def model_fn(model_dir: str) -> ResolutionModel:
    """Load the model artifact from the model directory."""
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(request_body: str | bytes, content_type: str) -> pd.DataFrame:
    """Parse and validate a JSON request into one row per ticket.

    Raises ValueError that names the ticket and field when the request is invalid.
    """
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {JSON_CONTENT_TYPE}")
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    try:
        request = json.loads(request_body)
    except json.JSONDecodeError as error:
        raise ValueError(f"request body is not valid JSON: {error}") from error

    if not isinstance(request, dict) or not isinstance(request.get("tickets"), list):
        raise ValueError('request must be a JSON object with a "tickets" list')
    tickets = request["tickets"]
    if not 1 <= len(tickets) <= MAX_TICKETS:
        raise ValueError(f'"tickets" must contain 1 to {MAX_TICKETS} tickets, got {len(tickets)}')
    return pd.DataFrame([_parse_ticket(index, ticket) for index, ticket in enumerate(tickets)])


def _parse_ticket(index: int, ticket: Any) -> dict[str, Any]:
    where = f"tickets[{index}]"
    if not isinstance(ticket, dict):
        raise ValueError(f"{where} must be a JSON object")
    unknown = sorted(set(ticket) - _ACCEPTED_FIELDS)
    if unknown:
        raise ValueError(f"{where} has unknown fields {unknown}; accepted fields are {sorted(_ACCEPTED_FIELDS)}")

    ticket_id = ticket.get("ticket_id")
    if ticket_id is not None and not isinstance(ticket_id, str):
        raise ValueError(f"{where}.ticket_id must be a string or null, got {ticket_id!r}")
    row: dict[str, Any] = {"ticket_id": ticket_id, "opened_at": _parse_opened_at(where, ticket)}
    for field, (low, high) in _LEVEL_RANGES.items():
        row[field] = _parse_level(where, field, ticket.get(field), low, high)
    if row["priority"] is None and (row["impact"] is None or row["urgency"] is None):
        raise ValueError(f"{where} needs priority (1-4) or both impact and urgency (1-3)")

    for field in CATEGORICAL_FEATURES:
        value = ticket.get(field)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{where}.{field} must be a string or null, got {value!r}")
        row[field] = value or None
    for field in CALLER_HISTORY_FEATURES:
        value = ticket.get(field)
        valid = value is None or (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
        )
        if not valid:
            raise ValueError(f"{where}.{field} must be a non-negative number or null, got {value!r}")
        row[field] = value
    return row


def _parse_opened_at(where: str, ticket: dict[str, Any]) -> datetime:
    value = ticket.get("opened_at")
    if not isinstance(value, str):
        raise ValueError(f"{where}.opened_at is required as an ISO 8601 string, got {value!r}")
    try:
        opened_at = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{where}.opened_at {value!r} is not an ISO 8601 timestamp") from error
    # Hour and weekday features use the wall-clock time at the service desk, as the event log records it.
    return opened_at.replace(tzinfo=None)


def _parse_level(where: str, field: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    level = value
    if isinstance(value, str):
        head = value.split("-")[0].strip()
        level = int(head) if head.isdigit() else None
    if isinstance(level, bool) or not isinstance(level, int) or not low <= level <= high:
        raise ValueError(f"{where}.{field} must be a level from {low} to {high} (or like '{low} - ...'), got {value!r}")
    return level


def predict_fn(data: pd.DataFrame, model: ResolutionModel) -> dict[str, Any]:
    """Predict resolution-time quantiles and the SLA breach probability for each ticket."""
    # NOTE: training incidents nearly always carry caller history, so a request without it falls
    # into the trees' most common branch rather than a learned "unknown caller" branch.
    predictions = model.predict(feature_frame(data))
    results = []
    for ticket_id, row in zip(data["ticket_id"], predictions.itertuples(index=False), strict=True):
        result = {
            "resolution_hours_p50": round(float(row.resolution_hours_p50), 2),
            "resolution_hours_p90": round(float(row.resolution_hours_p90), 2),
            "sla_breach_probability": round(float(row.sla_breach_probability), 4),
        }
        # pandas stores a missing ticket_id as NaN, so only strings are echoed.
        if isinstance(ticket_id, str):
            result = {"ticket_id": ticket_id, **result}
        results.append(result)
    return {"model": MODEL_NAME, "model_version": model.version, "predictions": results}


def output_fn(prediction: dict[str, Any], accept: str) -> str:
    """Serialise the prediction as JSON."""
    media_type = (accept or JSON_CONTENT_TYPE).split(";")[0].strip().lower()
    if media_type not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; accept {JSON_CONTENT_TYPE}")
    return json.dumps(prediction, ensure_ascii=False)
