"""SQS sender of continuation messages to the insights queue."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.domain.errors import DependencyError


class SqsContinuationQueue:
    """ContinuationQueue on the insights SQS queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, body: dict[str, Any]) -> None:
        if not self._queue_url:
            raise DependencyError("INSIGHTS_QUEUE_URL is not set, so a long fan-out cannot continue")
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body, ensure_ascii=False))
        except (ClientError, BotoCoreError) as error:
            raise DependencyError(f"SQS SendMessage to the insights queue failed: {error}") from error
