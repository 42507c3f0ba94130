"""DynamoDB storage of the hash-chained audit log, one chain per tenant.

Table `servicedesk-audit` (docs/audit.md): entries at PK `TENANT#<t>#AUDIT`, SK = sequence
(a number, 1, 2, ...), and the chain head at SK 0 of the same partition. The index `ByResource`
(key `ResourceKey = TENANT#<t>#RESOURCE#<resource id>`, sort SK) lists one resource's entries.
The sparse index `ByChainHead` (key `HeadShard`, sort PK) holds only the heads, so the anchoring
job finds every tenant's chain without a Scan.

An append writes its entries with `attribute_not_exists` and moves the head from the sequence
and hash it read, all in one transaction, so two writers can never store two entries with one
sequence number. The writer that loses re-reads the head and tries again.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from functions.adapters.dynamodb import from_item, tenant_prefix, to_item
from functions.domain.audit import MalformedEntry, audit_timestamp, chain_records
from functions.domain.errors import DependencyError, InvalidInputError
from functions.models.audit import GENESIS_HASH, AuditEntry, AuditPage, AuditRecord, ChainHead

logger = logging.getLogger(f"servicedesk.{__name__}")

HEAD_SORT_KEY = 0
RESOURCE_INDEX = "ByResource"
HEAD_INDEX = "ByChainHead"
# Heads are spread over this many index partitions, because every append in every tenant
# rewrites its head item and so writes to the index as well.
HEAD_SHARDS = 16
# DynamoDB's limit of items in one TransactWriteItems call.
MAX_TRANSACTION_ITEMS = 100
# Full-jitter backoff between attempts, in seconds: a random wait up to base * 2 ** attempt, capped.
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.5
# Locks that let one writer per tenant and process append at a time, chosen by a hash of the
# tenant id, so that threads of one process do not race each other for the head.
APPEND_LOCK_STRIPES = 64
# Cancellation reasons that mean another writer moved the chain head first.
_LOST_RACE_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def chain_pk(tenant_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}AUDIT"


def tenant_of_chain(partition_key: str) -> str:
    """Return the tenant id of a chain's partition key `TENANT#<tenant>#AUDIT`."""
    return partition_key.removeprefix("TENANT#").removesuffix("#AUDIT")


def head_shard(tenant_id: str) -> str:
    return f"HEAD#{zlib.crc32(tenant_id.encode()) % HEAD_SHARDS}"


def resource_key(tenant_id: str, resource_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}RESOURCE#{resource_id}"


def entry_item(entry: AuditEntry) -> dict[str, Any]:
    values = entry.model_dump(mode="json", exclude={"sequence"})
    values.update(
        {
            "PK": chain_pk(entry.tenant_id),
            "SK": entry.sequence,
            "type": "audit_entry",
            "ResourceKey": resource_key(entry.tenant_id, entry.resource_id),
        }
    )
    return to_item(values)


def entry_from_item(item: dict[str, Any]) -> AuditEntry:
    """Read a stored entry; its sequence is the item's sort key. Raises ValidationError when malformed."""
    values = from_item(item)
    values["sequence"] = int(values.pop("SK"))
    for key in ("PK", "type", "ResourceKey"):
        values.pop(key, None)
    if "schema_version" in values:
        values["schema_version"] = int(values["schema_version"])
    return AuditEntry.model_validate(values)


class DynamoAuditLog:
    """AuditLog on one DynamoDB table."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        max_attempts: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._table = table_name
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._append_locks = [threading.Lock() for _ in range(APPEND_LOCK_STRIPES)]

    # Writing.

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        return self.write_with_entries([], records)

    def write_with_entries(self, operations: Sequence[dict[str, Any]], records: Sequence[AuditRecord]) -> list[AuditEntry]:
        """Run a transaction's operations together with the audit entries of its records.

        `operations` are complete TransactWriteItems items (TableName set). When only the chain
        head moved meanwhile, the entries are chained anew and the transaction runs again, up to
        max_attempts times; then DependencyError. Any other cancellation is raised as the
        ClientError, with the caller's operations at their original indexes.
        """
        if not records:
            if operations:
                self._client.transact_write_items(TransactItems=list(operations))
            return []
        tenant_id = _single_tenant(records)
        if len(operations) + len(records) + 1 > MAX_TRANSACTION_ITEMS:
            raise ValueError(
                f"{len(operations)} operations and {len(records)} audit entries exceed the "
                f"{MAX_TRANSACTION_ITEMS} items of one DynamoDB transaction"
            )
        # Writers in other processes (other Lambda containers) still race for the head, and the
        # conditions below settle those races.
        with self._append_locks[zlib.crc32(tenant_id.encode()) % APPEND_LOCK_STRIPES]:
            return self._append_with_retries(tenant_id, operations, records)

    def _append_with_retries(
        self, tenant_id: str, operations: Sequence[dict[str, Any]], records: Sequence[AuditRecord]
    ) -> list[AuditEntry]:
        for attempt in range(1, self._max_attempts + 1):
            head = self.read_head(tenant_id)
            entries = chain_records(head, records)
            try:
                self._client.transact_write_items(TransactItems=[*operations, *self._append_operations(head, entries)])
                return entries
            except ClientError as error:
                if not _lost_race(error, len(operations)):
                    raise
            if attempt == self._max_attempts:
                break
            logger.info(
                "audit chain head moved; retrying",
                extra={"tenant_id": tenant_id, "attempt": attempt, "head_sequence": head.sequence},
            )
            self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))

        logger.warning("audit append gave up", extra={"tenant_id": tenant_id, "attempts": self._max_attempts})
        raise DependencyError(
            f"the audit log of tenant {tenant_id} stayed busy for {self._max_attempts} attempts, so nothing was written"
        )

    def _append_operations(self, head: ChainHead, entries: list[AuditEntry]) -> list[dict[str, Any]]:
        operations: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": entry_item(entry), "ConditionExpression": "attribute_not_exists(PK)"}}
            for entry in entries
        ]
        last = entries[-1]
        head_item = to_item(
            {
                "PK": chain_pk(last.tenant_id),
                "SK": HEAD_SORT_KEY,
                "type": "audit_head",
                "HeadShard": head_shard(last.tenant_id),
                "sequence": last.sequence,
                "hash": last.hash,
                "updated_at": audit_timestamp(self._clock()),
            }
        )
        head_put: dict[str, Any] = {"TableName": self._table, "Item": head_item}
        if head.sequence == 0:
            head_put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            head_put["ConditionExpression"] = "#sequence = :sequence AND #hash = :hash"
            head_put["ExpressionAttributeNames"] = {"#sequence": "sequence", "#hash": "hash"}
            head_put["ExpressionAttributeValues"] = {
                ":sequence": {"N": str(head.sequence)},
                ":hash": {"S": head.hash},
            }
        operations.append({"Put": head_put})
        return operations

    # Reading.

    def read_head(self, tenant_id: str) -> ChainHead:
        item = self._call(
            "get_item",
            TableName=self._table,
            Key={"PK": {"S": chain_pk(tenant_id)}, "SK": {"N": str(HEAD_SORT_KEY)}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return ChainHead(sequence=0, hash=GENESIS_HASH)
        values = from_item(item)
        return ChainHead(sequence=int(values["sequence"]), hash=values["hash"], updated_at=values.get("updated_at"))

    def get_entry(self, tenant_id: str, sequence: int) -> AuditEntry | MalformedEntry | None:
        item = self._call(
            "get_item",
            TableName=self._table,
            Key={"PK": {"S": chain_pk(tenant_id)}, "SK": {"N": str(sequence)}},
            ConsistentRead=True,
        ).get("Item")
        return _parse_entry(item) if item else None

    def entry_pages(self, tenant_id: str, first: int, last: int) -> Iterator[list[AuditEntry | MalformedEntry]]:
        """Yield entries first to last in sequence order, one Query page (up to 1 MB) at a time."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": chain_pk(tenant_id)},
                ":first": {"N": str(first)},
                ":last": {"N": str(last)},
            },
            "ConsistentRead": True,
            "ScanIndexForward": True,
        }
        while True:
            response = self._call("query", **request)
            yield [_parse_entry(item) for item in response.get("Items", [])]
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            request["ExclusiveStartKey"] = last_key

    def chain_tenants(self) -> Iterator[str]:
        """Yield the tenant of every chain head, shard by shard, from the sparse head index.

        The index is eventually consistent, so a chain started a moment ago may be missed until
        the next call.
        """
        for shard in range(HEAD_SHARDS):
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": HEAD_INDEX,
                "KeyConditionExpression": "HeadShard = :shard",
                "ExpressionAttributeValues": {":shard": {"S": f"HEAD#{shard}"}},
            }
            while True:
                response = self._call("query", **request)
                for item in response.get("Items", []):
                    yield tenant_of_chain(item["PK"]["S"])
                last_key = response.get("LastEvaluatedKey")
                if not last_key:
                    break
                request["ExclusiveStartKey"] = last_key

    def list_entries(self, tenant_id: str, resource_id: str | None, limit: int, cursor: str | None) -> AuditPage:
        """Return a page of entries, newest first: the whole chain, or one resource's entries."""
        scope = f"audit:{resource_id}" if resource_id else "audit"
        request: dict[str, Any] = {"TableName": self._table, "Limit": limit, "ScanIndexForward": False}
        if resource_id:
            request.update(
                IndexName=RESOURCE_INDEX,
                KeyConditionExpression="ResourceKey = :key",
                ExpressionAttributeValues={":key": {"S": resource_key(tenant_id, resource_id)}},
            )
        else:
            request.update(
                KeyConditionExpression="PK = :pk AND SK > :head",
                ExpressionAttributeValues={":pk": {"S": chain_pk(tenant_id)}, ":head": {"N": str(HEAD_SORT_KEY)}},
            )
        if cursor:
            after = decode_list_cursor(cursor, scope)
            start_key: dict[str, Any] = {"PK": {"S": chain_pk(tenant_id)}, "SK": {"N": str(after)}}
            if resource_id:
                start_key["ResourceKey"] = {"S": resource_key(tenant_id, resource_id)}
            request["ExclusiveStartKey"] = start_key

        response = self._call("query", **request)
        entries: list[AuditEntry] = []
        for item in response.get("Items", []):
            parsed = _parse_entry(item)
            if isinstance(parsed, MalformedEntry):
                # Listing shows what parses; GET /audit/verify names the damaged entry.
                logger.warning(
                    "malformed audit entry left out of a listing",
                    extra={"tenant_id": tenant_id, "sequence": parsed.sequence},
                )
                continue
            entries.append(parsed)
        last_key = response.get("LastEvaluatedKey")
        next_cursor = encode_list_cursor(scope, int(last_key["SK"]["N"])) if last_key else None
        return AuditPage(items=entries, next_cursor=next_cursor)

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            raise DependencyError(f"DynamoDB {operation} on the audit table failed: {error.response['Error']['Code']}") from error


def _parse_entry(item: dict[str, Any]) -> AuditEntry | MalformedEntry:
    try:
        return entry_from_item(item)
    except (ValidationError, KeyError, TypeError, ValueError) as error:
        sequence = int(item.get("SK", {}).get("N", "0"))
        problem = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        return MalformedEntry(sequence, problem)


def _single_tenant(records: Sequence[AuditRecord]) -> str:
    tenants = {record.tenant_id for record in records}
    if len(tenants) != 1:
        raise ValueError(f"one append must stay within one tenant's chain; got tenants {sorted(tenants)}")
    return tenants.pop()


def _lost_race(error: ClientError, operation_count: int) -> bool:
    """True when a transaction was cancelled only because of its audit items (indexes from
    `operation_count` on): another writer moved the chain head or held it at that moment."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    failed = [(index, reason.get("Code")) for index, reason in enumerate(reasons) if reason.get("Code") not in (None, "None")]
    return bool(failed) and all(index >= operation_count and code in _LOST_RACE_CODES for index, code in failed)


def encode_list_cursor(scope: str, sequence: int) -> str:
    payload = json.dumps({"s": scope, "n": sequence}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_list_cursor(cursor: str, scope: str) -> int:
    """Return the sequence a listing cursor continues after; InvalidInputError unless it was issued for this listing."""
    invalid = InvalidInputError(
        "the cursor is invalid or belongs to another listing: start again without a cursor",
        problem_ko="커서가 올바르지 않거나 다른 목록의 커서입니다. 커서 없이 처음부터 다시 요청하세요.",
        field="cursor",
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        sequence = payload["n"]
        if payload["s"] != scope or not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise invalid
        return sequence
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise invalid from error
