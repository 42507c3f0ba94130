"""The packaged template carries the state machines, their worker functions and their permissions."""

from __future__ import annotations

import json

import pytest

from infra.workflow_definitions import definition_files, load_definition
from tests.infra.conftest import PackagedApp

pytestmark = pytest.mark.package

STATE_MACHINES = {
    "OnboardingStateMachine": "onboarding.asl.json",
    "ApprovalStateMachine": "approval.asl.json",
    "EscalationStateMachine": "escalation.asl.json",
}


def test_state_machines_inline_definitions(packaged: PackagedApp) -> None:
    resources = packaged.template["Resources"]

    assert sorted(STATE_MACHINES.values()) == sorted(path.name for path in definition_files())
    for logical_id, file_name in STATE_MACHINES.items():
        template_text, variables = resources[logical_id]["Properties"]["DefinitionString"]["Fn::Sub"]
        assert json.loads(template_text) == load_definition(file_name)
        assert variables["WorkerQueueUrl"] == {"Ref": "WorkflowWorkerQueue"}


@pytest.mark.parametrize(
    ("function_id", "queue_id"),
    [
        ("HandleWorkflowTasks", "WorkflowWorkerQueue"),
        ("HandlePartnerEvents", "PartnerEventsQueue"),
        ("HandleEscalations", "EscalationsQueue"),
    ],
)
def test_workflow_consumers_report_batch_failures(packaged: PackagedApp, function_id: str, queue_id: str) -> None:
    properties = packaged.template["Resources"][function_id]["Properties"]
    event = properties["Events"][f"{function_id}SqsEventSource"]["Properties"]

    assert event["Queue"] == {"Fn::Sub": f"${{{queue_id}.Arn}}"}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["Handler"].startswith("app.")


def test_functions_know_state_machines(packaged: PackagedApp) -> None:
    variables = packaged.template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]

    assert variables["ONBOARDING_STATE_MACHINE_ARN"] == {"Ref": "OnboardingStateMachine"}
    assert variables["APPROVAL_STATE_MACHINE_ARN"] == {"Ref": "ApprovalStateMachine"}
    assert variables["ESCALATION_STATE_MACHINE_ARN"] == {"Ref": "EscalationStateMachine"}
    assert variables["WORKFLOW_WORKER_QUEUE_URL"] == {"Ref": "WorkflowWorkerQueue"}
