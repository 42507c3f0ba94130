"""What every workflow use case shares: dependencies, settings and small helpers for the
history, the parent ticket, the audit trail and events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.domain.audit import audit_timestamp
from functions.domain.errors import DomainError
from functions.domain.ids import new_id
from functions.domain.ports import EventPublisher, ModelEndpoint
from functions.domain.tickets import TicketService
from functions.domain.workflows.decisions import DecisionPolicy
from functions.domain.workflows.ports import WorkflowEngine, WorkflowRepository
from functions.models.audit import AuditChange, AuditRecord
from functions.models.caller import Role
from functions.models.events import Actor, EventDetail
from functions.models.tickets import Ticket
from functions.models.workflows import StepStatus, WorkflowStep

logger = logging.getLogger(f"servicedesk.{__name__}")

# The actor of changes that workflows make on their own.
WORKFLOW_ACTOR = Actor(user_id="workflows", role=Role.SYSTEM)


class StepFailedError(DomainError):
    """A step failed for good; the worker reports it to Step Functions with SendTaskFailure."""

    code = "step_failed"

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause, error=error)
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class StateMachines:
    onboarding_arn: str
    approval_arn: str
    escalation_arn: str


@dataclass
class WorkflowContext:
    """Dependencies of the workflow use cases; built once per container by functions/wiring.py."""

    repository: WorkflowRepository
    engine: WorkflowEngine
    publisher: EventPublisher
    tickets: TicketService
    state_machines: StateMachines
    decision_endpoint: ModelEndpoint | None = None
    decision_policy: DecisionPolicy = field(default_factory=DecisionPolicy)
    approval_timeout_seconds: int = 2 * 24 * 3600
    escalation_ack_timeout_seconds: int = 15 * 60
    # Reads a ticket without a caller, for steps that check a ticket's status.
    ticket_lookup: Callable[[str, str], Ticket] | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def step(self, name: str, status: StepStatus, **detail: Any) -> WorkflowStep:
        return WorkflowStep(step=name, status=status, at=self.clock(), detail=detail)

    def audit(self, tenant_id: str, action: str, resource_type: str, resource_id: str, **changes: Any) -> AuditRecord:
        """Build an audit record of a workflow change, made by `WORKFLOW_ACTOR`."""
        return self.audit_by(WORKFLOW_ACTOR, tenant_id, action, resource_type, resource_id, **changes)

    def audit_by(
        self, actor: Actor, tenant_id: str, action: str, resource_type: str, resource_id: str, **changes: Any
    ) -> AuditRecord:
        return AuditRecord(
            tenant_id=tenant_id,
            timestamp=audit_timestamp(self.clock()),
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            changes={name: AuditChange(new=None if value is None else str(value)) for name, value in changes.items()},
        )

    def note(self, tenant_id: str, ticket_id: str | None, note_id: str, english: str, korean: str) -> None:
        """Tell the requester about progress on the parent ticket, in Korean and English.

        The note id makes a redelivered step add the note only once. A failure is logged and
        not raised, because the step itself succeeded.
        """
        if not ticket_id:
            return
        try:
            self.tickets.add_system_note(tenant_id, ticket_id, note_id, f"{korean}\n{english}", WORKFLOW_ACTOR)
        except DomainError as error:
            logger.warning(
                "ticket note failed", extra={"tenant_id": tenant_id, "ticket_id": ticket_id, "error": error.code}
            )

    def publish(self, event_type: type[EventDetail], tenant_id: str, ticket_id: str | None, **fields: Any) -> None:
        """Publish one workflow event.

        A failure raises DependencyError. Every caller is safe to repeat (a queue redelivers the
        step, a client retries the request), and a repeat publishes the event again, so
        partners receive it at least once and drop duplicates by (workflow_id, detail-type, step).
        """
        event = event_type.build(
            event_id=new_id(),
            occurred_at=self.clock(),
            tenant_id=tenant_id,
            ticket_id=ticket_id or "",
            actor=WORKFLOW_ACTOR,
            **fields,
        )
        self.publisher.publish([event])
