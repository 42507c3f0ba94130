"""SQS adapter that puts webhook delivery messages, with their delays, on the webhooks queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.domain.errors import DependencyError
from functions.models.webhooks import DeliveryMessage

# SendMessageBatch takes at most 10 entries.
MAX_BATCH_ENTRIES = 10


class SqsDeliveryQueue:
    """DeliveryQueue on one SQS queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, messages: Sequence[tuple[DeliveryMessage, int]]) -> None:
        if not self._queue_url:
            raise DependencyError("WEBHOOKS_QUEUE_URL is not set, so deliveries cannot be queued")
        entries = [
            {"Id": str(index), "MessageBody": message.model_dump_json(), "DelaySeconds": int(delay)}
            for index, (message, delay) in enumerate(messages)
        ]
        for start in range(0, len(entries), MAX_BATCH_ENTRIES):
            self._send_batch(entries[start : start + MAX_BATCH_ENTRIES])

    def _send_batch(self, entries: list[dict[str, Any]]) -> None:
        try:
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as error:
            raise DependencyError(f"SQS SendMessageBatch failed: {error}") from error
        failed = response.get("Failed", [])
        if failed:
            codes = sorted({entry.get("Code", "unknown") for entry in failed})
            raise DependencyError(f"SQS rejected {len(failed)} of {len(entries)} delivery messages: {', '.join(codes)}")
