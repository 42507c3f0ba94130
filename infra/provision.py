"""Deploy infra/resources.yaml with CloudFormation and read back its outputs.

The local stack and the integration tests use this against moto, so they run on the same
resources that a deployment creates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.workflow_definitions import inline_definitions

# Object Lock settings of the audit anchor bucket: the template's defaults of
# AuditAnchorLockMode and AuditAnchorRetentionDays, which a test keeps in step.
ANCHOR_LOCK_MODE = "GOVERNANCE"
ANCHOR_RETENTION_DAYS = 365

RESOURCES_TEMPLATE = Path(__file__).with_name("resources.yaml")
DEFAULT_STACK_NAME = "servicedesk-local"


def deploy_resources(cloudformation: Any, stack_name: str = DEFAULT_STACK_NAME) -> dict[str, str]:
    """Create the stack, wait until it is complete, and return its outputs by key."""
    template_body = inline_definitions(RESOURCES_TEMPLATE.read_text("utf-8"))
    cloudformation.create_stack(StackName=stack_name, TemplateBody=template_body)
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    outputs = stack_outputs(cloudformation, stack_name)
    lock_anchor_bucket(outputs["AuditAnchorBucketName"])
    return outputs


def lock_anchor_bucket(bucket: str) -> None:
    """Turn on the anchor bucket's versioning and Object Lock, as the template does on AWS.

    NOTE: moto 5.2's CloudFormation ignores VersioningConfiguration, ObjectLockEnabled and
    ObjectLockConfiguration of AWS::S3::Bucket, so the settings are applied through the S3 API.
    """
    import boto3

    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": ANCHOR_LOCK_MODE, "Days": ANCHOR_RETENTION_DAYS}},
        },
    )


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def environment_for(outputs: dict[str, str]) -> dict[str, str]:
    """Return the function environment variables that point at the deployed resources."""
    return {
        "TABLE_NAME": outputs["TicketsTableName"],
        "IDEMPOTENCY_TABLE_NAME": outputs["IdempotencyTableName"],
        "AUDIT_TABLE_NAME": outputs["AuditTableName"],
        "AUDIT_ANCHOR_BUCKET": outputs["AuditAnchorBucketName"],
        "EVENT_BUS_NAME": outputs["EventBusName"],
        "INTAKE_QUEUE_URL": outputs["IntakeQueueUrl"],
        "WEBHOOKS_QUEUE_URL": outputs["WebhooksQueueUrl"],
        "INSIGHTS_QUEUE_URL": outputs["InsightsQueueUrl"],
        "SENTIMENT_ENDPOINT_NAME": outputs["SentimentEndpointName"],
        "TRIAGE_ENDPOINT_NAME": outputs["TriageEndpointName"],
        "DECISIONS_ENDPOINT_NAME": outputs["DecisionsEndpointName"],
        "RESOLUTION_ENDPOINT_NAME": outputs["ResolutionEndpointName"],
        "WORKFLOW_WORKER_QUEUE_URL": outputs["WorkflowWorkerQueueUrl"],
        "ONBOARDING_STATE_MACHINE_ARN": outputs["OnboardingStateMachineArn"],
        "APPROVAL_STATE_MACHINE_ARN": outputs["ApprovalStateMachineArn"],
        "ESCALATION_STATE_MACHINE_ARN": outputs["EscalationStateMachineArn"],
    }
