"""The packaged template, translated from SAM, deployed with CloudFormation into moto."""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import Any

import pytest

from tests.infra.conftest import PackagedApp, translate

pytestmark = pytest.mark.package

STACK_NAME = "servicedesk-packaged"
ARTIFACT_BUCKET = "servicedesk-artifacts"
ENDPOINT_NAME = "servicedesk-sentiment-v2"
USER_POOL_ARN = "arn:aws:cognito-idp:ap-northeast-2:210987654321:userpool/ap-northeast-2_Example1"
# NOTE: moto 5.2's CloudFormation warns and creates nothing for these types, so the queue
# policy that lets EventBridge send to the escalations queue, and the partner usage plan and API
# keys, are checked only by the template tests and cfn-lint.
SKIPPED_BY_MOTO = {
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
}
# NOTE: moto 5.2 ignores a RestApi's Body (the OpenAPI document SAM writes), so the API has no
# methods and a Deployment fails with "The REST API doesn't contain any methods". moto does not
# support a Stage at all. Both are left out here, and the routes are checked on the template.
NOT_DEPLOYABLE_IN_MOTO = {"AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage"}


@pytest.fixture(scope="module")
def stack(packaged: PackagedApp, moto_environment: dict[str, str]) -> Any:
    """Deploy the stack; return its resources, outputs and clients, and the skipped types."""
    import boto3
    from moto import mock_aws

    with warnings.catch_warnings(record=True) as caught, mock_aws():
        warnings.simplefilter("always")
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=ARTIFACT_BUCKET,
            CreateBucketConfiguration={"LocationConstraint": moto_environment["AWS_DEFAULT_REGION"]},
        )
        s3.upload_file(str(packaged.deployment_zip), ARTIFACT_BUCKET, "deployment.zip")
        template = translate(packaged.sam_template(), f"s3://{ARTIFACT_BUCKET}/deployment.zip")
        for logical_id in [key for key, value in template["Resources"].items() if value["Type"] in NOT_DEPLOYABLE_IN_MOTO]:
            del template["Resources"][logical_id]

        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(template),
            Parameters=[
                {"ParameterKey": "SentimentEndpointName", "ParameterValue": ENDPOINT_NAME},
                {"ParameterKey": "UserPoolArn", "ParameterValue": USER_POOL_ARN},
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName=STACK_NAME, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        skipped = {
            match.group(1)
            for warning in caught
            if (match := re.search(r"Tried to parse (\S+) but it's not supported", str(warning.message)))
        }
        yield {
            "template": template,
            "resources": {
                summary["LogicalResourceId"]: summary
                for summary in cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
            },
            "outputs": {
                output["OutputKey"]: output["OutputValue"]
                for output in cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]["Outputs"]
            },
            "skipped": skipped,
            "lambda": boto3.client("lambda"),
            "iam": boto3.client("iam"),
            "sqs": boto3.client("sqs"),
            "dynamodb": boto3.client("dynamodb"),
            "events": boto3.client("events"),
        }


def function_configuration(stack: dict[str, Any], logical_id: str) -> dict[str, Any]:
    name = stack["resources"][logical_id]["PhysicalResourceId"]
    return stack["lambda"].get_function_configuration(FunctionName=name)


def test_stack_creates_every_supported_resource(stack: dict[str, Any]) -> None:
    # The stack names an existing user pool, so the resources of the CreateUserPool condition
    # (the pool, its groups, clients and token trigger) are not created.
    expected = {
        logical_id
        for logical_id, resource in stack["template"]["Resources"].items()
        if resource["Type"] not in SKIPPED_BY_MOTO and resource.get("Condition") is None
    }
    conditional = {
        logical_id for logical_id, resource in stack["template"]["Resources"].items() if resource.get("Condition")
    }

    assert stack["skipped"] == SKIPPED_BY_MOTO
    assert expected <= set(stack["resources"])
    assert conditional >= {"UserPool", "WebClient", "PreTokenGeneration"}
    assert not conditional & set(stack["resources"])
    for logical_id in expected:
        assert stack["resources"][logical_id]["ResourceStatus"] == "CREATE_COMPLETE", logical_id


def test_functions_get_stack_resource_names(stack: dict[str, Any]) -> None:
    outputs = stack["outputs"]

    for logical_id in ("APIHandler", "HandleIntake", "RelayOutbox", "DeliverWebhooks"):
        configuration = function_configuration(stack, logical_id)
        variables = configuration["Environment"]["Variables"]
        assert configuration["Runtime"] == "python3.11"
        assert variables["TABLE_NAME"] == outputs["TicketsTableName"]
        assert variables["IDEMPOTENCY_TABLE_NAME"] == outputs["IdempotencyTableName"]
        assert variables["EVENT_BUS_NAME"] == outputs["EventBusName"]
        assert variables["INTAKE_QUEUE_URL"] == outputs["IntakeQueueUrl"]
        assert variables["WEBHOOKS_QUEUE_URL"] == outputs["WebhooksQueueUrl"]
        assert variables["SENTIMENT_ENDPOINT_NAME"] == ENDPOINT_NAME
        assert variables["CALLER_SOURCE"] == "authorizer"
        assert variables["MODEL_BACKEND"] == "sagemaker"

    stack["dynamodb"].describe_table(TableName=outputs["TicketsTableName"])
    stack["dynamodb"].describe_table(TableName=outputs["IdempotencyTableName"])
    stack["events"].describe_event_bus(Name=outputs["EventBusName"])


def test_intake_mapping_reports_batch_item_failures(stack: dict[str, Any]) -> None:
    intake = function_configuration(stack, "HandleIntake")
    queue_arn = stack["sqs"].get_queue_attributes(QueueUrl=stack["outputs"]["IntakeQueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    [mapping] = stack["lambda"].list_event_source_mappings(FunctionName=intake["FunctionName"])["EventSourceMappings"]

    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10


def test_webhooks_mapping_and_rule_reach_consumer(stack: dict[str, Any]) -> None:
    deliver = function_configuration(stack, "DeliverWebhooks")
    queue_url = stack["outputs"]["WebhooksQueueUrl"]
    queue_arn = stack["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    [mapping] = stack["lambda"].list_event_source_mappings(FunctionName=deliver["FunctionName"])["EventSourceMappings"]

    stack["events"].put_events(
        Entries=[
            {
                "EventBusName": stack["outputs"]["EventBusName"],
                "Source": "servicedesk.tickets",
                "DetailType": "TicketCreated",
                "Detail": json.dumps({"tenant_id": "acme", "event_id": "01PROBE"}),
            },
            {
                "EventBusName": stack["outputs"]["EventBusName"],
                "Source": "servicedesk.webhooks",
                "DetailType": "WebhookDisabled",
                "Detail": json.dumps({"tenant_id": "acme"}),
            },
        ]
    )
    messages = stack["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])

    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert [json.loads(message["Body"])["detail-type"] for message in messages] == ["TicketCreated"]


def test_intake_queue_redrives_to_dead_letter_queue(stack: dict[str, Any]) -> None:
    sqs = stack["sqs"]
    attributes = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["IntakeQueueUrl"], AttributeNames=["All"])["Attributes"]
    dead_letter_arn = sqs.get_queue_attributes(
        QueueUrl=stack["outputs"]["IntakeDeadLetterQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dead_letter_arn
    assert int(redrive["maxReceiveCount"]) == 5
    assert attributes["VisibilityTimeout"] == "360"


def test_role_policy_resolves_to_stack_arns(stack: dict[str, Any], moto_environment: dict[str, str]) -> None:
    region = moto_environment["AWS_DEFAULT_REGION"]
    account = moto_environment["MOTO_ACCOUNT_ID"]
    role_name = stack["resources"]["HandleIntakeRole"]["PhysicalResourceId"]
    [policy_name] = stack["iam"].list_role_policies(RoleName=role_name)["PolicyNames"]

    document = stack["iam"].get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        # NOTE: moto 5.2 stores a role's inline policy from CloudFormation as the Python repr
        # of the document instead of JSON.
        document = ast.literal_eval(document)
    resources = {statement["Sid"]: statement["Resource"] for statement in document["Statement"]}

    assert "${" not in json.dumps(document)
    assert resources["TicketsTable"] == [
        f"arn:aws:dynamodb:{region}:{account}:table/servicedesk",
        f"arn:aws:dynamodb:{region}:{account}:table/servicedesk/index/*",
    ]
    assert resources["IntakeQueue"] == f"arn:aws:sqs:{region}:{account}:servicedesk-intake"
    assert resources["DomainEvents"] == f"arn:aws:events:{region}:{account}:event-bus/servicedesk"
    assert resources["ModelEndpoints"] == [
        f"arn:aws:sagemaker:{region}:{account}:endpoint/{ENDPOINT_NAME}",
        f"arn:aws:sagemaker:{region}:{account}:endpoint/servicedesk-triage",
        f"arn:aws:sagemaker:{region}:{account}:endpoint/servicedesk-decisions",
        f"arn:aws:sagemaker:{region}:{account}:endpoint/servicedesk-resolution",
    ]
    assert resources["WorkflowTaskTokens"] == [
        f"arn:aws:states:{region}:{account}:stateMachine:servicedesk-onboarding",
        f"arn:aws:states:{region}:{account}:stateMachine:servicedesk-approval",
        f"arn:aws:states:{region}:{account}:stateMachine:servicedesk-escalation",
    ]
