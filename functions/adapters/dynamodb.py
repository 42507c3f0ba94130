"""DynamoDB single-table repository for tickets, messages, threads, customers and the outbox.

The key layout is documented in docs/data-model.md. Every key starts with the tenant id, so a
query for one tenant cannot reach another tenant's items.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from functions.domain.audit import records_for_events
from functions.domain.errors import (
    DependencyError,
    IdempotencyConflictError,
    InvalidInputError,
    NotFoundError,
    ThreadConflictError,
    VersionConflictError,
)
from functions.domain.ports import Customer, Page, TicketFilter
from functions.domain.router import AgentAtCapacityError
from functions.domain.routing import LoadChange
from functions.models.events import EventDetail
from functions.models.tickets import Message, Ticket, TicketStatus

if TYPE_CHECKING:
    from functions.adapters.audit import DynamoAuditLog

OUTBOX_SHARDS = 4
OUTBOX_RETENTION = timedelta(days=7)
# Queries per list request: each reads at most the page size before filters, so a filtered
# page may come back short, with a cursor to continue.
MAX_QUERIES_PER_PAGE = 5

# Secondary indexes of ticket items, in the order they are preferred when several filters are
# given: the first filter present picks the index, the others become a filter expression.
# A requester's list always carries requester_id (functions/domain/access.py), so their own
# index comes first.
TICKET_INDEXES: tuple[tuple[str, str, str], ...] = (
    ("requester_id", "ByRequester", "RequesterKey"),
    ("assignee_id", "ByAssignee", "AssigneeKey"),
    ("customer_id", "ByCustomer", "CustomerKey"),
    ("status", "ByStatus", "StatusKey"),
    ("queue", "ByQueue", "QueueKey"),
    ("priority", "ByPriority", "PriorityKey"),
)
ALL_TICKETS_INDEX = ("ByTenant", "TenantKey")
INDEX_KEY_LABELS = {"assignee_id": "ASSIGNEE", "customer_id": "CUSTOMER", "requester_id": "REQUESTER"}
INDEX_NAMES = tuple(name for _, name, _ in TICKET_INDEXES) + (ALL_TICKETS_INDEX[0],)
CREATED_SORT_KEY = "CreatedKey"
# Sparse index of tickets whose SLA clocks still need the breach job: partitions SLA#0 to
# SLA#<SLA_SHARDS - 1>, sorted by the next due time, then tenant and ticket.
SLA_INDEX = ("BySlaDue", "SlaKey", "SlaDueKey")
SLA_SHARDS = 4
SLA_OPEN_STATUSES = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED}
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def tenant_prefix(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#"


def ticket_pk(tenant_id: str, ticket_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}TICKET#{ticket_id}"


def thread_pk(tenant_id: str, thread_key: str) -> str:
    return f"{tenant_prefix(tenant_id)}THREAD#{thread_key}"


def message_marker_pk(tenant_id: str, message_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}MESSAGE#{message_id}"


def customer_pk(tenant_id: str, customer_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}CUSTOMER#{customer_id}"


def agents_pk(tenant_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}AGENTS"


def agent_sk(agent_id: str) -> str:
    return f"AGENT#{agent_id}"


def sla_shard(tenant_id: str, ticket_id: str) -> str:
    shard = int(hashlib.sha256(f"{tenant_id}#{ticket_id}".encode()).hexdigest(), 16) % SLA_SHARDS
    return f"SLA#{shard}"


def sla_next_check(ticket: Ticket) -> datetime | None:
    """Return the due time the breach job must watch next, or None when the clocks need it no more.

    Resolved, closed and pending tickets drop out of the index; a pending ticket comes back when
    its clock resumes.
    """
    clock = ticket.sla
    if clock is None or ticket.status not in SLA_OPEN_STATUSES or clock.paused_since is not None:
        return None
    watched = []
    if ticket.first_response_at is None and not clock.first_response_breached:
        watched.append(clock.first_response_due_at)
    if not clock.resolution_breached:
        watched.append(clock.resolution_due_at)
    return min(watched) if watched else None


def message_sk(message: Message) -> str:
    return f"MSG#{message.created_at.astimezone(UTC).isoformat(timespec='microseconds')}#{message.message_id}"


def outbox_pk(event_id: str) -> str:
    shard = int(hashlib.sha256(event_id.encode()).hexdigest(), 16) % OUTBOX_SHARDS
    return f"OUTBOX#{shard}"


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Serialise plain values for DynamoDB; floats become Decimal, None values are dropped."""
    plain = json.loads(json.dumps(values, default=str), parse_float=Decimal)
    return {key: _serializer.serialize(value) for key, value in plain.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    tenant = ticket.tenant_id
    prefix = tenant_prefix(tenant)
    values: dict[str, Any] = json.loads(ticket.model_dump_json())
    values.update(
        {
            "PK": ticket_pk(tenant, ticket.ticket_id),
            "SK": "TICKET",
            "type": "ticket",
            CREATED_SORT_KEY: f"{ticket.created_at.astimezone(UTC).isoformat(timespec='microseconds')}#{ticket.ticket_id}",
            "TenantKey": f"{prefix}TICKETS",
            "StatusKey": f"{prefix}STATUS#{ticket.status.value}",
            "CustomerKey": f"{prefix}CUSTOMER#{ticket.customer_id}",
            "RequesterKey": f"{prefix}REQUESTER#{ticket.requester_id}",
            "QueueKey": f"{prefix}QUEUE#{ticket.queue}",
            "PriorityKey": f"{prefix}PRIORITY#{ticket.priority.value}",
            "AssigneeKey": f"{prefix}ASSIGNEE#{ticket.assignee_id}" if ticket.assignee_id else None,
        }
    )
    next_check = sla_next_check(ticket)
    if next_check is not None:
        values["SlaKey"] = sla_shard(tenant, ticket.ticket_id)
        values["SlaDueKey"] = f"{next_check.astimezone(UTC).isoformat(timespec='seconds')}#{prefix}TICKET#{ticket.ticket_id}"
    return to_item(values)


def ticket_from_item(item: dict[str, Any]) -> Ticket:
    return Ticket.model_validate(from_item(item))


def message_item(message: Message) -> dict[str, Any]:
    values: dict[str, Any] = json.loads(message.model_dump_json())
    values.update({"PK": ticket_pk(message.tenant_id, message.ticket_id), "SK": message_sk(message), "type": "message"})
    return to_item(values)


def outbox_item(event: EventDetail, source: str) -> dict[str, Any]:
    expires_at = int((datetime.now(UTC) + OUTBOX_RETENTION).timestamp())
    return to_item(
        {
            "PK": outbox_pk(event.event_id),
            "SK": f"{event.occurred_at.astimezone(UTC).isoformat()}#{event.event_id}",
            "type": "outbox",
            "source": source,
            "detail_type": event.DETAIL_TYPE,
            "detail": event.model_dump_json(),
            "expires_at": expires_at,
        }
    )


class DynamoTicketRepository:
    """TicketRepository on one DynamoDB table.

    With an audit log, every transaction that writes events also appends their audit entries,
    so a change and its audit record commit together or not at all.
    """

    def __init__(self, client: Any, table_name: str, event_source: str, audit: DynamoAuditLog | None = None) -> None:
        self._client = client
        self._table = table_name
        self._source = event_source
        self._audit = audit

    # Tickets.

    def create_ticket(
        self, ticket: Ticket, events: Sequence[EventDetail], first_message: Message, load: Sequence[LoadChange] = ()
    ) -> None:
        operations: list[dict[str, Any]] = [
            {"Put": {"Item": ticket_item(ticket), "ConditionExpression": "attribute_not_exists(PK)"}},
        ]
        if ticket.thread_key:
            operations.append(
                {
                    "Put": {
                        "Item": to_item(
                            {
                                "PK": thread_pk(ticket.tenant_id, ticket.thread_key),
                                "SK": "THREAD",
                                "type": "thread",
                                "ticket_id": ticket.ticket_id,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
        operations.extend(self._message_operations(first_message))
        operations.extend(self._outbox_operations(events))
        first_load = len(operations)
        operations.extend(self._load_operations(ticket.tenant_id, load))
        try:
            self._transact(operations, events)
        except _ConditionFailed as failure:
            if ticket.thread_key and 1 in failure.indexes:
                raise ThreadConflictError(ticket.thread_key) from failure
            self._raise_load_failure(failure, first_load, load)
            raise IdempotencyConflictError(
                f"ticket {ticket.ticket_id} or its thread or first message already exists",
                ticket_id=ticket.ticket_id,
                failed_items=failure.indexes,
            ) from failure

    def get_ticket(self, tenant_id: str, ticket_id: str) -> Ticket:
        item = self._get(ticket_pk(tenant_id, ticket_id), "TICKET")
        if item is None:
            raise NotFoundError("ticket", ticket_id)
        return ticket_from_item(item)

    def find_ticket_by_thread(self, tenant_id: str, thread_key: str) -> Ticket | None:
        mapping = self._get(thread_pk(tenant_id, thread_key), "THREAD")
        if mapping is None:
            return None
        return self.get_ticket(tenant_id, from_item(mapping)["ticket_id"])

    def save_ticket(
        self, ticket: Ticket, expected_version: int, events: Sequence[EventDetail], load: Sequence[LoadChange] = ()
    ) -> None:
        """Replace the ticket at `expected_version` and apply the agents' load changes in one transaction."""
        operations = [self._versioned_put(ticket, expected_version), *self._outbox_operations(events)]
        first_load = len(operations)
        operations.extend(self._load_operations(ticket.tenant_id, load))
        try:
            self._transact(operations, events)
        except _ConditionFailed as failure:
            self._raise_load_failure(failure, first_load, load)
            raise self._version_conflict(ticket, expected_version) from failure

    # Messages.

    def add_message(
        self,
        message: Message,
        ticket: Ticket,
        expected_version: int,
        events: Sequence[EventDetail],
        load: Sequence[LoadChange] = (),
    ) -> bool:
        operations = [
            *self._message_operations(message),
            self._versioned_put(ticket, expected_version),
            *self._outbox_operations(events),
        ]
        first_load = len(operations)
        operations.extend(self._load_operations(ticket.tenant_id, load))
        try:
            self._transact(operations, events)
        except _ConditionFailed as failure:
            # Operations 0 and 1 are the message and its id marker; any other failure is the
            # ticket's version or an agent's load counter.
            if 0 in failure.indexes or 1 in failure.indexes:
                return False
            self._raise_load_failure(failure, first_load, load)
            raise self._version_conflict(ticket, expected_version) from failure
        return True

    def waiting_tickets(self, tenant_id: str, limit: int) -> list[Ticket]:
        """Return unassigned tickets in status new, oldest first, through the ByStatus index."""
        response = self._call(
            "query",
            TableName=self._table,
            IndexName="ByStatus",
            KeyConditionExpression="StatusKey = :key",
            FilterExpression="attribute_not_exists(assignee_id)",
            ExpressionAttributeValues={":key": {"S": f"{tenant_prefix(tenant_id)}STATUS#{TicketStatus.NEW.value}"}},
            ScanIndexForward=True,
            Limit=limit,
        )
        return [ticket_from_item(item) for item in response.get("Items", [])]

    def sla_due_tickets(self, shard: int, due_before: datetime, cursor: dict[str, Any] | None, limit: int) -> tuple[list[Ticket], dict[str, Any] | None]:
        """Return one page of tickets of an SLA shard whose next due time is before `due_before`."""
        index_name, partition, sort = SLA_INDEX
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index_name,
            "KeyConditionExpression": "#shard = :shard AND #due < :before",
            "ExpressionAttributeNames": {"#shard": partition, "#due": sort},
            "ExpressionAttributeValues": {
                ":shard": {"S": f"SLA#{shard}"},
                ":before": {"S": due_before.astimezone(UTC).isoformat(timespec="seconds")},
            },
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = cursor
        response = self._call("query", **request)
        return [ticket_from_item(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")

    def get_message(self, tenant_id: str, ticket_id: str, message_id: str) -> Message | None:
        marker = self._get(message_marker_pk(tenant_id, message_id), "MESSAGE")
        if marker is None:
            return None
        values = from_item(marker)
        item = self._get(ticket_pk(tenant_id, values["ticket_id"]), values["message_sk"])
        return Message.model_validate(from_item(item)) if item else None

    def list_messages(self, tenant_id: str, ticket_id: str, limit: int, cursor: str | None) -> Page:
        partition = ticket_pk(tenant_id, ticket_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": "MSG#"}},
            "Limit": limit,
            "ScanIndexForward": True,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, "messages", tenant_id, required_pk=partition)
        response = self._call("query", **request)
        items = [Message.model_validate(from_item(item)) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return Page(items=items, next_cursor=encode_cursor("messages", last_key) if last_key else None)

    # Lists.

    def list_tickets(self, tenant_id: str, filters: TicketFilter, limit: int, cursor: str | None) -> Page:
        index_name, key_attribute, key_value, remaining = choose_index(tenant_id, filters)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index_name,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": key_attribute},
            "ExpressionAttributeValues": {":key": {"S": key_value}},
            "ScanIndexForward": False,
        }
        if remaining:
            conditions = []
            for position, (field, value) in enumerate(sorted(remaining.items())):
                request["ExpressionAttributeNames"][f"#f{position}"] = field
                request["ExpressionAttributeValues"][f":f{position}"] = {"S": value}
                conditions.append(f"#f{position} = :f{position}")
            request["FilterExpression"] = " AND ".join(conditions)

        start_key = decode_cursor(cursor, index_name, tenant_id) if cursor else None
        tickets: list[Ticket] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            request["Limit"] = limit - len(tickets)
            if start_key:
                request["ExclusiveStartKey"] = start_key
            response = self._call("query", **request)
            tickets.extend(ticket_from_item(item) for item in response.get("Items", []))
            start_key = response.get("LastEvaluatedKey")
            if not start_key or len(tickets) >= limit:
                break
        return Page(items=tickets, next_cursor=encode_cursor(index_name, start_key) if start_key else None)

    # Customers.

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        item = self._get(customer_pk(tenant_id, customer_id), "PROFILE")
        if item is None:
            return None
        values = from_item(item)
        return Customer(
            customer_id=customer_id,
            tier=str(values.get("tier", "standard")),
            name=values.get("name"),
            attributes={key: value for key, value in values.items() if key not in {"PK", "SK", "type"}},
        )

    def put_customer(self, tenant_id: str, customer: Customer) -> None:
        item = {
            **customer.attributes,
            "PK": customer_pk(tenant_id, customer.customer_id),
            "SK": "PROFILE",
            "type": "customer",
            "customer_id": customer.customer_id,
            "tier": customer.tier,
            "name": customer.name,
        }
        self._call("put_item", TableName=self._table, Item=to_item(item))

    # Outbox.

    def delete_outbox(self, events: Sequence[EventDetail]) -> None:
        """Delete published events; entries left behind are published again by the relay job,
        which consumers tolerate because every event carries a unique event_id."""
        requests = [
            {
                "DeleteRequest": {
                    "Key": {
                        "PK": {"S": outbox_pk(event.event_id)},
                        "SK": {"S": f"{event.occurred_at.astimezone(UTC).isoformat()}#{event.event_id}"},
                    }
                }
            }
            for event in events
        ]
        for start in range(0, len(requests), 25):
            response = self._call("batch_write_item", RequestItems={self._table: requests[start : start + 25]})
            unprocessed = response.get("UnprocessedItems", {})
            if unprocessed:
                self._call("batch_write_item", RequestItems=unprocessed)

    def pending_outbox(self, older_than: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Return outbox entries written before `older_than`, oldest first, across all shards."""
        entries: list[dict[str, Any]] = []
        for shard in range(OUTBOX_SHARDS):
            response = self._call(
                "query",
                TableName=self._table,
                KeyConditionExpression="PK = :pk AND SK < :before",
                ExpressionAttributeValues={
                    ":pk": {"S": f"OUTBOX#{shard}"},
                    ":before": {"S": older_than.astimezone(UTC).isoformat()},
                },
                Limit=limit,
            )
            entries.extend(from_item(item) for item in response.get("Items", []))
        return sorted(entries, key=lambda entry: entry["SK"])[:limit]

    def delete_outbox_entry(self, partition: str, sort_key: str) -> None:
        self._call("delete_item", TableName=self._table, Key={"PK": {"S": partition}, "SK": {"S": sort_key}})

    # Internals.

    def _message_operations(self, message: Message) -> list[dict[str, Any]]:
        marker = to_item(
            {
                "PK": message_marker_pk(message.tenant_id, message.message_id),
                "SK": "MESSAGE",
                "type": "message_id",
                "ticket_id": message.ticket_id,
                "message_sk": message_sk(message),
            }
        )
        return [
            {"Put": {"Item": message_item(message), "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"Item": marker, "ConditionExpression": "attribute_not_exists(PK)"}},
        ]

    def _load_operations(self, tenant_id: str, load: Sequence[LoadChange]) -> list[dict[str, Any]]:
        """Build the counter updates of agents' load; enforced increments need the agent online and below capacity."""
        operations = []
        for change in load:
            update: dict[str, Any] = {
                "Key": {"PK": {"S": agents_pk(tenant_id)}, "SK": {"S": agent_sk(change.agent_id)}},
                "UpdateExpression": "SET #load.#channel = if_not_exists(#load.#channel, :zero) + :delta",
                "ExpressionAttributeNames": {"#load": "load", "#channel": change.channel.value},
                "ExpressionAttributeValues": {":delta": {"N": str(change.delta)}, ":zero": {"N": "0"}},
                "ConditionExpression": "attribute_exists(PK)",
            }
            if change.enforce_capacity:
                update["ConditionExpression"] = (
                    "attribute_exists(PK) AND #presence = :online AND #active = :true "
                    "AND #load.#channel < #capacity.#channel"
                )
                update["ExpressionAttributeNames"].update(
                    {"#presence": "presence", "#active": "active", "#capacity": "capacity"}
                )
                update["ExpressionAttributeValues"].update({":online": {"S": "online"}, ":true": {"BOOL": True}})
            operations.append({"Update": update})
        return operations

    def _raise_load_failure(self, failure: _ConditionFailed, first_load: int, load: Sequence[LoadChange]) -> None:
        for index in failure.indexes:
            if index >= first_load:
                raise AgentAtCapacityError(load[index - first_load].agent_id) from failure

    def _outbox_operations(self, events: Sequence[EventDetail]) -> list[dict[str, Any]]:
        return [{"Put": {"Item": outbox_item(event, self._source)}} for event in events]

    def _versioned_put(self, ticket: Ticket, expected_version: int) -> dict[str, Any]:
        return {
            "Put": {
                "Item": ticket_item(ticket),
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        }

    def _version_conflict(self, ticket: Ticket, expected_version: int) -> VersionConflictError:
        item = self._get(ticket_pk(ticket.tenant_id, ticket.ticket_id), "TICKET")
        current = int(from_item(item)["version"]) if item else None
        return VersionConflictError(ticket.ticket_id, expected_version, current)

    def _get(self, partition: str, sort_key: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item", TableName=self._table, Key={"PK": {"S": partition}, "SK": {"S": sort_key}}, ConsistentRead=True
        )
        return response.get("Item")

    def _transact(self, operations: list[dict[str, Any]], events: Sequence[EventDetail] = ()) -> None:
        for operation in operations:
            next(iter(operation.values()))["TableName"] = self._table
        try:
            if self._audit is not None and events:
                self._audit.write_with_entries(operations, records_for_events(events))
            else:
                self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                # Items after the caller's operations are audit entries and the chain head. When the
                # head moved at the same moment as a condition of the caller failed, only the
                # caller's failures are reported, since its indexes name the caller's operations.
                failed = [
                    index
                    for index, reason in enumerate(reasons[: len(operations)])
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                if failed:
                    raise _ConditionFailed(failed) from error
            raise DependencyError(f"DynamoDB transaction failed: {error.response['Error']['Code']}") from error

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            raise DependencyError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error


class _ConditionFailed(Exception):
    def __init__(self, indexes: list[int]) -> None:
        super().__init__(f"condition failed on transaction items {indexes}")
        self.indexes = indexes


def choose_index(tenant_id: str, filters: TicketFilter) -> tuple[str, str, str, dict[str, str]]:
    """Pick the index for a ticket list: (index name, key attribute, key value, other filters)."""
    prefix = tenant_prefix(tenant_id)
    given = {field: getattr(filters, field) for field, _, _ in TICKET_INDEXES if getattr(filters, field) is not None}
    for field, index_name, key_attribute in TICKET_INDEXES:
        if field in given:
            value = given.pop(field)
            label = INDEX_KEY_LABELS.get(field, field.upper())
            return index_name, key_attribute, f"{prefix}{label}#{value}", given
    index_name, key_attribute = ALL_TICKETS_INDEX
    return index_name, key_attribute, f"{prefix}TICKETS", given


def encode_cursor(scope: str, last_key: dict[str, Any]) -> str:
    """Turn a LastEvaluatedKey into an opaque, URL-safe cursor bound to its index."""
    payload = json.dumps({"s": scope, "k": last_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str, tenant_id: str, required_pk: str | None = None) -> dict[str, Any]:
    """Decode a cursor; raise InvalidInputError unless it was issued for this list and tenant."""
    invalid = InvalidInputError(
        "the cursor is invalid or belongs to another list: start again without a cursor",
        problem_ko="커서가 올바르지 않거나 다른 목록의 커서입니다. 커서 없이 처음부터 다시 요청하세요.",
        field="cursor",
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        last_key = payload["k"]
        if payload["s"] != scope or not isinstance(last_key, dict) or not last_key:
            raise invalid
        prefix = tenant_prefix(tenant_id)
        for attribute, value in last_key.items():
            text = value["S"]
            if not isinstance(text, str) or len(text) > 2048:
                raise invalid
            if attribute != "SK" and attribute != CREATED_SORT_KEY and not text.startswith(prefix):
                raise invalid
        if required_pk is not None and last_key.get("PK", {}).get("S") != required_pk:
            raise invalid
        return last_key
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError) as error:
        raise invalid from error
