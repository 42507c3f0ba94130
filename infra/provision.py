"""Deploy infra/resources.yaml with CloudFormation and read back its outputs.

The local stack and the integration tests use this against moto, so they run on the same
resources that a deployment creates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESOURCES_TEMPLATE = Path(__file__).with_name("resources.yaml")
DEFAULT_STACK_NAME = "servicedesk-local"


def deploy_resources(cloudformation: Any, stack_name: str = DEFAULT_STACK_NAME) -> dict[str, str]:
    """Create the stack, wait until it is complete, and return its outputs by key."""
    cloudformation.create_stack(StackName=stack_name, TemplateBody=RESOURCES_TEMPLATE.read_text("utf-8"))
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    return stack_outputs(cloudformation, stack_name)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def environment_for(outputs: dict[str, str]) -> dict[str, str]:
    """Return the function environment variables that point at the deployed resources."""
    return {
        "TABLE_NAME": outputs["TicketsTableName"],
        "IDEMPOTENCY_TABLE_NAME": outputs["IdempotencyTableName"],
        "AUDIT_TABLE_NAME": outputs["AuditTableName"],
        "EVENT_BUS_NAME": outputs["EventBusName"],
        "INTAKE_QUEUE_URL": outputs["IntakeQueueUrl"],
        "WEBHOOKS_QUEUE_URL": outputs["WebhooksQueueUrl"],
        "SENTIMENT_ENDPOINT_NAME": outputs["SentimentEndpointName"],
        "TRIAGE_ENDPOINT_NAME": outputs["TriageEndpointName"],
    }
