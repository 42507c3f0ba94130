"""Sentiment of inbound messages, read from a model endpoint."""

from __future__ import annotations

from typing import Any

from functions.domain.errors import DependencyError
from functions.domain.ports import ModelEndpoint
from functions.models.tickets import Sentiment
from functions.privacy.redaction import redact

# Maximum number of texts in one request, because the endpoint rejects larger batches.
MAX_TEXTS_PER_REQUEST = 64
# Maximum characters of one text sent to the model. The start of a message carries its tone, and
# the limit keeps requests far below the endpoint's payload limit even for Hangul (3 bytes a character).
MAX_MODEL_TEXT_CHARS = 5_000


class SentimentAnalyser:
    """Turns texts into Sentiment verdicts through a model endpoint."""

    def __init__(self, endpoint: ModelEndpoint) -> None:
        self._endpoint = endpoint

    def analyse(self, texts: list[str]) -> list[Sentiment]:
        """Score the texts with personal data masked; raise DependencyError when the endpoint fails or
        returns malformed JSON."""
        verdicts: list[Sentiment] = []
        for start in range(0, len(texts), MAX_TEXTS_PER_REQUEST):
            # Personal data is masked before truncation, so that no cut-off phone number slips through.
            batch = [redact(text)[:MAX_MODEL_TEXT_CHARS] for text in texts[start : start + MAX_TEXTS_PER_REQUEST]]
            response = self._endpoint.invoke({"texts": batch})
            verdicts.extend(parse_sentiment_response(response, expected=len(batch)))
        return verdicts


def parse_sentiment_response(response: dict[str, Any], expected: int) -> list[Sentiment]:
    """Validate a sentiment endpoint's response and turn it into Sentiment models."""
    try:
        predictions = response["predictions"]
        if len(predictions) != expected:
            raise ValueError(f"expected {expected} predictions, got {len(predictions)}")
        return [
            Sentiment(
                label=prediction["label"],
                score=prediction["score"],
                negative=prediction["negative"],
                language=prediction.get("language", "unknown"),
                model=response.get("model", "sentiment"),
                model_version=str(response.get("model_version", "unknown")),
            )
            for prediction in predictions
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise DependencyError(f"sentiment endpoint returned an invalid response: {error}") from error
