"""Composition of the workflow use cases, once per container and on first use.

Kept apart from functions/wiring.py, which it builds on; wiring.reset() also resets this module.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from functions import wiring
from functions.adapters.clients import client
from functions.adapters.eventbridge import EventBridgePublisher
from functions.adapters.model_endpoints import InProcessEndpoint, SageMakerEndpoint
from functions.adapters.stepfunctions import StepFunctionsEngine
from functions.adapters.workflows_dynamodb import DynamoWorkflowRepository
from functions.domain.ports import ModelEndpoint
from functions.domain.workflows.admin import WorkflowAdmin
from functions.domain.workflows.approval_service import ApprovalService
from functions.domain.workflows.context import StateMachines, WorkflowContext
from functions.domain.workflows.decisions import DecisionPolicy
from functions.domain.workflows.escalation_service import EscalationService
from functions.domain.workflows.onboarding_service import OnboardingService
from functions.domain.workflows.worker import WorkflowWorker
from functions.settings import get_settings

DECISIONS_MODEL = "decisions"


@lru_cache(maxsize=1)
def workflow_repository() -> DynamoWorkflowRepository:
    settings = get_settings()
    return DynamoWorkflowRepository(client("dynamodb"), settings.table_name, audit=wiring.audit_log())


@lru_cache(maxsize=1)
def engine() -> StepFunctionsEngine:
    return StepFunctionsEngine(client("stepfunctions"))


@lru_cache(maxsize=1)
def decision_endpoint() -> ModelEndpoint:
    """Return the decision model: a SageMaker endpoint when deployed, in-process when local."""
    settings = get_settings()
    if settings.model_backend == "local":
        return InProcessEndpoint(DECISIONS_MODEL, Path(settings.model_artifacts_dir) / DECISIONS_MODEL)
    return SageMakerEndpoint(client("sagemaker-runtime"), settings.decisions_endpoint_name, DECISIONS_MODEL)


@lru_cache(maxsize=1)
def context() -> WorkflowContext:
    settings = get_settings()
    return WorkflowContext(
        repository=workflow_repository(),
        engine=engine(),
        publisher=EventBridgePublisher(client("events"), settings.event_bus_name, settings.workflow_event_source),
        tickets=wiring.ticket_service(),
        state_machines=StateMachines(
            onboarding_arn=settings.onboarding_state_machine_arn,
            approval_arn=settings.approval_state_machine_arn,
            escalation_arn=settings.escalation_state_machine_arn,
        ),
        decision_endpoint=decision_endpoint(),
        decision_policy=DecisionPolicy(approve_threshold=settings.decision_approve_threshold),
        approval_timeout_seconds=settings.approval_timeout_seconds,
        escalation_ack_timeout_seconds=settings.escalation_ack_timeout_seconds,
        ticket_lookup=wiring.repository().get_ticket,
    )


def onboarding_service() -> OnboardingService:
    return OnboardingService(context())


def approval_service() -> ApprovalService:
    return ApprovalService(context())


def escalation_service() -> EscalationService:
    return EscalationService(context())


def workflow_admin() -> WorkflowAdmin:
    return WorkflowAdmin(context(), onboarding_service())


def worker() -> WorkflowWorker:
    return WorkflowWorker(onboarding_service(), approval_service(), escalation_service(), engine())


_CACHED = (workflow_repository, engine, decision_endpoint, context)


def reset() -> None:
    for cached in _CACHED:
        cached.cache_clear()
