"""Relay of outbox events whose publication failed after their state change was committed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from functions.adapters.dynamodb import DynamoTicketRepository
from functions.adapters.eventbridge import EventBridgePublisher
from functions.domain.errors import DependencyError
from functions.observability import logger

# Events younger than this are probably still being published by the request that wrote them.
GRACE_PERIOD = timedelta(seconds=30)


class OutboxRelay:
    """Publishes stored outbox events, oldest first, and deletes each once EventBridge accepts it."""

    def __init__(
        self,
        repository: DynamoTicketRepository,
        publisher: EventBridgePublisher,
        bus_name: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._publisher = publisher
        self._bus = bus_name
        self._clock = clock

    def relay(self, limit: int = 100) -> dict[str, int]:
        """Publish up to `limit` pending events; return how many were published and failed."""
        entries = self._repository.pending_outbox(self._clock() - GRACE_PERIOD, limit)
        published = failed = 0
        for entry in entries:
            try:
                self._publisher.put_entries(
                    [
                        {
                            "EventBusName": self._bus,
                            "Source": entry["source"],
                            "DetailType": entry["detail_type"],
                            "Detail": entry["detail"],
                        }
                    ]
                )
            except DependencyError as error:
                failed += 1
                logger.warning("outbox event not published", extra={"outbox_key": entry["SK"], "error": str(error)})
                continue
            self._repository.delete_outbox_entry(entry["PK"], entry["SK"])
            published += 1
        if entries:
            logger.info("outbox relayed", extra={"published": published, "failed": failed})
        return {"published": published, "failed": failed}
