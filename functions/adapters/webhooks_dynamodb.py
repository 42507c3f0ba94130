"""DynamoDB repository of webhook subscriptions and their delivery attempts, in the single table.

Keys (docs/data-model.md):
- subscription: PK `TENANT#t#WEBHOOKS`, SK `WEBHOOK#<webhook id>`
- subscription count of a tenant: PK `TENANT#t#WEBHOOKS`, SK `COUNT`
- delivery attempt: PK `TENANT#t#WEBHOOK#<webhook id>`, SK `DELIVERY#<delivery id>`, TTL `expires_at`

Configuration changes (create, delete, secret rotation, enable, disable) append their audit
entries through DynamoAuditLog in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.adapters.audit import DynamoAuditLog
from functions.adapters.dynamodb import (
    decode_cursor,
    encode_cursor,
    from_item,
    outbox_item,
    outbox_pk,
    tenant_prefix,
    to_item,
)
from functions.domain.errors import DependencyError, LimitExceededError, NotFoundError
from functions.domain.ports import Page
from functions.models.audit import AuditRecord
from functions.models.webhooks import DeliveryAttempt, StoredWebhook, WebhookDisabled

WEBHOOK_SK_PREFIX = "WEBHOOK#"
COUNT_SK = "COUNT"
DELIVERY_SK_PREFIX = "DELIVERY#"
DELIVERIES_CURSOR_SCOPE = "webhook-deliveries"


def webhooks_pk(tenant_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}WEBHOOKS"


def webhook_key(tenant_id: str, webhook_id: str) -> dict[str, Any]:
    return {"PK": {"S": webhooks_pk(tenant_id)}, "SK": {"S": f"{WEBHOOK_SK_PREFIX}{webhook_id}"}}


def deliveries_pk(tenant_id: str, webhook_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}WEBHOOK#{webhook_id}"


class DynamoWebhookRepository:
    """WebhookRepository on the service's single table."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        event_source: str,
        attempt_retention: timedelta,
        audit: DynamoAuditLog | None = None,
    ) -> None:
        self._client = client
        self._table = table_name
        self._source = event_source
        self._retention = attempt_retention
        self._audit = audit

    # Subscriptions.

    def create(self, webhook: StoredWebhook, max_per_tenant: int, audit: Sequence[AuditRecord] = ()) -> None:
        """Put the subscription and raise the tenant's count in one transaction bounded by `max_per_tenant`."""
        item = {
            **webhook.model_dump(mode="json"),
            "PK": webhooks_pk(webhook.tenant_id),
            "SK": f"{WEBHOOK_SK_PREFIX}{webhook.webhook_id}",
            "type": "webhook",
        }
        operations = [
            {
                "Update": {
                    "Key": {"PK": {"S": webhooks_pk(webhook.tenant_id)}, "SK": {"S": COUNT_SK}},
                    "UpdateExpression": "ADD #count :one",
                    "ConditionExpression": "attribute_not_exists(#count) OR #count < :max",
                    "ExpressionAttributeNames": {"#count": "webhook_count"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(max_per_tenant)}},
                }
            },
            {"Put": {"Item": to_item(item), "ConditionExpression": "attribute_not_exists(PK)"}},
        ]
        failed = self._transact(operations, audit)
        if failed == [0]:
            raise LimitExceededError("webhook", max_per_tenant)
        if failed:
            raise DependencyError(f"webhook {webhook.webhook_id} already exists")

    def get(self, tenant_id: str, webhook_id: str) -> StoredWebhook:
        webhook = self.find(tenant_id, webhook_id)
        if webhook is None:
            raise NotFoundError("webhook", webhook_id)
        return webhook

    def find(self, tenant_id: str, webhook_id: str) -> StoredWebhook | None:
        response = self._call("get_item", TableName=self._table, Key=webhook_key(tenant_id, webhook_id), ConsistentRead=True)
        item = response.get("Item")
        return _webhook_from_item(item) if item else None

    def list_webhooks(self, tenant_id: str) -> list[StoredWebhook]:
        return self._query_webhooks(tenant_id)

    def subscribers(self, tenant_id: str, event_type: str) -> list[StoredWebhook]:
        # A tenant has a bounded number of subscriptions, so filtering its one partition reads
        # few items.
        return self._query_webhooks(
            tenant_id,
            FilterExpression="#enabled = :true AND contains(#types, :type)",
            ExpressionAttributeNames={"#enabled": "enabled", "#types": "event_types"},
            extra_values={":true": {"BOOL": True}, ":type": {"S": event_type}},
        )

    def delete(self, tenant_id: str, webhook_id: str, audit: Sequence[AuditRecord] = ()) -> None:
        operations = [
            {"Delete": {"Key": webhook_key(tenant_id, webhook_id), "ConditionExpression": "attribute_exists(PK)"}},
            {
                "Update": {
                    "Key": {"PK": {"S": webhooks_pk(tenant_id)}, "SK": {"S": COUNT_SK}},
                    "UpdateExpression": "ADD #count :minus_one",
                    "ExpressionAttributeNames": {"#count": "webhook_count"},
                    "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                }
            },
        ]
        if self._transact(operations, audit):
            raise NotFoundError("webhook", webhook_id)

    def rotate_secret(
        self,
        tenant_id: str,
        webhook_id: str,
        secret: str,
        previous_expires_at: datetime,
        now: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        self._audited_update(
            tenant_id,
            webhook_id,
            "SET previous_signing_secret = signing_secret, signing_secret = :secret, "
            "previous_secret_expires_at = :expires, secret_rotated_at = :now, updated_at = :now",
            {":secret": {"S": secret}, ":expires": {"S": _time(previous_expires_at)}, ":now": {"S": _time(now)}},
            audit,
        )

    def enable(self, tenant_id: str, webhook_id: str, now: datetime, audit: Sequence[AuditRecord] = ()) -> StoredWebhook:
        self._audited_update(
            tenant_id,
            webhook_id,
            "SET enabled = :true, consecutive_failures = :zero, updated_at = :now REMOVE disabled_at, disabled_reason",
            {":true": {"BOOL": True}, ":zero": {"N": "0"}, ":now": {"S": _time(now)}},
            audit,
        )
        return self.get(tenant_id, webhook_id)

    # Delivery state.

    def mark_delivered(self, tenant_id: str, webhook_id: str, now: datetime) -> None:
        try:
            self._update(
                tenant_id,
                webhook_id,
                "SET consecutive_failures = :zero, last_delivery_at = :now",
                {":zero": {"N": "0"}, ":now": {"S": _time(now)}},
            )
        except NotFoundError:
            return

    def count_failure(self, tenant_id: str, webhook_id: str, now: datetime, reason: str) -> int | None:
        try:
            attributes = self._update(
                tenant_id,
                webhook_id,
                "ADD consecutive_failures :one SET last_failure_at = :now, last_error = :reason",
                {":one": {"N": "1"}, ":now": {"S": _time(now)}, ":reason": {"S": reason[:500]}},
                return_values="UPDATED_NEW",
            )
        except NotFoundError:
            return None
        return int(from_item(attributes)["consecutive_failures"])

    def disable(
        self,
        tenant_id: str,
        webhook_id: str,
        now: datetime,
        reason: str,
        event: WebhookDisabled,
        audit: Sequence[AuditRecord] = (),
    ) -> bool:
        operations = [
            {
                "Update": {
                    "Key": webhook_key(tenant_id, webhook_id),
                    "UpdateExpression": "SET enabled = :false, disabled_at = :now, disabled_reason = :reason, updated_at = :now",
                    "ConditionExpression": "enabled = :true",
                    "ExpressionAttributeValues": {
                        ":false": {"BOOL": False},
                        ":true": {"BOOL": True},
                        ":now": {"S": _time(now)},
                        ":reason": {"S": reason[:500]},
                    },
                }
            },
            {"Put": {"Item": outbox_item(event, self._source)}},  # type: ignore[arg-type]
        ]
        return not self._transact(operations, audit)

    def delete_outbox(self, events: Sequence[WebhookDisabled]) -> None:
        for event in events:
            key = {
                "PK": {"S": outbox_pk(event.event_id)},
                "SK": {"S": f"{event.occurred_at.astimezone(UTC).isoformat()}#{event.event_id}"},
            }
            self._call("delete_item", TableName=self._table, Key=key)

    # Delivery attempts.

    def record_attempt(self, tenant_id: str, attempt: DeliveryAttempt) -> None:
        expires_at = int((attempt.attempted_at + self._retention).timestamp())
        item = {
            **attempt.model_dump(mode="json"),
            "PK": deliveries_pk(tenant_id, attempt.webhook_id),
            "SK": f"{DELIVERY_SK_PREFIX}{attempt.delivery_id}",
            "type": "webhook_delivery",
            "expires_at": expires_at,
        }
        self._call("put_item", TableName=self._table, Item=to_item(item))

    def list_attempts(self, tenant_id: str, webhook_id: str, limit: int, cursor: str | None) -> Page:
        partition = deliveries_pk(tenant_id, webhook_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": DELIVERY_SK_PREFIX}},
            "Limit": limit,
            "ScanIndexForward": False,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, DELIVERIES_CURSOR_SCOPE, tenant_id, required_pk=partition)
        response = self._call("query", **request)
        items = [DeliveryAttempt.model_validate(from_item(item)) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return Page(items=items, next_cursor=encode_cursor(DELIVERIES_CURSOR_SCOPE, last_key) if last_key else None)

    # Internals.

    def _query_webhooks(
        self,
        tenant_id: str,
        extra_values: dict[str, Any] | None = None,
        **filters: Any,
    ) -> list[StoredWebhook]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": webhooks_pk(tenant_id)},
                ":prefix": {"S": WEBHOOK_SK_PREFIX},
                **(extra_values or {}),
            },
            "ConsistentRead": True,
            **filters,
        }
        webhooks: list[StoredWebhook] = []
        while True:
            response = self._call("query", **request)
            webhooks.extend(_webhook_from_item(item) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return webhooks
            request["ExclusiveStartKey"] = last_key

    def _audited_update(
        self,
        tenant_id: str,
        webhook_id: str,
        expression: str,
        values: dict[str, Any],
        audit: Sequence[AuditRecord],
    ) -> None:
        """Update an existing subscription in one transaction with its audit entries; NotFoundError if absent."""
        operation = {
            "Update": {
                "Key": webhook_key(tenant_id, webhook_id),
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": values,
            }
        }
        if self._transact([operation], audit):
            raise NotFoundError("webhook", webhook_id)

    def _update(
        self,
        tenant_id: str,
        webhook_id: str,
        expression: str,
        values: dict[str, Any],
        return_values: str = "NONE",
    ) -> dict[str, Any]:
        """Update an existing subscription and return the attributes asked for; NotFoundError if absent."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=webhook_key(tenant_id, webhook_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues=values,
                ReturnValues=return_values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFoundError("webhook", webhook_id) from error
            raise DependencyError(f"DynamoDB update_item failed: {error.response['Error']['Code']}") from error
        return response.get("Attributes", {})

    def _transact(self, operations: list[dict[str, Any]], audit: Sequence[AuditRecord] = ()) -> list[int]:
        """Run a transaction with the audit entries of `audit`; return the indexes of failed
        conditions among `operations`, empty when it was written.

        Raises DependencyError on any other fault, and when the audit chain stayed busy.
        """
        for operation in operations:
            next(iter(operation.values()))["TableName"] = self._table
        try:
            if self._audit is not None and audit:
                self._audit.write_with_entries(operations, audit)
            else:
                self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                failed = [
                    index
                    for index, reason in enumerate(reasons[: len(operations)])
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                if failed:
                    return failed
            raise DependencyError(f"DynamoDB transaction failed: {error.response['Error']['Code']}") from error
        return []

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            raise DependencyError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error


def _webhook_from_item(item: dict[str, Any]) -> StoredWebhook:
    return StoredWebhook.model_validate(from_item(item))


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
