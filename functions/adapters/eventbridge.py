"""EventBridge publisher for domain events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.domain.errors import DependencyError
from functions.models.events import EventDetail

# PutEvents takes at most 10 entries a call.
MAX_ENTRIES_PER_CALL = 10


class EventBridgePublisher:
    """EventPublisher that puts events on a custom bus."""

    def __init__(self, client: Any, bus_name: str, source: str) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source

    def publish(self, events: Sequence[EventDetail]) -> None:
        entries = [self.entry(event) for event in events]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self.put_entries(entries[start : start + MAX_ENTRIES_PER_CALL])

    def entry(self, event: EventDetail) -> dict[str, Any]:
        return {
            "EventBusName": self._bus,
            "Source": self._source,
            "DetailType": event.DETAIL_TYPE,
            "Detail": event.model_dump_json(),
            "Resources": [],
        }

    def put_entries(self, entries: list[dict[str, Any]]) -> None:
        """Put raw entries; raise DependencyError naming the failed entries' error codes."""
        try:
            response = self._client.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            raise DependencyError(f"EventBridge PutEvents failed: {error}") from error
        if response.get("FailedEntryCount", 0):
            codes = sorted({entry.get("ErrorCode", "unknown") for entry in response["Entries"] if "ErrorCode" in entry})
            raise DependencyError(
                f"EventBridge rejected {response['FailedEntryCount']} of {len(entries)} events: {', '.join(codes)}"
            )
