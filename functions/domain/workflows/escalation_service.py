"""Escalation workflow use cases: start it for an escalated ticket, and end the wait when the
ticket is picked up."""

from __future__ import annotations

import logging
from typing import Any

from functions.domain.errors import NotFoundError
from functions.domain.workflows import onboarding
from functions.domain.workflows.context import WorkflowContext
from functions.models.tickets import TicketStatus
from functions.models.workflow_events import WorkflowCompleted, WorkflowFailed, WorkflowStarted
from functions.models.workflows import StepStatus, Workflow, WorkflowKind, WorkflowStatus

logger = logging.getLogger(f"servicedesk.{__name__}")

# A ticket counts as picked up once someone is assigned or works on it.
PICKED_UP_STATUSES = frozenset({TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED})


class EscalationService:
    def __init__(self, context: WorkflowContext) -> None:
        self._context = context

    def start(self, tenant_id: str, ticket_id: str, version: int) -> tuple[Workflow, bool]:
        """Start the escalation workflow of one escalation of a ticket (ticket id and version)."""
        context = self._context
        workflow_id = onboarding.workflow_id_for(tenant_id, WorkflowKind.ESCALATION, f"{ticket_id}:{version}")
        existing = context.repository.find_workflow(tenant_id, workflow_id)
        if existing is not None and existing.execution_arn:
            return existing, False
        now = context.clock()
        workflow = existing or Workflow(
            workflow_id=workflow_id, tenant_id=tenant_id, kind=WorkflowKind.ESCALATION, status=WorkflowStatus.RUNNING,
            current_step="start", ticket_id=ticket_id, subject_id=ticket_id, started_at=now, updated_at=now,
            outputs={"escalated_version": version},
        )
        if existing is None:
            context.repository.create_workflow(
                workflow, context.audit(tenant_id, "workflow.started", "workflow", workflow_id, kind="escalation", ticket_id=ticket_id)
            )
        execution_arn = context.engine.start(
            context.state_machines.escalation_arn,
            workflow_id,
            {
                "tenant_id": tenant_id,
                "ticket_id": ticket_id,
                "escalation_id": workflow_id,
                "ack_timeout_seconds": context.escalation_ack_timeout_seconds,
            },
        )
        workflow = context.repository.record_step(
            tenant_id, workflow_id, context.step("notify_senior_agent", StepStatus.COMPLETED), execution_arn=execution_arn
        )
        context.publish(WorkflowStarted, tenant_id, ticket_id, workflow_id=workflow_id, kind="escalation", subject_id=ticket_id)
        return workflow, True

    def await_pickup(self, escalation: dict[str, Any], task_token: str) -> None:
        """Store the waiting task; a ticket already picked up completes it at once."""
        context = self._context
        tenant_id, ticket_id = str(escalation["tenant_id"]), str(escalation["ticket_id"])
        workflow_id, level = str(escalation["escalation_id"]), str(escalation["level"])
        context.repository.put_escalation(tenant_id, ticket_id, workflow_id, level, task_token)
        context.repository.record_step(tenant_id, workflow_id, context.step(f"await_pickup_{level}", StepStatus.WAITING))
        if context.ticket_lookup is None:
            return
        try:
            ticket = context.ticket_lookup(tenant_id, ticket_id)
        except NotFoundError:
            return
        if ticket.status in PICKED_UP_STATUSES:
            self.ticket_picked_up(tenant_id, ticket_id, ticket.assignee_id)

    def ticket_picked_up(self, tenant_id: str, ticket_id: str, assignee_id: str | None) -> bool:
        """End a running escalation of the ticket; return False when none waits."""
        context = self._context
        waiting = context.repository.get_escalation(tenant_id, ticket_id)
        if waiting is None:
            return False
        context.repository.close_escalation(tenant_id, ticket_id)
        if assignee_id is None and context.ticket_lookup is not None:
            # A status change names no assignee; the ticket does.
            assignee_id = context.ticket_lookup(tenant_id, ticket_id).assignee_id
        workflow_id = str(waiting["workflow_id"])
        context.engine.succeed(str(waiting["task_token"]), {"picked_up": True, "assignee_id": assignee_id})
        context.repository.record_step(
            tenant_id,
            workflow_id,
            context.step("picked_up", StepStatus.COMPLETED, level=waiting.get("level"), assignee_id=assignee_id),
            audit=context.audit(tenant_id, "workflow.completed", "workflow", workflow_id, status="completed"),
            status=WorkflowStatus.COMPLETED,
        )
        context.publish(WorkflowCompleted, tenant_id, ticket_id, workflow_id=workflow_id, kind="escalation")
        logger.info("escalation picked up", extra={"tenant_id": tenant_id, "ticket_id": ticket_id, "workflow_id": workflow_id})
        return True

    def unacknowledged(self, escalation: dict[str, Any]) -> None:
        context = self._context
        tenant_id, ticket_id, workflow_id = str(escalation["tenant_id"]), str(escalation["ticket_id"]), str(escalation["escalation_id"])
        context.repository.close_escalation(tenant_id, ticket_id)
        context.repository.record_step(
            tenant_id,
            workflow_id,
            context.step("unacknowledged", StepStatus.FAILED),
            audit=context.audit(tenant_id, "workflow.failed", "workflow", workflow_id, status="failed"),
            status=WorkflowStatus.FAILED,
            failure="Neither a senior agent nor a supervisor picked up the ticket in time.",
        )
        context.publish(WorkflowFailed, tenant_id, ticket_id, workflow_id=workflow_id, kind="escalation", failed_step="await_pickup_supervisor")
