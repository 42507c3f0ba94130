"""Reading and cancelling workflows through the API."""

from __future__ import annotations

from functions.domain import access as ticket_access
from functions.domain.errors import DependencyError, WorkflowNotRunningError
from functions.domain.workflows import access
from functions.domain.workflows.context import WorkflowContext
from functions.domain.workflows.onboarding_service import OnboardingService
from functions.models.caller import Caller
from functions.models.workflows import StepStatus, Workflow, WorkflowKind, WorkflowStatus

# Step Functions execution states that end a workflow without its last step having run.
ENDED_EXECUTION_STATUSES = {"FAILED": WorkflowStatus.FAILED, "TIMED_OUT": WorkflowStatus.FAILED, "ABORTED": WorkflowStatus.CANCELLED}


class WorkflowAdmin:
    def __init__(self, context: WorkflowContext, onboarding: OnboardingService) -> None:
        self._context = context
        self._onboarding = onboarding

    def get(self, caller: Caller, workflow_id: str) -> tuple[Workflow, str | None]:
        """Return the workflow and its execution's status (RUNNING, SUCCEEDED, FAILED, ...).

        A workflow whose execution ended outside its own steps (a timeout of the whole state
        machine, a stop in the console) is reported with the execution's outcome.
        """
        workflow = self._context.repository.get_workflow(caller.tenant_id, workflow_id)
        ticket_access.enforce(access.read_denial(caller, workflow), caller, "read_workflow", workflow_id, "workflow")
        execution_status = None
        if workflow.execution_arn:
            try:
                execution_status = self._context.engine.status(workflow.execution_arn)
            except DependencyError:
                execution_status = None
        if workflow.status == WorkflowStatus.RUNNING and execution_status in ENDED_EXECUTION_STATUSES:
            workflow = workflow.model_copy(update={"status": ENDED_EXECUTION_STATUSES[execution_status]})
        return workflow, execution_status

    def cancel(self, caller: Caller, workflow_id: str) -> Workflow:
        """Stop a running workflow; an onboarding is compensated (access revoked, device released)."""
        ticket_access.enforce(access.cancel_denial(caller), caller, "cancel_workflow", workflow_id, "workflow")
        context = self._context
        workflow = context.repository.get_workflow(caller.tenant_id, workflow_id)
        if workflow.status != WorkflowStatus.RUNNING:
            raise WorkflowNotRunningError(workflow_id, workflow.status.value)
        if workflow.kind == WorkflowKind.ONBOARDING:
            return self._onboarding.cancel(workflow)
        if workflow.execution_arn:
            context.engine.stop(workflow.execution_arn, "cancelled through the API")
        return context.repository.record_step(
            caller.tenant_id,
            workflow_id,
            context.step("cancel", StepStatus.COMPLETED, by=caller.user_id),
            audit=context.audit(caller.tenant_id, "workflow.cancelled", "workflow", workflow_id, status="cancelled"),
            status=WorkflowStatus.CANCELLED,
        )
