"""How the ticket repository reads a cancelled DynamoDB transaction that also carried audit items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.adapters.audit import DynamoAuditLog
from functions.adapters.dynamodb import DynamoTicketRepository, ticket_item
from functions.domain.errors import VersionConflictError
from functions.models.events import Actor, MessageReceived
from functions.models.tickets import Message, Ticket

CREATED = datetime(2026, 3, 30, tzinfo=UTC)


class CancellingClient:
    """DynamoDB client whose transactions fail on the given item indexes; the audit head is new."""

    def __init__(self, stored: Ticket, failing: set[int]) -> None:
        self.stored = stored
        self.failing = failing
        self.transactions: list[list[dict[str, Any]]] = []

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool = False) -> dict[str, Any]:
        if Key["SK"] == {"S": "TICKET"}:
            return {"Item": ticket_item(self.stored)}
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        self.transactions.append(TransactItems)
        reasons = [{"Code": "ConditionalCheckFailed" if index in self.failing else "None"} for index in range(len(TransactItems))]
        raise ClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}, "CancellationReasons": reasons},
            "TransactWriteItems",
        )


def ticket(version: int) -> Ticket:
    return Ticket(
        ticket_id="tk1", tenant_id="t1", title="VPN down", requester_id="requester-1", customer_id="c1",
        channel="chat", priority="medium", status="in_progress", queue="network", version=version,
        created_at=CREATED, updated_at=CREATED,
    )


def test_stale_ticket_with_moved_head_conflicts() -> None:
    message = Message(
        message_id="m1", ticket_id="tk1", tenant_id="t1", channel="chat", author_type="requester",
        author_id="requester-1", body="still down", created_at=CREATED,
    )
    event = MessageReceived.build(
        event_id="e1", occurred_at=CREATED, tenant_id="t1", ticket_id="tk1",
        actor=Actor(user_id="requester-1", role="requester"), message_id="m1", channel="chat", author_type="requester",
    )
    # Items 0 and 1 are the message and its id marker, item 2 is the ticket's versioned put and
    # item 3 the event's outbox entry. The audit entry (4) and the chain head (5) follow.
    client = CancellingClient(ticket(version=3), failing={2, 5})
    repository = DynamoTicketRepository(client, "table", "servicedesk", audit=DynamoAuditLog(client, "table"))

    with pytest.raises(VersionConflictError) as raised:
        repository.add_message(message, ticket(version=3), 2, [event])

    assert len(client.transactions) == 1
    assert len(client.transactions[0]) == 6
    assert "version 3" in str(raised.value)
