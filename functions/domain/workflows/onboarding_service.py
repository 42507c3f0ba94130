"""Onboarding use cases: start (from HR or the API), the worker's steps, cancel and compensation."""

from __future__ import annotations

import logging
from typing import Any

from functions.domain.errors import InvalidInputError, NotFoundError, ThreadConflictError, VersionConflictError
from functions.domain.workflows import onboarding
from functions.domain.workflows.context import WORKFLOW_ACTOR, StepFailedError, WorkflowContext
from functions.domain.workflows.onboarding import RoleTemplate
from functions.domain.workflows.ports import Callback, execution_arn_for
from functions.models.caller import Caller
from functions.models.tickets import Channel, CreateTicketRequest, TicketStatus
from functions.models.workflow_events import (
    PurchaseRequested,
    TrainingEnrolmentRequested,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowStepCompleted,
)
from functions.models.workflows import (
    ApprovalStatus,
    Employee,
    StepStatus,
    Workflow,
    WorkflowKind,
    WorkflowStatus,
)

logger = logging.getLogger(f"servicedesk.{__name__}")

ONBOARDING_CATEGORY = "onboarding"
# Customer id of internal requests on the parent ticket: the employee's department.
INTERNAL_CUSTOMER_PREFIX = "internal-"


class OnboardingService:
    def __init__(self, context: WorkflowContext) -> None:
        self._context = context

    # Starting.

    def start(self, caller: Caller, employee: Employee, requester_id: str) -> tuple[Workflow, bool]:
        """Start onboarding an employee; return the workflow and whether this call started it.

        The workflow id is derived from the tenant and the employee id, so a repeated hire event
        or request returns the existing workflow instead of starting a second one.
        """
        context = self._context
        tenant_id = caller.tenant_id
        workflow_id = onboarding.workflow_id_for(tenant_id, WorkflowKind.ONBOARDING, employee.employee_id)
        existing = context.repository.find_workflow(tenant_id, workflow_id)
        if existing is not None and existing.execution_arn:
            return existing, False

        template = context.repository.get_role_template(tenant_id, employee.role)
        if template is None:
            raise InvalidInputError(
                f"role {employee.role} has no role template: add one for the tenant or send another role",
                problem_ko=f"역할 {employee.role}에 역할 템플릿이 없습니다. 템플릿을 추가하거나 다른 역할을 보내 주세요.",
                field="employee.role",
            )

        ticket_id = self._open_ticket(caller, employee, requester_id, workflow_id)
        now = context.clock()
        workflow = existing or Workflow(
            workflow_id=workflow_id,
            tenant_id=tenant_id,
            kind=WorkflowKind.ONBOARDING,
            status=WorkflowStatus.RUNNING,
            current_step="start",
            ticket_id=ticket_id,
            subject_id=employee.employee_id,
            started_at=now,
            updated_at=now,
            outputs={
                "employee": employee.model_dump(mode="json"),
                "requester_id": requester_id,
                "device_model": template.device_model,
                "training_courses": list(template.training_courses),
            },
        )
        if existing is None:
            audit = context.audit(
                tenant_id, "workflow.started", "workflow", workflow_id, kind="onboarding", ticket_id=ticket_id
            )
            if not context.repository.create_workflow(workflow, audit):
                # Another delivery of the same hire created it between the read and the write.
                workflow = context.repository.get_workflow(tenant_id, workflow_id)
                if workflow.execution_arn:
                    return workflow, False

        execution_arn = context.engine.start(
            context.state_machines.onboarding_arn,
            workflow_id,
            {"workflow": {"tenant_id": tenant_id, "workflow_id": workflow_id, "ticket_id": ticket_id}},
        )
        workflow = context.repository.record_step(
            tenant_id, workflow_id, context.step("start", StepStatus.COMPLETED), execution_arn=execution_arn
        )
        context.publish(
            WorkflowStarted, tenant_id, ticket_id, workflow_id=workflow_id, kind="onboarding", subject_id=employee.employee_id
        )
        logger.info("onboarding started", extra={"tenant_id": tenant_id, "workflow_id": workflow_id, "ticket_id": ticket_id})
        return workflow, True

    def _open_ticket(self, caller: Caller, employee: Employee, requester_id: str, workflow_id: str) -> str:
        request = CreateTicketRequest(
            title=f"Onboarding {employee.employee_id} ({employee.role})",
            description=(
                f"신규 입사자 {employee.employee_id}의 온보딩: 계정과 권한, 장비, 교육.\n"
                f"Onboarding of new hire {employee.employee_id}: accounts and access, equipment, training."
            ),
            requester_id=requester_id,
            customer_id=f"{INTERNAL_CUSTOMER_PREFIX}{employee.department}"[:128],
            channel=Channel.WEB_FORM,
            category=ONBOARDING_CATEGORY,
            thread_key=f"workflow:{workflow_id}",
        )
        try:
            return self._context.tickets.create_ticket(caller, request).ticket_id
        except ThreadConflictError as conflict:
            ticket_id = conflict.details.get("ticket_id")
            if not ticket_id:
                raise
            return str(ticket_id)

    # Steps, called by the worker with the state's input.

    def grant_access(self, workflow_ref: dict[str, Any]) -> dict[str, Any]:
        workflow, employee, template = self._load(workflow_ref)
        plan = onboarding.plan_access(template, employee)
        context = self._context
        context.repository.put_grants(workflow.tenant_id, workflow.workflow_id, employee.employee_id, plan.standard)
        systems = [f"{access.system}:{access.level}" for access in plan.standard]
        self._completed(
            workflow,
            "grant_access",
            {"granted": systems},
            "Access granted: " + (", ".join(systems) or "none"),
            "계정과 권한을 부여했습니다: " + (", ".join(systems) or "없음"),
            outputs={"granted_access": systems},
        )
        return {
            "approval_needed": plan.approval_needed,
            "granted": systems,
            "pending": [f"{access.system}:{access.level}" for access in plan.privileged],
        }

    def grant_privileged_access(self, workflow_ref: dict[str, Any], approval: dict[str, Any]) -> dict[str, Any]:
        workflow, employee, template = self._load(workflow_ref)
        plan = onboarding.plan_access(template, employee)
        context = self._context
        standard = [f"{access.system}:{access.level}" for access in plan.standard]
        status = approval.get("status")
        if status != ApprovalStatus.APPROVED:
            self._completed(
                workflow,
                "grant_privileged_access",
                {"approval_status": status, "granted": []},
                f"Privileged access was not granted: the approval ended as {status}.",
                f"관리자 권한은 부여하지 않았습니다: 승인 결과가 {status}입니다.",
            )
            return {"approval_needed": True, "granted": standard, "privileged_granted": False}

        context.repository.put_grants(workflow.tenant_id, workflow.workflow_id, employee.employee_id, plan.privileged)
        privileged = [f"{access.system}:{access.level}" for access in plan.privileged]
        self._completed(
            workflow,
            "grant_privileged_access",
            {"granted": privileged},
            "Privileged access granted after approval: " + ", ".join(privileged),
            "승인에 따라 관리자 권한을 부여했습니다: " + ", ".join(privileged),
            outputs={"granted_access": standard + privileged},
        )
        return {"approval_needed": True, "granted": standard + privileged, "privileged_granted": True}

    def reserve_device(self, workflow_ref: dict[str, Any]) -> dict[str, Any]:
        workflow, _, template = self._load(workflow_ref)
        reserved_id = workflow.outputs.get("device_id")
        if reserved_id:
            return {"reserved": True, "device_id": reserved_id, "device_model": template.device_model}

        context = self._context
        device_id = context.repository.reserve_device(workflow.tenant_id, template.device_model, workflow.workflow_id)
        if device_id is None:
            self._record(workflow, "reserve_device", StepStatus.WAITING, {"in_stock": False, "device_model": template.device_model})
            return {"reserved": False, "device_model": template.device_model}
        self._completed(
            workflow,
            "reserve_device",
            {"device_id": device_id, "device_model": template.device_model},
            f"Device {device_id} ({template.device_model}) reserved.",
            f"장비 {device_id}({template.device_model})를 배정했습니다.",
            outputs={"device_id": device_id},
        )
        return {"reserved": True, "device_id": device_id, "device_model": template.device_model}

    def request_purchase(self, workflow_ref: dict[str, Any], task_token: str) -> None:
        """Ask the ERP for a device; its answer completes the task (see answer_purchase)."""
        workflow, employee, template = self._load(workflow_ref)
        context = self._context
        purchase_request_id = onboarding.purchase_request_id_for(workflow.workflow_id)
        context.repository.put_callback(
            Callback("purchase", purchase_request_id, workflow.tenant_id, workflow.workflow_id, task_token)
        )
        context.publish(
            PurchaseRequested,
            workflow.tenant_id,
            workflow.ticket_id,
            workflow_id=workflow.workflow_id,
            kind="onboarding",
            purchase_request_id=purchase_request_id,
            device_model=template.device_model,
            employee_id=employee.employee_id,
        )
        self._record(workflow, "request_purchase", StepStatus.WAITING, {"purchase_request_id": purchase_request_id})
        context.note(
            workflow.tenant_id,
            workflow.ticket_id,
            f"{workflow.workflow_id}-request_purchase",
            f"No {template.device_model} in stock; purchase request {purchase_request_id} sent to the ERP.",
            f"{template.device_model} 재고가 없어 ERP에 구매 요청 {purchase_request_id}을(를) 보냈습니다.",
        )

    def assign_purchased_device(self, workflow_ref: dict[str, Any], purchase: dict[str, Any]) -> dict[str, Any]:
        workflow, _, template = self._load(workflow_ref)
        device_id = str(purchase["device_id"])
        self._context.repository.add_reserved_device(workflow.tenant_id, template.device_model, device_id, workflow.workflow_id)
        self._completed(
            workflow,
            "assign_purchased_device",
            {"device_id": device_id},
            f"Purchased device {device_id} delivered and assigned.",
            f"구매한 장비 {device_id}가 도착해 배정했습니다.",
            outputs={"device_id": device_id},
        )
        return {"reserved": True, "device_id": device_id, "device_model": template.device_model}

    def enrol_training(self, workflow_ref: dict[str, Any], task_token: str) -> None:
        """Ask the learning system to enrol the employee; its answer completes the task."""
        workflow, employee, template = self._load(workflow_ref)
        context = self._context
        enrolment_id = onboarding.enrolment_id_for(workflow.workflow_id)
        context.repository.put_callback(Callback("training", enrolment_id, workflow.tenant_id, workflow.workflow_id, task_token))
        context.publish(
            TrainingEnrolmentRequested,
            workflow.tenant_id,
            workflow.ticket_id,
            workflow_id=workflow.workflow_id,
            kind="onboarding",
            enrolment_id=enrolment_id,
            employee_id=employee.employee_id,
            courses=list(template.training_courses),
        )
        self._record(workflow, "enrol_training", StepStatus.WAITING, {"enrolment_id": enrolment_id})

    def complete(self, workflow_ref: dict[str, Any]) -> dict[str, Any]:
        workflow = self._workflow(workflow_ref)
        context = self._context
        if workflow.status == WorkflowStatus.COMPLETED:
            return {"status": "completed"}
        context.repository.record_step(
            workflow.tenant_id,
            workflow.workflow_id,
            context.step("complete", StepStatus.COMPLETED),
            audit=context.audit(workflow.tenant_id, "workflow.completed", "workflow", workflow.workflow_id, status="completed"),
            status=WorkflowStatus.COMPLETED,
        )
        context.note(
            workflow.tenant_id,
            workflow.ticket_id,
            f"{workflow.workflow_id}-complete",
            "Onboarding is complete: access, equipment and training are ready.",
            "온보딩이 완료되었습니다: 계정과 권한, 장비, 교육이 준비되었습니다.",
        )
        if workflow.ticket_id:
            context.tickets.change_status_as_system(
                workflow.tenant_id, workflow.ticket_id, TicketStatus.RESOLVED, WORKFLOW_ACTOR
            )
        context.publish(WorkflowCompleted, workflow.tenant_id, workflow.ticket_id, workflow_id=workflow.workflow_id, kind="onboarding")
        return {"status": "completed"}

    def compensate(self, workflow_ref: dict[str, Any], failure: dict[str, Any] | None, cancelled: bool = False) -> dict[str, Any]:
        """Undo what the workflow did (revoke its access, release its device) and record what failed."""
        workflow = self._workflow(workflow_ref)
        context = self._context
        tenant_id = workflow.tenant_id
        if workflow.status in (WorkflowStatus.FAILED, WorkflowStatus.CANCELLED):
            return {"compensated": workflow.outputs.get("compensated", [])}

        grants = context.repository.list_grants(tenant_id, workflow.workflow_id)
        device_id = workflow.outputs.get("device_id")
        plan = onboarding.compensation_plan([grant.system for grant in grants], device_id)
        if plan.revoke:
            context.repository.revoke_grants(tenant_id, workflow.workflow_id, plan.revoke)
        if plan.release_device_id:
            context.repository.release_device(
                tenant_id, str(workflow.outputs.get("device_model", "")), plan.release_device_id, workflow.workflow_id
            )

        failed_step, failure_text = _describe_failure(_with_recorded_cause(failure, workflow), cancelled)
        status = WorkflowStatus.CANCELLED if cancelled else WorkflowStatus.FAILED
        context.repository.record_step(
            tenant_id,
            workflow.workflow_id,
            context.step("compensate", StepStatus.COMPENSATED, revoked=list(plan.revoke), released=plan.release_device_id),
            audit=context.audit(tenant_id, "workflow.compensated", "workflow", workflow.workflow_id, status=status.value),
            status=status,
            failure=failure_text,
            outputs={"compensated": list(plan.steps), "granted_access": [], "device_id": None},
        )
        undone = ", ".join(plan.revoke) or "none"
        context.note(
            tenant_id,
            workflow.ticket_id,
            f"{workflow.workflow_id}-compensate",
            f"Onboarding stopped: {failure_text} Undone: access revoked ({undone})"
            + (f", device {plan.release_device_id} released." if plan.release_device_id else "."),
            f"온보딩이 중단되었습니다: {failure_text} 되돌린 작업: 권한 회수({undone})"
            + (f", 장비 {plan.release_device_id} 반납." if plan.release_device_id else "."),
        )
        context.publish(
            WorkflowFailed,
            tenant_id,
            workflow.ticket_id,
            workflow_id=workflow.workflow_id,
            kind="onboarding",
            failed_step=failed_step,
            cancelled=cancelled,
            compensated=list(plan.steps),
        )
        logger.info(
            "onboarding compensated",
            extra={"tenant_id": tenant_id, "workflow_id": workflow.workflow_id, "steps": list(plan.steps)},
        )
        return {"compensated": list(plan.steps), "failed_step": failed_step}

    # Partner answers.

    def answer_purchase(self, tenant_id: str, purchase_request_id: str, delivered_device_id: str | None, reason: str | None) -> bool:
        """Complete the waiting purchase task; return False when nothing waits for this id."""
        callback = self._context.repository.take_callback(tenant_id, "purchase", purchase_request_id)
        if callback is None:
            return False
        if delivered_device_id:
            return self._context.engine.succeed(callback.task_token, {"device_id": delivered_device_id})
        cause = f"the ERP rejected purchase {purchase_request_id}: {reason or 'no reason given'}"
        workflow = self._context.repository.get_workflow(tenant_id, callback.workflow_id)
        self._record(workflow, "request_purchase", StepStatus.FAILED, {"purchase_request_id": purchase_request_id, "cause": cause})
        return self._context.engine.fail(callback.task_token, "Onboarding.PurchaseRejected", cause)

    def answer_training(self, tenant_id: str, enrolment_id: str, enrolled: bool, reason: str | None) -> bool:
        callback = self._context.repository.take_callback(tenant_id, "training", enrolment_id)
        if callback is None:
            return False
        workflow = self._context.repository.get_workflow(tenant_id, callback.workflow_id)
        if enrolled:
            self._completed(
                workflow,
                "enrol_training",
                {"enrolment_id": enrolment_id},
                f"Training enrolment {enrolment_id} confirmed by the learning system.",
                f"교육 등록 {enrolment_id}이(가) 확인되었습니다.",
                outputs={"enrolment_id": enrolment_id},
            )
            return self._context.engine.succeed(callback.task_token, {"enrolment_id": enrolment_id, "enrolled": True})
        cause = f"the learning system rejected enrolment {enrolment_id}: {reason or 'no reason given'}"
        self._record(workflow, "enrol_training", StepStatus.FAILED, {"enrolment_id": enrolment_id, "cause": cause})
        return self._context.engine.fail(callback.task_token, "Onboarding.TrainingRejected", cause)

    # Cancel.

    def cancel(self, workflow: Workflow) -> Workflow:
        """Stop a running onboarding and compensate what it did."""
        context = self._context
        if workflow.execution_arn:
            context.engine.stop(workflow.execution_arn, "cancelled through the API")
        self._close_waiting_tasks(workflow)
        self.compensate(
            {"tenant_id": workflow.tenant_id, "workflow_id": workflow.workflow_id, "ticket_id": workflow.ticket_id},
            None,
            cancelled=True,
        )
        return context.repository.get_workflow(workflow.tenant_id, workflow.workflow_id)

    def _close_waiting_tasks(self, workflow: Workflow) -> None:
        """Fail the tasks that wait for partners or approvers, so nothing acts on a cancelled workflow.

        On AWS the tokens of a stopped execution are already closed and the calls return
        False. NOTE: moto 5.2 keeps a stopped execution RUNNING until its waiting task is
        answered, and these answers let it reach ABORTED.
        """
        context = self._context
        tenant_id, workflow_id = workflow.tenant_id, workflow.workflow_id
        tokens = []
        for kind, callback_id in (
            ("purchase", onboarding.purchase_request_id_for(workflow_id)),
            ("training", onboarding.enrolment_id_for(workflow_id)),
        ):
            callback = context.repository.take_callback(tenant_id, kind, callback_id)
            if callback is not None:
                tokens.append(callback.task_token)
        approval_id = onboarding.approval_id_for(workflow_id)
        for field in ("decision_task_token", "parent_task_token"):
            token = context.repository.get_task_token(tenant_id, approval_id, field)
            if token is not None:
                tokens.append(token)
        if context.repository.get_task_token(tenant_id, approval_id, "parent_task_token") is not None:
            context.engine.stop(execution_arn_for(context.state_machines.approval_arn, approval_id), "onboarding cancelled")
        for token in tokens:
            context.engine.fail(token, "Workflow.Cancelled", "the workflow was cancelled through the API")
        self._cancel_pending_approval(tenant_id, approval_id)

    def _cancel_pending_approval(self, tenant_id: str, approval_id: str) -> None:
        """Take a pending approval of a cancelled workflow off its approver's list, so that no one can decide it."""
        context = self._context
        try:
            approval = context.repository.get_approval(tenant_id, approval_id)
        except NotFoundError:
            return
        if approval.status != ApprovalStatus.PENDING:
            return
        now = context.clock()
        cancelled = approval.model_copy(update={
            "status": ApprovalStatus.CANCELLED, "decided_by": WORKFLOW_ACTOR.user_id, "decided_at": now,
            "version": approval.version + 1,
            "history": [*approval.history, {"at": now.isoformat(), "action": "cancelled", "by": WORKFLOW_ACTOR.user_id}],
        })
        try:
            context.repository.save_approval(
                cancelled,
                approval.version,
                context.audit(tenant_id, "approval.cancelled", "approval", approval_id, status="cancelled"),
            )
        except VersionConflictError:
            # A person decided it at the same moment. The decision is kept, and the workflow still stops.
            logger.info("approval decided while its workflow was cancelled", extra={"tenant_id": tenant_id, "approval_id": approval_id})

    # Internals.

    def _workflow(self, workflow_ref: dict[str, Any]) -> Workflow:
        return self._context.repository.get_workflow(str(workflow_ref["tenant_id"]), str(workflow_ref["workflow_id"]))

    def _load(self, workflow_ref: dict[str, Any]) -> tuple[Workflow, Employee, RoleTemplate]:
        workflow = self._workflow(workflow_ref)
        employee = Employee.model_validate(workflow.outputs["employee"])
        template = self._context.repository.get_role_template(workflow.tenant_id, employee.role)
        if template is None:
            raise StepFailedError("Onboarding.RoleTemplateMissing", f"role template {employee.role} was removed")
        return workflow, employee, template

    def _record(self, workflow: Workflow, step: str, status: StepStatus, detail: dict[str, Any]) -> None:
        context = self._context
        context.repository.record_step(workflow.tenant_id, workflow.workflow_id, context.step(step, status, **detail))
        context.publish(
            WorkflowStepCompleted,
            workflow.tenant_id,
            workflow.ticket_id,
            workflow_id=workflow.workflow_id,
            kind="onboarding",
            step=step,
            outcome=status.value,
        )

    def _completed(
        self,
        workflow: Workflow,
        step: str,
        detail: dict[str, Any],
        english: str,
        korean: str,
        outputs: dict[str, Any] | None = None,
    ) -> None:
        context = self._context
        context.repository.record_step(
            workflow.tenant_id,
            workflow.workflow_id,
            context.step(step, StepStatus.COMPLETED, **detail),
            audit=context.audit(workflow.tenant_id, f"workflow.{step}", "workflow", workflow.workflow_id, **_flat(detail)),
            outputs=outputs,
        )
        context.note(workflow.tenant_id, workflow.ticket_id, f"{workflow.workflow_id}-{step}", english, korean)
        context.publish(
            WorkflowStepCompleted,
            workflow.tenant_id,
            workflow.ticket_id,
            workflow_id=workflow.workflow_id,
            kind="onboarding",
            step=step,
            outcome="completed",
        )


def _flat(detail: dict[str, Any]) -> dict[str, str]:
    return {key: ",".join(map(str, value)) if isinstance(value, list) else str(value) for key, value in detail.items()}


def _with_recorded_cause(failure: dict[str, Any] | None, workflow: Workflow) -> dict[str, Any] | None:
    """Fill a missing Cause from the last failed step this service recorded.

    NOTE: moto 5.2 drops the cause of SendTaskFailure (the Catch output has Cause null); AWS
    passes it through. Steps that fail record their cause in the history, so it is not lost.
    """
    if not failure or failure.get("Cause"):
        return failure
    for entry in reversed(workflow.history):
        if entry.status == StepStatus.FAILED and entry.detail.get("cause"):
            return {**failure, "Cause": entry.detail["cause"]}
    return failure


def _describe_failure(failure: dict[str, Any] | None, cancelled: bool) -> tuple[str | None, str]:
    """Return the failed step and a sentence for the requester from a Catch's error output."""
    if cancelled:
        return None, "it was cancelled."
    if not failure:
        return None, "a step failed."
    error = str(failure.get("Error") or "States.TaskFailed")
    cause = str(failure.get("Cause") or "")
    failed_step = {
        "Onboarding.TrainingRejected": "enrol_training",
        "Onboarding.PurchaseRejected": "request_purchase",
        "States.Timeout": "timeout",
    }.get(error, error.split(".", 1)[-1].lower())
    return failed_step, f"{error}: {cause[:300]}" if cause else f"{error}."
