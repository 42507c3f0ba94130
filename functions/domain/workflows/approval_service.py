"""Approval use cases: open a request, let the policy or a person decide, escalate, expire,
and report the outcome to the workflow that asked."""

from __future__ import annotations

import logging
from typing import Any

from functions.domain import access as ticket_access
from functions.domain.errors import DomainError
from functions.domain.ports import Page
from functions.domain.workflows import access, onboarding
from functions.domain.workflows.approvals import escalation_target, route_approval
from functions.domain.workflows.context import StepFailedError, WorkflowContext
from functions.domain.workflows.decisions import ApprovalFeatures, decide
from functions.domain.workflows.onboarding import SystemAccess
from functions.models.caller import Caller
from functions.models.events import Actor
from functions.models.workflow_events import ApprovalDecided, ApprovalRequested, WorkflowStepCompleted
from functions.models.workflows import (
    Approval,
    ApprovalStatus,
    AutomatedDecision,
    DecisionOutcome,
    DecisionRequest,
    Employee,
    StepStatus,
    WorkflowStatus,
)

logger = logging.getLogger(f"servicedesk.{__name__}")

POLICY_DECIDER = "decision-policy"
EXPIRY_DECIDER = "expiry"
# Workflows whose compensation took their access back, so no decision may grant it again.
COMPENSATED_STATUSES = frozenset({WorkflowStatus.FAILED, WorkflowStatus.CANCELLED})
# Task token fields of an approval: the parent workflow's waiting task, and the approval
# workflow's own waiting task.
PARENT_TOKEN = "parent_task_token"
DECISION_TOKEN = "decision_task_token"


class ApprovalClosedError(DomainError):
    """The approval was already decided by a person or expired."""

    code = "approval_closed"

    def __init__(self, approval_id: str, status: str) -> None:
        super().__init__(f"approval {approval_id} is already {status}", approval_id=approval_id, status=status)


class ApprovalWorkflowEndedError(DomainError):
    """Error of an overrule that would grant access of a workflow that failed or was cancelled."""

    code = "approval_workflow_ended"

    def __init__(self, approval_id: str, workflow_id: str, status: str) -> None:
        super().__init__(
            f"approval {approval_id} belongs to workflow {workflow_id}, which is {status}, so it cannot grant access",
            approval_id=approval_id,
            workflow_id=workflow_id,
            status=status,
        )


class ApprovalService:
    def __init__(self, context: WorkflowContext) -> None:
        self._context = context

    # Steps of the onboarding and approval workflows.

    def request(self, workflow_ref: dict[str, Any], parent_token: str) -> None:
        """Open the approval of an onboarding's privileged access and start its approval workflow."""
        context = self._context
        tenant_id = str(workflow_ref["tenant_id"])
        workflow = context.repository.get_workflow(tenant_id, str(workflow_ref["workflow_id"]))
        employee = Employee.model_validate(workflow.outputs["employee"])
        template = context.repository.get_role_template(tenant_id, employee.role)
        if template is None:
            raise StepFailedError("Onboarding.RoleTemplateMissing", f"role template {employee.role} was removed")
        privileged = onboarding.plan_access(template, employee).privileged

        approval_id = onboarding.approval_id_for(workflow.workflow_id)
        approval = Approval(
            approval_id=approval_id,
            tenant_id=tenant_id,
            workflow_id=workflow.workflow_id,
            ticket_id=workflow.ticket_id,
            status=ApprovalStatus.PENDING,
            assignee_id=employee.manager_id,
            original_approver_id=employee.manager_id,
            subject={
                "employee_id": employee.employee_id,
                "role": employee.role,
                "department": employee.department,
                "employee_type": employee.employee_type.value,
                "access": [{"system": item.system, "level": item.level} for item in privileged],
            },
            created_at=context.clock(),
        )
        context.repository.create_approval(approval)
        context.repository.set_task_token(tenant_id, approval_id, PARENT_TOKEN, parent_token)
        context.engine.start(
            context.state_machines.approval_arn,
            approval_id,
            {
                "approval": {"tenant_id": tenant_id, "approval_id": approval_id, "workflow_id": workflow.workflow_id},
                "timeout_seconds": context.approval_timeout_seconds,
            },
        )
        context.repository.record_step(
            tenant_id, workflow.workflow_id, context.step("request_approval", StepStatus.WAITING, approval_id=approval_id)
        )

    def open(self, approval_ref: dict[str, Any], task_token: str) -> None:
        """Route the approval and let the policy decide; a human outcome waits for POST .../decision."""
        context = self._context
        approval = self._approval(approval_ref)
        context.repository.set_task_token(approval.tenant_id, approval.approval_id, DECISION_TOKEN, task_token)
        if approval.status != ApprovalStatus.PENDING:
            # A redelivered message after the decision: answer the task again.
            context.engine.succeed(task_token, _decision_output(approval))
            return

        routing = route_approval(approval.original_approver_id, self._lookup(approval.tenant_id), context.clock().date())
        automated = self._decide(approval)
        history = [
            *approval.history,
            {"at": context.clock().isoformat(), "action": "opened", "assignee_id": routing.assignee_id,
             "delegated_from": list(routing.delegated_from), "rule": automated.rule},
        ]
        updated = approval.model_copy(
            update={"assignee_id": routing.assignee_id, "automated": automated, "history": history, "version": approval.version + 1}
        )

        if automated.outcome == DecisionOutcome.HUMAN:
            context.repository.save_approval(
                updated,
                approval.version,
                context.audit(approval.tenant_id, "approval.opened", "approval", approval.approval_id,
                              assignee_id=routing.assignee_id, rule=automated.rule),
            )
            self._announce(updated, automated.rule)
            return

        status = ApprovalStatus.APPROVED if automated.outcome == DecisionOutcome.APPROVE else ApprovalStatus.REJECTED
        decided = updated.model_copy(
            update={"status": status, "decided_by": POLICY_DECIDER, "decided_at": context.clock(), "version": updated.version + 1}
        )
        self._store_decision(decided, approval.version, context.audit(
            approval.tenant_id, "approval.decided", "approval", approval.approval_id,
            status=status.value, decided_by=POLICY_DECIDER, rule=automated.rule,
        ))
        context.engine.succeed(task_token, _decision_output(decided))

    def escalate(self, approval_ref: dict[str, Any], task_token: str) -> None:
        """Hand an unanswered approval to the assignee's manager (or their delegate)."""
        context = self._context
        approval = self._approval(approval_ref)
        context.repository.set_task_token(approval.tenant_id, approval.approval_id, DECISION_TOKEN, task_token)
        if approval.status != ApprovalStatus.PENDING:
            context.engine.succeed(task_token, _decision_output(approval))
            return
        target = escalation_target(approval.assignee_id, self._lookup(approval.tenant_id), context.clock().date())
        assignee = target.assignee_id if target else approval.assignee_id
        history = [*approval.history, {"at": context.clock().isoformat(), "action": "escalated",
                                       "from": approval.assignee_id, "assignee_id": assignee}]
        escalated = approval.model_copy(
            update={"assignee_id": assignee, "escalation_level": approval.escalation_level + 1,
                    "history": history, "version": approval.version + 1}
        )
        context.repository.save_approval(escalated, approval.version, context.audit(
            approval.tenant_id, "approval.escalated", "approval", approval.approval_id,
            assignee_id=assignee, escalation_level=escalated.escalation_level,
        ))
        self._announce(escalated, "escalated.timeout")
        logger.info("approval escalated", extra={"tenant_id": approval.tenant_id, "approval_id": approval.approval_id})

    def expire(self, approval_ref: dict[str, Any], task_token: str) -> None:
        context = self._context
        approval = self._approval(approval_ref)
        if approval.status == ApprovalStatus.PENDING:
            approval_before = approval
            approval = approval.model_copy(update={
                "status": ApprovalStatus.EXPIRED, "decided_by": EXPIRY_DECIDER, "decided_at": context.clock(),
                "version": approval.version + 1,
            })
            self._store_decision(approval, approval_before.version, context.audit(
                approval.tenant_id, "approval.expired", "approval", approval.approval_id, status="expired"
            ))
        context.engine.succeed(task_token, _decision_output(approval))

    def finished(self, approval_ref: dict[str, Any], decision: dict[str, Any]) -> None:
        """Report the approval's outcome to the waiting parent workflow."""
        context = self._context
        approval = self._approval(approval_ref)
        parent_token = context.repository.get_task_token(approval.tenant_id, approval.approval_id, PARENT_TOKEN)
        if parent_token is None:
            logger.warning("approval has no waiting workflow", extra={"approval_id": approval.approval_id})
            return
        context.engine.succeed(parent_token, {**decision, "approval_id": approval.approval_id})

    # API.

    def list_for(self, caller: Caller, assignee_id: str, limit: int, cursor: str | None) -> Page:
        ticket_access.enforce(access.list_approvals_denial(caller, assignee_id), caller, "list_approvals")
        return self._context.repository.list_pending_approvals(caller.tenant_id, assignee_id, limit, cursor)

    def decide(self, caller: Caller, approval_id: str, request: DecisionRequest) -> Approval:
        """Record a person's decision; on an automatic decision it is an overrule and a training label."""
        context = self._context
        approval = context.repository.get_approval(caller.tenant_id, approval_id)
        ticket_access.enforce(access.decide_denial(caller, approval), caller, "decide_approval", approval_id, "approval")
        status = ApprovalStatus.APPROVED if request.decision == "approve" else ApprovalStatus.REJECTED

        if approval.status == ApprovalStatus.PENDING:
            decided = approval.model_copy(update={
                "status": status, "decided_by": caller.user_id, "decision_comment": request.comment,
                "decided_at": context.clock(), "version": approval.version + 1,
                "history": [*approval.history, {"at": context.clock().isoformat(), "action": "decided", "by": caller.user_id}],
            })
            self._store_decision(decided, approval.version, context.audit_by(
                Actor(user_id=caller.user_id, role=caller.role), caller.tenant_id, "approval.decided", "approval",
                approval_id, status=status.value, decided_by=caller.user_id,
            ))
            token = context.repository.get_task_token(caller.tenant_id, approval_id, DECISION_TOKEN)
            if token is None or not context.engine.succeed(token, _decision_output(decided)):
                logger.warning("approval decided but its workflow no longer waits", extra={"approval_id": approval_id})
            return decided

        if approval.decided_by != POLICY_DECIDER:
            repeated = approval.decided_by == caller.user_id and approval.status == status
            if repeated and approval.decision_comment == request.comment:
                # The same person sent the same decision again, as a client's retry does.
                return approval
            raise ApprovalClosedError(approval_id, approval.status.value)
        if approval.status == status:
            return approval
        if status == ApprovalStatus.APPROVED:
            self._ensure_not_compensated(approval)
        return self._overrule(caller, approval, status, request.comment)

    # Internals.

    def _overrule(self, caller: Caller, approval: Approval, status: ApprovalStatus, comment: str | None) -> Approval:
        """Reverse the policy's decision and its effect on the employee's privileged access."""
        context = self._context
        overruled = approval.model_copy(update={
            "status": status, "decided_by": caller.user_id, "decision_comment": comment, "overruled": True,
            "decided_at": context.clock(), "version": approval.version + 1,
            "history": [*approval.history, {"at": context.clock().isoformat(), "action": "overruled", "by": caller.user_id,
                                            "from": approval.status.value, "to": status.value}],
        })
        self._store_decision(overruled, approval.version, context.audit_by(
            Actor(user_id=caller.user_id, role=caller.role), caller.tenant_id, "approval.overruled", "approval",
            approval.approval_id, status=status.value, previous=approval.status.value,
        ))
        access_items = [SystemAccess(item["system"], item["level"]) for item in approval.subject.get("access", [])]
        if status == ApprovalStatus.REJECTED:
            context.repository.revoke_grants(caller.tenant_id, approval.workflow_id, [item.system for item in access_items])
        else:
            context.repository.put_grants(caller.tenant_id, approval.workflow_id, str(approval.subject["employee_id"]), access_items)
            if self._workflow_status(approval) in COMPENSATED_STATUSES:
                # A cancel finished its compensation while the access was written, so take the access back.
                context.repository.revoke_grants(caller.tenant_id, approval.workflow_id, [item.system for item in access_items])
                logger.warning(
                    "overrule raced a cancel, so its access was revoked",
                    extra={"tenant_id": caller.tenant_id, "approval_id": approval.approval_id, "workflow_id": approval.workflow_id},
                )
        context.note(
            caller.tenant_id, approval.ticket_id, f"{approval.approval_id}-overruled-{overruled.version}",
            f"Approval {approval.approval_id} was overruled by {caller.user_id}: now {status.value}.",
            f"승인 {approval.approval_id}의 자동 결정을 {caller.user_id}님이 뒤집었습니다: 현재 {status.value}.",
        )
        return overruled

    def _workflow_status(self, approval: Approval) -> WorkflowStatus:
        return self._context.repository.get_workflow(approval.tenant_id, approval.workflow_id).status

    def _ensure_not_compensated(self, approval: Approval) -> None:
        """Raise ApprovalWorkflowEndedError when the approval's workflow failed or was cancelled."""
        status = self._workflow_status(approval)
        if status in COMPENSATED_STATUSES:
            raise ApprovalWorkflowEndedError(approval.approval_id, approval.workflow_id, status.value)

    def _store_decision(self, approval: Approval, expected_version: int, audit: Any) -> None:
        context = self._context
        context.repository.save_approval(approval, expected_version, audit)
        context.repository.record_decision(approval.tenant_id, approval)
        context.publish(
            ApprovalDecided, approval.tenant_id, approval.ticket_id, workflow_id=approval.workflow_id, kind="onboarding",
            approval_id=approval.approval_id, status=approval.status.value, decided_by=approval.decided_by or "",
            rule=approval.automated.rule if approval.automated else None, overruled=approval.overruled,
        )
        by_policy = approval.automated is not None and approval.decided_by == POLICY_DECIDER
        reason_en = approval.automated.reason_en if by_policy and approval.automated else ""
        reason_ko = approval.automated.reason_ko if by_policy and approval.automated else ""
        context.note(
            approval.tenant_id, approval.ticket_id, f"{approval.approval_id}-{approval.status.value}-{approval.version}",
            f"Approval {approval.approval_id}: {approval.status.value} by {approval.decided_by}. {reason_en}".strip(),
            f"승인 {approval.approval_id}: {approval.decided_by}에 의해 {approval.status.value}. {reason_ko}".strip(),
        )

    def _announce(self, approval: Approval, rule: str) -> None:
        context = self._context
        context.publish(
            ApprovalRequested, approval.tenant_id, approval.ticket_id, workflow_id=approval.workflow_id, kind="onboarding",
            approval_id=approval.approval_id, assignee_id=approval.assignee_id,
            escalation_level=approval.escalation_level, rule=rule,
        )
        context.publish(
            WorkflowStepCompleted, approval.tenant_id, approval.ticket_id, workflow_id=approval.workflow_id,
            kind="onboarding", step="request_approval", outcome="waiting",
        )
        context.note(
            approval.tenant_id, approval.ticket_id, f"{approval.approval_id}-assigned-{approval.escalation_level}",
            f"Privileged access waits for the approval of {approval.assignee_id}.",
            f"관리자 권한이 {approval.assignee_id}님의 승인을 기다리고 있습니다.",
        )

    def _decide(self, approval: Approval) -> AutomatedDecision:
        """Decide every requested access; the strictest outcome wins (reject, then human, then approve)."""
        subject = approval.subject
        items = subject.get("access", [])
        decisions = [
            decide(
                ApprovalFeatures(
                    system=item["system"], level=item["level"], role=subject["role"], department=subject["department"],
                    employee_type=subject["employee_type"], in_role_template=True, privileged_count=len(items),
                ),
                self._context.decision_policy,
                self._context.decision_endpoint,
            )
            for item in items
        ]
        for outcome in (DecisionOutcome.REJECT, DecisionOutcome.HUMAN):
            for decision in decisions:
                if decision.outcome == outcome:
                    return decision
        return min(decisions, key=lambda decision: decision.score or 0.0)

    def _approval(self, approval_ref: dict[str, Any]) -> Approval:
        return self._context.repository.get_approval(str(approval_ref["tenant_id"]), str(approval_ref["approval_id"]))

    def _lookup(self, tenant_id: str) -> Any:
        return lambda user_id: self._context.repository.get_person(tenant_id, user_id)


def _decision_output(approval: Approval) -> dict[str, Any]:
    return {"status": approval.status.value, "approval_id": approval.approval_id, "decided_by": approval.decided_by}
