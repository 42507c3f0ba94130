"""DynamoDB repository of workflows, approvals, decisions, role templates, the directory of
approvers, access grants and the device inventory, in the tickets table.

Key layout (every key starts with the tenant, docs/data-model.md):

| item | PK | SK |
|---|---|---|
| workflow | TENANT#t#WORKFLOW#id | WORKFLOW |
| access grant | TENANT#t#WORKFLOW#id | GRANT#system |
| role template | TENANT#t#ROLE_TEMPLATE#role | TEMPLATE |
| approver | TENANT#t#PERSON#user | PERSON |
| device | TENANT#t#INVENTORY#model | DEVICE#device_id |
| waiting callback | TENANT#t#CALLBACK#kind#id | CALLBACK |
| approval | TENANT#t#APPROVAL#id | APPROVAL (pending ones also in ByAssignee: TENANT#t#APPROVER#user) |
| approval task token | TENANT#t#APPROVAL#id | TOKEN#field |
| recorded decision | TENANT#t#DECISIONS | decided_at#approval_id#version |
| waiting escalation | TENANT#t#ESCALATION#ticket | ESCALATION |
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.adapters.dynamodb import decode_cursor, encode_cursor, from_item, tenant_prefix, to_item
from functions.domain.errors import DependencyError, NotFoundError, VersionConflictError, WorkflowNotRunningError
from functions.domain.ports import Page
from functions.domain.workflows.approvals import Person
from functions.domain.workflows.onboarding import RoleTemplate, SystemAccess
from functions.domain.workflows.ports import Callback
from functions.models.audit import AuditRecord
from functions.models.workflows import Approval, ApprovalStatus, Workflow, WorkflowStep

if TYPE_CHECKING:
    from functions.adapters.audit import DynamoAuditLog

logger = logging.getLogger(f"servicedesk.{__name__}")

MAX_UPDATE_ATTEMPTS = 10
UPDATE_BACKOFF_STEP_SECONDS = 0.05
APPROVER_LABEL = "APPROVER"
ASSIGNEE_INDEX = ("ByAssignee", "AssigneeKey")


def workflow_pk(tenant_id: str, workflow_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}WORKFLOW#{workflow_id}"


def approval_pk(tenant_id: str, approval_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}APPROVAL#{approval_id}"


def decisions_pk(tenant_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}DECISIONS"


def inventory_pk(tenant_id: str, device_model: str) -> str:
    return f"{tenant_prefix(tenant_id)}INVENTORY#{device_model}"


class DynamoWorkflowRepository:
    """WorkflowRepository on the tickets table; audited changes commit with their audit entry."""

    def __init__(self, client: Any, table_name: str, audit: DynamoAuditLog | None = None) -> None:
        self._client = client
        self._table = table_name
        self._audit = audit

    # Workflows.

    def create_workflow(self, workflow: Workflow, audit: AuditRecord) -> bool:
        operation = {
            "Put": {
                "TableName": self._table,
                "Item": self._workflow_item(workflow),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        try:
            self._write([operation], audit)
        except VersionConflictError:
            return False
        return True

    def find_workflow(self, tenant_id: str, workflow_id: str) -> Workflow | None:
        item = self._get(workflow_pk(tenant_id, workflow_id), "WORKFLOW")
        return Workflow.model_validate_json(from_item(item)["document"]) if item else None

    def get_workflow(self, tenant_id: str, workflow_id: str) -> Workflow:
        workflow = self.find_workflow(tenant_id, workflow_id)
        if workflow is None:
            raise NotFoundError("workflow", workflow_id)
        return workflow

    def record_step(
        self,
        tenant_id: str,
        workflow_id: str,
        step: WorkflowStep,
        audit: AuditRecord | None = None,
        status: str | None = None,
        outputs: dict[str, Any] | None = None,
        failure: str | None = None,
        execution_arn: str | None = None,
    ) -> Workflow:
        """Apply one step under optimistic locking; the branches of a Parallel state race here."""

        def change(current: Workflow) -> Workflow:
            if status is not None and status != "running" and current.status != "running":
                # Two requests that both end a workflow (two cancels, or a cancel racing a
                # failure) meet here: only the first is recorded.
                raise WorkflowNotRunningError(workflow_id, str(current.status))
            update: dict[str, Any] = {
                "history": [*current.history, step],
                "current_step": step.step,
                "updated_at": step.at,
                "version": current.version + 1,
            }
            if status is not None:
                update["status"] = status
                if status != "running":
                    update["ended_at"] = step.at
            if outputs:
                update["outputs"] = {**current.outputs, **outputs}
            if failure is not None:
                update["failure"] = failure
            if execution_arn is not None:
                update["execution_arn"] = execution_arn
            return current.model_copy(update=update)

        return self._update_workflow(tenant_id, workflow_id, change, audit)

    def _update_workflow(
        self, tenant_id: str, workflow_id: str, change: Callable[[Workflow], Workflow], audit: AuditRecord | None
    ) -> Workflow:
        for attempt in range(1, MAX_UPDATE_ATTEMPTS + 1):
            current = self.get_workflow(tenant_id, workflow_id)
            updated = change(current)
            operation = {
                "Put": {
                    "TableName": self._table,
                    "Item": self._workflow_item(updated),
                    "ConditionExpression": "#version = :expected",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {":expected": {"N": str(current.version)}},
                }
            }
            try:
                self._write([operation], audit)
                return updated
            except VersionConflictError:
                time.sleep(random.uniform(0, UPDATE_BACKOFF_STEP_SECONDS * attempt))
        raise DependencyError(f"workflow {workflow_id} changed on each of {MAX_UPDATE_ATTEMPTS} attempts")

    # Role templates and people.

    def get_role_template(self, tenant_id: str, role: str) -> RoleTemplate | None:
        item = self._get(f"{tenant_prefix(tenant_id)}ROLE_TEMPLATE#{role}", "TEMPLATE")
        if item is None:
            return None
        values = json.loads(from_item(item)["document"])
        return RoleTemplate(
            role=values["role"],
            access=tuple(SystemAccess(entry["system"], entry["level"]) for entry in values["access"]),
            device_model=values["device_model"],
            training_courses=tuple(values.get("training_courses", [])),
        )

    def put_role_template(self, tenant_id: str, template: RoleTemplate) -> None:
        document = {
            "role": template.role,
            "access": [{"system": entry.system, "level": entry.level} for entry in template.access],
            "device_model": template.device_model,
            "training_courses": list(template.training_courses),
        }
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": f"{tenant_prefix(tenant_id)}ROLE_TEMPLATE#{template.role}", "SK": "TEMPLATE",
            "type": "role_template", "document": json.dumps(document, ensure_ascii=False),
        }))

    def get_person(self, tenant_id: str, user_id: str) -> Person | None:
        item = self._get(f"{tenant_prefix(tenant_id)}PERSON#{user_id}", "PERSON")
        if item is None:
            return None
        values = from_item(item)
        away = values.get("away_until")
        return Person(
            user_id=user_id,
            manager_id=values.get("manager_id"),
            away_until=date.fromisoformat(away) if away else None,
            delegate_id=values.get("delegate_id"),
        )

    def put_person(self, tenant_id: str, person: Person) -> None:
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": f"{tenant_prefix(tenant_id)}PERSON#{person.user_id}", "SK": "PERSON", "type": "person",
            "manager_id": person.manager_id, "delegate_id": person.delegate_id,
            "away_until": person.away_until.isoformat() if person.away_until else None,
        }))

    # Access grants.

    def put_grants(self, tenant_id: str, workflow_id: str, employee_id: str, grants: Sequence[SystemAccess]) -> None:
        for grant in grants:
            self._call("put_item", TableName=self._table, Item=to_item({
                "PK": workflow_pk(tenant_id, workflow_id), "SK": f"GRANT#{grant.system}", "type": "access_grant",
                "system": grant.system, "level": grant.level, "employee_id": employee_id, "status": "granted",
            }))

    def list_grants(self, tenant_id: str, workflow_id: str) -> list[SystemAccess]:
        items = self._query_all(workflow_pk(tenant_id, workflow_id), "GRANT#")
        return [SystemAccess(item["system"], item["level"]) for item in items if item.get("status") == "granted"]

    def revoke_grants(self, tenant_id: str, workflow_id: str, systems: Sequence[str]) -> None:
        for system in systems:
            self._call(
                "update_item", TableName=self._table,
                Key={"PK": {"S": workflow_pk(tenant_id, workflow_id)}, "SK": {"S": f"GRANT#{system}"}},
                UpdateExpression="SET #status = :revoked",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":revoked": {"S": "revoked"}},
            )

    # Inventory.

    def put_device(self, tenant_id: str, device_model: str, device_id: str) -> None:
        """Add an available device to the inventory (seeding and deliveries outside a workflow)."""
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": inventory_pk(tenant_id, device_model), "SK": f"DEVICE#{device_id}", "type": "device",
            "device_id": device_id, "device_model": device_model, "status": "available",
        }))

    def list_devices(self, tenant_id: str, device_model: str) -> list[dict[str, Any]]:
        return self._query_all(inventory_pk(tenant_id, device_model), "DEVICE#")

    def reserve_device(self, tenant_id: str, device_model: str, workflow_id: str) -> str | None:
        devices = self.list_devices(tenant_id, device_model)
        for device in devices:
            if device.get("status") == "reserved" and device.get("workflow_id") == workflow_id:
                return str(device["device_id"])
        for device in devices:
            if device.get("status") != "available":
                continue
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={"PK": {"S": inventory_pk(tenant_id, device_model)}, "SK": {"S": f"DEVICE#{device['device_id']}"}},
                    UpdateExpression="SET #status = :reserved, workflow_id = :workflow",
                    ConditionExpression="#status = :available",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":reserved": {"S": "reserved"}, ":available": {"S": "available"}, ":workflow": {"S": workflow_id},
                    },
                )
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # another workflow took it first
                raise DependencyError(f"DynamoDB update_item failed: {error.response['Error']['Code']}") from error
            return str(device["device_id"])
        return None

    def add_reserved_device(self, tenant_id: str, device_model: str, device_id: str, workflow_id: str) -> None:
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": inventory_pk(tenant_id, device_model), "SK": f"DEVICE#{device_id}", "type": "device",
            "device_id": device_id, "device_model": device_model, "status": "reserved", "workflow_id": workflow_id,
        }))

    def release_device(self, tenant_id: str, device_model: str, device_id: str, workflow_id: str) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"PK": {"S": inventory_pk(tenant_id, device_model)}, "SK": {"S": f"DEVICE#{device_id}"}},
                UpdateExpression="SET #status = :available REMOVE workflow_id",
                ConditionExpression="workflow_id = :workflow",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":available": {"S": "available"}, ":workflow": {"S": workflow_id}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise DependencyError(f"DynamoDB update_item failed: {error.response['Error']['Code']}") from error
        return True

    # Callbacks.

    def put_callback(self, callback: Callback) -> None:
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": f"{tenant_prefix(callback.tenant_id)}CALLBACK#{callback.kind}#{callback.callback_id}", "SK": "CALLBACK",
            "type": "callback", "workflow_id": callback.workflow_id, "task_token": callback.task_token,
        }))

    def take_callback(self, tenant_id: str, kind: str, callback_id: str) -> Callback | None:
        response = self._call(
            "delete_item", TableName=self._table,
            Key={"PK": {"S": f"{tenant_prefix(tenant_id)}CALLBACK#{kind}#{callback_id}"}, "SK": {"S": "CALLBACK"}},
            ReturnValues="ALL_OLD",
        )
        old = response.get("Attributes")
        if not old:
            return None
        values = from_item(old)
        return Callback(kind, callback_id, tenant_id, str(values["workflow_id"]), str(values["task_token"]))

    # Approvals.

    def create_approval(self, approval: Approval) -> bool:
        try:
            self._client.put_item(
                TableName=self._table, Item=self._approval_item(approval), ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise DependencyError(f"DynamoDB put_item failed: {error.response['Error']['Code']}") from error
        return True

    def get_approval(self, tenant_id: str, approval_id: str) -> Approval:
        item = self._get(approval_pk(tenant_id, approval_id), "APPROVAL")
        if item is None:
            raise NotFoundError("approval", approval_id)
        return Approval.model_validate_json(from_item(item)["document"])

    def save_approval(self, approval: Approval, expected_version: int, audit: AuditRecord | None = None) -> None:
        operation = {
            "Put": {
                "TableName": self._table,
                "Item": self._approval_item(approval),
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        }
        try:
            self._write([operation], audit)
        except VersionConflictError as conflict:
            raise VersionConflictError(approval.approval_id, expected_version, None) from conflict

    def set_task_token(self, tenant_id: str, approval_id: str, field: str, token: str) -> None:
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": approval_pk(tenant_id, approval_id), "SK": f"TOKEN#{field}", "type": "task_token", "task_token": token,
        }))

    def get_task_token(self, tenant_id: str, approval_id: str, field: str) -> str | None:
        item = self._get(approval_pk(tenant_id, approval_id), f"TOKEN#{field}")
        return str(from_item(item)["task_token"]) if item else None

    def list_pending_approvals(self, tenant_id: str, assignee_id: str, limit: int, cursor: str | None) -> Page:
        index_name, key_attribute = ASSIGNEE_INDEX
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index_name,
            "KeyConditionExpression": "#key = :key",
            "ExpressionAttributeNames": {"#key": key_attribute},
            "ExpressionAttributeValues": {":key": {"S": f"{tenant_prefix(tenant_id)}{APPROVER_LABEL}#{assignee_id}"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, "approvals", tenant_id)
        response = self._call("query", **request)
        items = [Approval.model_validate_json(from_item(item)["document"]) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return Page(items=items, next_cursor=encode_cursor("approvals", last_key) if last_key else None)

    def record_decision(self, tenant_id: str, approval: Approval) -> None:
        automated = approval.automated
        decided_at = (approval.decided_at or approval.created_at).astimezone(UTC).isoformat()
        example = {
            "approval_id": approval.approval_id,
            "subject": approval.subject,
            "status": approval.status.value,
            "decided_by": approval.decided_by,
            "overruled": approval.overruled,
            "automated": automated.model_dump(mode="json") if automated else None,
            "decided_at": decided_at,
        }
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": decisions_pk(tenant_id), "SK": f"{decided_at}#{approval.approval_id}#{approval.version}",
            "type": "decision", "document": json.dumps(example, ensure_ascii=False),
        }))

    def list_decisions(self, tenant_id: str) -> list[dict[str, Any]]:
        """Return the tenant's recorded decisions, oldest first (for exporting training labels)."""
        return [json.loads(item["document"]) for item in self._query_all(decisions_pk(tenant_id), "")]

    # Escalations.

    def put_escalation(self, tenant_id: str, ticket_id: str, workflow_id: str, level: str, task_token: str) -> None:
        self._call("put_item", TableName=self._table, Item=to_item({
            "PK": f"{tenant_prefix(tenant_id)}ESCALATION#{ticket_id}", "SK": "ESCALATION", "type": "escalation",
            "workflow_id": workflow_id, "level": level, "task_token": task_token,
        }))

    def get_escalation(self, tenant_id: str, ticket_id: str) -> dict[str, Any] | None:
        item = self._get(f"{tenant_prefix(tenant_id)}ESCALATION#{ticket_id}", "ESCALATION")
        return from_item(item) if item else None

    def close_escalation(self, tenant_id: str, ticket_id: str) -> None:
        self._call(
            "delete_item", TableName=self._table,
            Key={"PK": {"S": f"{tenant_prefix(tenant_id)}ESCALATION#{ticket_id}"}, "SK": {"S": "ESCALATION"}},
        )

    # Internals.

    def _workflow_item(self, workflow: Workflow) -> dict[str, Any]:
        return to_item({
            "PK": workflow_pk(workflow.tenant_id, workflow.workflow_id), "SK": "WORKFLOW", "type": "workflow",
            "kind": workflow.kind.value, "status": workflow.status.value, "version": workflow.version,
            "document": workflow.model_dump_json(),
        })

    def _approval_item(self, approval: Approval) -> dict[str, Any]:
        prefix = tenant_prefix(approval.tenant_id)
        pending = approval.status == ApprovalStatus.PENDING
        return to_item({
            "PK": approval_pk(approval.tenant_id, approval.approval_id), "SK": "APPROVAL", "type": "approval",
            "status": approval.status.value, "version": approval.version, "document": approval.model_dump_json(),
            # Only pending approvals are in the assignee's list.
            "AssigneeKey": f"{prefix}{APPROVER_LABEL}#{approval.assignee_id}" if pending else None,
            "CreatedKey": f"{approval.created_at.astimezone(UTC).isoformat(timespec='microseconds')}#{approval.approval_id}",
        })

    def _write(self, operations: list[dict[str, Any]], audit: AuditRecord | None) -> None:
        """Run the operations in one transaction with the audit entry; VersionConflictError on a failed condition."""
        try:
            if self._audit is not None and audit is not None:
                self._audit.write_with_entries(operations, [audit])
            else:
                self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            reasons = error.response.get("CancellationReasons", [])
            if code == "TransactionCanceledException" and any(
                reason.get("Code") == "ConditionalCheckFailed" for reason in reasons[: len(operations)]
            ):
                raise VersionConflictError("workflow item", 0, None) from error
            raise DependencyError(f"DynamoDB transaction failed: {code}") from error

    def _get(self, partition: str, sort_key: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item", TableName=self._table, Key={"PK": {"S": partition}, "SK": {"S": sort_key}}, ConsistentRead=True
        )
        return response.get("Item")

    def _query_all(self, partition: str, sort_prefix: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        if sort_prefix:
            request["KeyConditionExpression"] = "PK = :pk AND begins_with(SK, :prefix)"
            request["ExpressionAttributeValues"][":prefix"] = {"S": sort_prefix}
        items: list[dict[str, Any]] = []
        while True:
            response = self._call("query", **request)
            items.extend(from_item(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            raise DependencyError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error
