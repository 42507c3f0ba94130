"""Interfaces the workflow use cases need; functions/adapters implements them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from functions.domain.ports import Page
from functions.domain.workflows.approvals import Person
from functions.domain.workflows.onboarding import RoleTemplate, SystemAccess
from functions.models.audit import AuditRecord
from functions.models.workflows import Approval, Workflow, WorkflowStep


@dataclass(frozen=True)
class Callback:
    """A task token waiting for a partner's answer."""

    kind: str
    callback_id: str
    tenant_id: str
    workflow_id: str
    task_token: str


class WorkflowRepository(Protocol):
    def create_workflow(self, workflow: Workflow, audit: AuditRecord) -> bool:
        """Store a new workflow; return False, writing nothing, when its id already exists."""

    def get_workflow(self, tenant_id: str, workflow_id: str) -> Workflow:
        """Return the workflow or raise NotFoundError."""

    def find_workflow(self, tenant_id: str, workflow_id: str) -> Workflow | None: ...

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
        """Append a history entry and set the current step, status, outputs or failure."""

    def get_role_template(self, tenant_id: str, role: str) -> RoleTemplate | None: ...

    def get_person(self, tenant_id: str, user_id: str) -> Person | None: ...

    def put_grants(self, tenant_id: str, workflow_id: str, employee_id: str, grants: Sequence[SystemAccess]) -> None: ...

    def list_grants(self, tenant_id: str, workflow_id: str) -> list[SystemAccess]: ...

    def revoke_grants(self, tenant_id: str, workflow_id: str, systems: Sequence[str]) -> None: ...

    def reserve_device(self, tenant_id: str, device_model: str, workflow_id: str) -> str | None:
        """Reserve one available device of the model for the workflow; None when none is in stock."""

    def add_reserved_device(self, tenant_id: str, device_model: str, device_id: str, workflow_id: str) -> None:
        """Record a newly delivered device, already reserved for the workflow."""

    def release_device(self, tenant_id: str, device_model: str, device_id: str, workflow_id: str) -> bool:
        """Make a device available again if this workflow reserved it; return whether it did."""

    def put_callback(self, callback: Callback) -> None: ...

    def take_callback(self, tenant_id: str, kind: str, callback_id: str) -> Callback | None:
        """Return and remove a waiting callback; None when there is none (already answered)."""

    def create_approval(self, approval: Approval) -> bool: ...

    def get_approval(self, tenant_id: str, approval_id: str) -> Approval: ...

    def save_approval(self, approval: Approval, expected_version: int, audit: AuditRecord | None = None) -> None:
        """Replace the approval if it is at `expected_version`, else VersionConflictError."""

    def set_task_token(self, tenant_id: str, approval_id: str, field: str, token: str) -> None: ...

    def get_task_token(self, tenant_id: str, approval_id: str, field: str) -> str | None: ...

    def list_pending_approvals(self, tenant_id: str, assignee_id: str, limit: int, cursor: str | None) -> Page: ...

    def record_decision(self, tenant_id: str, approval: Approval) -> None:
        """Keep a decided approval as a training example (the product's own decision history)."""

    def put_escalation(self, tenant_id: str, ticket_id: str, workflow_id: str, level: str, task_token: str) -> None: ...

    def get_escalation(self, tenant_id: str, ticket_id: str) -> dict[str, Any] | None: ...

    def close_escalation(self, tenant_id: str, ticket_id: str) -> None: ...


class WorkflowEngine(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        """Start an execution and return its ARN; a running execution of the same name is returned as is."""

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        """Complete a waiting task; return False when the task is gone (timed out, stopped or answered)."""

    def fail(self, task_token: str, error: str, cause: str) -> bool: ...

    def stop(self, execution_arn: str, cause: str) -> None: ...

    def status(self, execution_arn: str) -> str:
        """Return RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    """Return the ARN of a standard workflow's execution from its state machine ARN and name."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
