"""The workflow worker: runs the step that a state machine's task message names.

Steps answer Step Functions in one of three ways: at once with SendTaskSuccess (the step's
result), later (the step stored the task token and a partner's answer or a person's decision
completes it), or with SendTaskFailure when the step failed for good. A DependencyError is
raised instead, so the queue delivers the message again; every step is safe to repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.domain.errors import DomainError, NotFoundError
from functions.domain.workflows.approval_service import ApprovalService
from functions.domain.workflows.context import StepFailedError
from functions.domain.workflows.escalation_service import EscalationService
from functions.domain.workflows.onboarding_service import OnboardingService
from functions.domain.workflows.ports import WorkflowEngine

logger = logging.getLogger(f"servicedesk.{__name__}")


class WorkerMessage(BaseModel):
    """Body of a message on the worker queue, as the state machines write it."""

    model_config = ConfigDict(extra="forbid")

    step: str
    task_token: str | None = None
    workflow: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    purchase: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None


class UnknownStepError(DomainError):
    code = "unknown_step"


class WorkflowWorker:
    def __init__(
        self,
        onboarding: OnboardingService,
        approvals: ApprovalService,
        escalations: EscalationService,
        engine: WorkflowEngine,
    ) -> None:
        self._engine = engine
        # Steps whose result answers the task at once.
        self._immediate: dict[str, Callable[[WorkerMessage], dict[str, Any]]] = {
            "grant_access": lambda m: onboarding.grant_access(_required(m.workflow)),
            "grant_privileged_access": lambda m: onboarding.grant_privileged_access(_required(m.workflow), m.approval or {}),
            "reserve_device": lambda m: onboarding.reserve_device(_required(m.workflow)),
            "assign_purchased_device": lambda m: onboarding.assign_purchased_device(_required(m.workflow), m.purchase or {}),
            "complete": lambda m: onboarding.complete(_required(m.workflow)),
            "compensate": lambda m: onboarding.compensate(_required(m.workflow), m.failure),
        }
        # Steps that keep the token and answer later.
        self._deferred: dict[str, Callable[[WorkerMessage, str], None]] = {
            "request_approval": lambda m, token: approvals.request(_required(m.workflow), token),
            "request_purchase": lambda m, token: onboarding.request_purchase(_required(m.workflow), token),
            "enrol_training": lambda m, token: onboarding.enrol_training(_required(m.workflow), token),
            "open_approval": lambda m, token: approvals.open(_required(m.approval), token),
            "escalate_approval": lambda m, token: approvals.escalate(_required(m.approval), token),
            "expire_approval": lambda m, token: approvals.expire(_required(m.approval), token),
            "await_pickup": lambda m, token: escalations.await_pickup(_required(m.escalation), token),
        }
        # Messages without a token.
        self._notices: dict[str, Callable[[WorkerMessage], None]] = {
            "approval_finished": lambda m: approvals.finished(_required(m.approval), m.decision or {}),
            "escalation_unacknowledged": lambda m: escalations.unacknowledged(_required(m.escalation)),
        }

    @property
    def steps(self) -> frozenset[str]:
        return frozenset({*self._immediate, *self._deferred, *self._notices})

    def handle(self, message: WorkerMessage) -> str:
        """Run one step; return what happened: succeeded, waiting, failed or done."""
        if message.step in self._notices:
            self._notices[message.step](message)
            return "done"
        if message.task_token is None:
            raise UnknownStepError(f"step {message.step} needs a task token", step=message.step)
        token = message.task_token
        try:
            if message.step in self._immediate:
                result = self._immediate[message.step](message)
                self._engine.succeed(token, result)
                return "succeeded"
            if message.step in self._deferred:
                self._deferred[message.step](message, token)
                return "waiting"
        except StepFailedError as failure:
            self._fail(message, token, failure.error, failure.cause)
            return "failed"
        except NotFoundError as missing:
            self._fail(message, token, "Workflow.NotFound", missing.message)
            return "failed"
        raise UnknownStepError(f"unknown workflow step {message.step}", step=message.step)

    def _fail(self, message: WorkerMessage, token: str, error: str, cause: str) -> None:
        logger.warning("workflow step failed", extra={"step": message.step, "error": error})
        self._engine.fail(token, error, cause)


def _required(value: dict[str, Any] | None) -> dict[str, Any]:
    if value is None:
        raise StepFailedError("Workflow.InvalidMessage", "the task message lacks the workflow, approval or escalation reference")
    return value
