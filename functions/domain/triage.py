"""Category and queue of a new ticket, read from the triage model's endpoint."""

from __future__ import annotations

from typing import Any

from functions.domain.errors import DependencyError
from functions.domain.ports import ModelEndpoint
from functions.domain.sentiment import MAX_MODEL_TEXT_CHARS
from functions.models.tickets import TriageVerdict
from functions.privacy.redaction import redact


class TriageAnalyser:
    """Classifies ticket texts through a model endpoint."""

    def __init__(self, endpoint: ModelEndpoint) -> None:
        self._endpoint = endpoint

    def classify(self, text: str) -> TriageVerdict:
        """Return the verdict for one text, sent with personal data masked; raise DependencyError when
        the endpoint fails."""
        response = self._endpoint.invoke({"texts": [redact(text)[:MAX_MODEL_TEXT_CHARS] or " "]})
        return parse_triage_response(response)


def parse_triage_response(response: dict[str, Any]) -> TriageVerdict:
    """Validate a triage endpoint's response for one text."""
    try:
        (prediction,) = response["predictions"]
        return TriageVerdict(
            category=prediction.get("category"),
            queue=prediction["queue"],
            confidence=prediction["confidence"],
            abstained=bool(prediction.get("abstained", False)),
            model=response.get("model", "triage"),
            model_version=str(response.get("model_version", "unknown")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DependencyError(f"triage endpoint returned an invalid response: {error}") from error
