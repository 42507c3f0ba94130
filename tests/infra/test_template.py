"""Assertions on the packaged CloudFormation template: the AWS contract the functions rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from functions import resources
from functions.settings import Settings
from infra import package
from tests.infra.conftest import PackagedApp, referenced_logical_id, resources_of_type

pytestmark = pytest.mark.package

PROJECT_DIR = Path(__file__).resolve().parents[2]
POLICY_FILE = PROJECT_DIR / ".chalice" / "policy-prod.json"
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"

# Actions that support no resource-level permissions, so IAM requires Resource "*" for them.
ACTIONS_REQUIRING_ANY_RESOURCE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# Lambda's SQS integration advises a queue visibility timeout of six times the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30
SAM_DEFAULT_FUNCTION_TIMEOUT = 3
# Variables that configure Powertools itself rather than functions.settings.Settings.
POWERTOOLS_PREFIX = "POWERTOOLS_"


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The functions of the Chalice app (handlers in app.py), without the Cognito token trigger."""
    return {
        logical_id: function
        for logical_id, function in resources_of_type(template, "AWS::Serverless::Function").items()
        if function["Properties"]["Handler"].startswith("app.")
    }


def queues(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::SQS::Queue")


def sqs_events(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (function id, event id, event properties) for every SQS event of every function."""
    events = []
    for function_id, function in functions(template).items():
        for event_id, event in function["Properties"].get("Events", {}).items():
            if event["Type"] == "SQS":
                events.append((function_id, event_id, event["Properties"]))
    return events


def dead_letter_queue_ids(template: dict[str, Any]) -> set[str]:
    targets = set()
    for queue in queues(template).values():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            targets.add(referenced_logical_id(redrive["deadLetterTargetArn"]))
    return targets


def policy_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Return (resource id, statement) for every inline policy of every role and policy."""
    statements = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in resource["Properties"].get("Policies", [])]
        elif resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [resource["Properties"]["PolicyDocument"]]
        else:
            continue
        for document in documents:
            for statement in document["Statement"]:
                statements.append((logical_id, statement))
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_sqs_events_report_batch_item_failures(packaged: PackagedApp) -> None:
    events = sqs_events(packaged.template)

    assert events, "the template has no SQS event source; the intake consumer is missing"
    for function_id, event_id, properties in events:
        assert "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []), f"{function_id}.{event_id}"


def test_translated_mappings_report_batch_item_failures(translated_template: dict[str, Any]) -> None:
    mappings = resources_of_type(translated_template, "AWS::Lambda::EventSourceMapping")

    assert mappings
    for logical_id, mapping in mappings.items():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id


def test_queues_have_dead_letter_queues(packaged: PackagedApp) -> None:
    all_queues = queues(packaged.template)
    dead_letter_ids = dead_letter_queue_ids(packaged.template)

    assert dead_letter_ids <= set(all_queues), "a RedrivePolicy targets a queue outside the template"
    for logical_id, queue in all_queues.items():
        if logical_id in dead_letter_ids:
            continue
        redrive = queue["Properties"].get("RedrivePolicy")
        assert redrive is not None, f"{logical_id} has no RedrivePolicy"
        assert "maxReceiveCount" in redrive, logical_id


def test_dead_letter_queues_outlive_sources(packaged: PackagedApp) -> None:
    all_queues = queues(packaged.template)

    for logical_id, queue in all_queues.items():
        redrive = queue["Properties"].get("RedrivePolicy")
        if not redrive:
            continue
        dead_letter = all_queues[referenced_logical_id(redrive["deadLetterTargetArn"])]
        # SQS keeps a message's original enqueue time when it moves to the DLQ.
        source_retention = queue["Properties"].get("MessageRetentionPeriod", 345600)
        assert dead_letter["Properties"]["MessageRetentionPeriod"] > source_retention, logical_id


def test_queues_set_maximum_message_size(packaged: PackagedApp) -> None:
    for logical_id, queue in queues(packaged.template).items():
        assert "MaximumMessageSize" in queue["Properties"], logical_id


def test_visibility_timeout_covers_consumer_timeout(packaged: PackagedApp) -> None:
    template = packaged.template
    all_functions = functions(template)
    all_queues = queues(template)

    for function_id, event_id, properties in sqs_events(template):
        queue_id = referenced_logical_id(properties["Queue"])
        assert queue_id in all_queues, f"{function_id}.{event_id} consumes a queue that is not in the template"
        visibility = all_queues[queue_id]["Properties"].get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_TIMEOUT)
        timeout = all_functions[function_id]["Properties"].get("Timeout", SAM_DEFAULT_FUNCTION_TIMEOUT)
        assert visibility >= VISIBILITY_TIMEOUT_FACTOR * timeout, f"{queue_id} {visibility} s for {function_id} {timeout} s"


def test_intake_consumer_timeout_is_configured(packaged: PackagedApp) -> None:
    config = json.loads(CHALICE_CONFIG.read_text("utf-8"))
    intake = functions(packaged.template)["HandleIntake"]["Properties"]

    assert intake["Timeout"] == config["stages"]["prod"]["lambda_functions"]["handle_intake"]["lambda_timeout"]
    assert intake["Timeout"] >= 60


@pytest.mark.parametrize("resource_type", ["sam", "translated"])
def test_policies_name_actions_and_resources(packaged: PackagedApp, translated_template: dict[str, Any], resource_type: str) -> None:
    template = packaged.template if resource_type == "sam" else translated_template
    statements = policy_statements(template)

    assert statements
    for logical_id, statement in statements:
        actions = as_list(statement["Action"])
        for action in actions:
            assert "*" not in action, f"{logical_id} {statement.get('Sid')}: wildcard action {action}"
        if "*" in as_list(statement["Resource"]):
            assert set(actions) <= ACTIONS_REQUIRING_ANY_RESOURCE, f"{logical_id} {statement.get('Sid')}"
        assert "NotAction" not in statement, logical_id
        assert "NotResource" not in statement, logical_id


def test_roles_use_policy_file(packaged: PackagedApp) -> None:
    expected = json.loads(POLICY_FILE.read_text("utf-8"))
    roles = resources_of_type(packaged.template, "AWS::IAM::Role")
    # The Cognito token trigger has a role of its own that may only write logs.
    trigger_role = roles.pop("PreTokenGenerationRole")
    # Step Functions' role may only hand tasks to the worker queue and notify on the escalation topic.
    workflows_role = roles.pop("WorkflowsRole")
    [workflows_policy] = workflows_role["Properties"]["Policies"]
    assert [statement["Action"] for statement in workflows_policy["PolicyDocument"]["Statement"]] == [
        "sqs:SendMessage",
        "sns:Publish",
    ]

    [trigger_policy] = trigger_role["Properties"]["Policies"]
    assert [statement["Action"] for statement in trigger_policy["PolicyDocument"]["Statement"]] == [
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    ]
    assert set(roles) == {
        "ApiHandlerRole",
        "HandleIntakeRole",
        "RelayOutboxRole",
        "AnchorAuditChainsRole",
        "DeliverWebhooksRole",
        "HandleInsightsRole",
        "RequestNpsSurveysRole",
        "PublishKpiMetricsRole",
        "HandleWorkflowTasksRole",
        "HandlePartnerEventsRole",
        "HandleEscalationsRole",
        "PredictSlaBreachesRole",
    }
    for logical_id, role in roles.items():
        documents = [policy["PolicyDocument"] for policy in role["Properties"]["Policies"]]
        assert documents == [expected], logical_id


def test_policy_scopes_data_actions_to_stack_resources() -> None:
    statements = {statement["Sid"]: statement for statement in json.loads(POLICY_FILE.read_text("utf-8"))["Statement"]}

    assert statements["TicketsTable"]["Resource"] == [
        {"Fn::GetAtt": ["TicketsTable", "Arn"]},
        {"Fn::Sub": "${TicketsTable.Arn}/index/*"},
    ]
    assert statements["IdempotencyTable"]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert statements["AuditTable"]["Resource"] == [
        {"Fn::GetAtt": ["AuditTable", "Arn"]},
        {"Fn::Sub": "${AuditTable.Arn}/index/*"},
    ]
    assert statements["DomainEvents"]["Resource"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert statements["IntakeQueue"]["Resource"] == {"Fn::GetAtt": ["IntakeQueue", "Arn"]}
    assert sorted(statements["IntakeQueue"]["Action"]) == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    endpoint_arns = [resource["Fn::Sub"] for resource in statements["ModelEndpoints"]["Resource"]]
    assert [arn.rsplit("/", 1)[1] for arn in endpoint_arns] == [
        "${SentimentEndpointName}",
        "${TriageEndpointName}",
        "${DecisionsEndpointName}",
        "${ResolutionEndpointName}",
    ]


def test_sagemaker_endpoint_names_are_parameters(packaged: PackagedApp) -> None:
    template = packaged.template
    parameters = template["Parameters"]

    endpoint_variables = 0
    for function_id, function in functions(template).items():
        for name, value in function["Properties"]["Environment"]["Variables"].items():
            if name.endswith("_ENDPOINT_NAME"):
                endpoint_variables += 1
                assert isinstance(value, dict) and value.get("Ref") in parameters, f"{function_id} {name}"
    # Sentiment, triage, decisions and resolution.
    assert endpoint_variables == 4 * len(functions(template))

    for logical_id, statement in policy_statements(template):
        if any(action.startswith("sagemaker:") for action in as_list(statement["Action"])):
            for resource in as_list(statement["Resource"]):
                substituted = re.findall(r"\$\{([^}]+)\}", resource["Fn::Sub"])
                assert any(name in parameters for name in substituted), f"{logical_id}: endpoint name is hard-coded"


@pytest.mark.parametrize(
    "parameter", ["SentimentEndpointName", "TriageEndpointName", "DecisionsEndpointName", "ResolutionEndpointName"]
)
def test_endpoint_parameter_accepts_only_lowercase(packaged: PackagedApp, parameter: str) -> None:
    pattern = packaged.template["Parameters"][parameter]["AllowedPattern"]

    assert re.fullmatch(pattern, "servicedesk-sentiment")
    assert re.fullmatch(pattern, packaged.template["Parameters"][parameter]["Default"])
    assert not re.fullmatch(pattern, "ServiceDesk-Sentiment")
    assert not re.fullmatch(pattern, "-sentiment")


def test_queue_names_match_resources_module(packaged: PackagedApp) -> None:
    template = packaged.template
    all_queues = queues(template)
    names = {queue["Properties"]["QueueName"]: logical_id for logical_id, queue in all_queues.items()}

    for constant in dir(resources):
        if constant.endswith("_QUEUE_NAME"):
            assert getattr(resources, constant) in names, f"{constant} names no queue in the template"

    intake_id = names[resources.INTAKE_QUEUE_NAME]
    redrive = all_queues[intake_id]["Properties"]["RedrivePolicy"]
    dead_letter_id = referenced_logical_id(redrive["deadLetterTargetArn"])
    assert all_queues[dead_letter_id]["Properties"]["QueueName"] == resources.INTAKE_DEAD_LETTER_QUEUE_NAME

    [(function_id, _, properties)] = [event for event in sqs_events(template) if referenced_logical_id(event[2]["Queue"]) == intake_id]
    assert function_id == "HandleIntake"
    assert properties["BatchSize"] == resources.INTAKE_BATCH_SIZE


def test_outbox_schedule_matches_resources_module(packaged: PackagedApp) -> None:
    events = functions(packaged.template)["RelayOutbox"]["Properties"]["Events"]
    [schedule] = [event["Properties"]["Schedule"] for event in events.values() if event["Type"] == "Schedule"]

    minutes = resources.OUTBOX_RELAY_SCHEDULE_MINUTES
    assert schedule == f"rate({minutes} minute{'s' if minutes > 1 else ''})"


def test_environment_points_at_stack_resources(packaged: PackagedApp) -> None:
    expected = {
        "TABLE_NAME": {"Ref": "TicketsTable"},
        "IDEMPOTENCY_TABLE_NAME": {"Ref": "IdempotencyTable"},
        "AUDIT_TABLE_NAME": {"Ref": "AuditTable"},
        "EVENT_BUS_NAME": {"Fn::GetAtt": ["EventBus", "Name"]},
        "INTAKE_QUEUE_URL": {"Ref": "IntakeQueue"},
        "WEBHOOKS_QUEUE_URL": {"Ref": "WebhooksQueue"},
        "SENTIMENT_ENDPOINT_NAME": {"Ref": "SentimentEndpointName"},
        "TRIAGE_ENDPOINT_NAME": {"Ref": "TriageEndpointName"},
        "CALLER_SOURCE": "authorizer",
        "MODEL_BACKEND": "sagemaker",
        "POWERTOOLS_SERVICE_NAME": "servicedesk",
        "POWERTOOLS_METRICS_NAMESPACE": "ServiceDesk",
    }

    for function_id, function in functions(packaged.template).items():
        variables = function["Properties"]["Environment"]["Variables"]
        for name, value in expected.items():
            assert variables.get(name) == value, f"{function_id} {name}"


def test_environment_names_settings_fields(packaged: PackagedApp) -> None:
    fields = {name.upper() for name in Settings.model_fields}

    for function_id, function in functions(packaged.template).items():
        for name in function["Properties"]["Environment"]["Variables"]:
            if not name.startswith(POWERTOOLS_PREFIX):
                assert name in fields, f"{function_id} sets {name}, which no Settings field reads"


def test_functions_run_python311_with_tracing(packaged: PackagedApp) -> None:
    all_functions = functions(packaged.template)

    assert set(all_functions) >= {
        "APIHandler",
        "HandleIntake",
        "RelayOutbox",
        "DeliverWebhooks",
        "HandleInsights",
        "RequestNpsSurveys",
        "PublishKpiMetrics",
    }
    for function_id, function in all_functions.items():
        assert function["Properties"]["Runtime"] == package.LAMBDA_RUNTIME, function_id
        assert function["Properties"]["Tracing"] == "Active", function_id
        assert function["Properties"]["CodeUri"] == "./deployment.zip", function_id


def test_log_groups_name_their_functions(packaged: PackagedApp) -> None:
    all_functions = functions(packaged.template)

    for logical_id, log_group in resources_of_type(packaged.template, "AWS::Logs::LogGroup").items():
        [function_id] = re.findall(r"\$\{([A-Za-z0-9]+)\}", log_group["Properties"]["LogGroupName"]["Fn::Sub"])
        assert function_id in all_functions, f"{logical_id} names {function_id}, which is not a function"


def test_api_routes_invoke_api_handler(translated_template: dict[str, Any]) -> None:
    [api] = resources_of_type(translated_template, "AWS::ApiGateway::RestApi").values()
    paths = api["Properties"]["Body"]["paths"]

    assert {"/tickets", "/tickets/{ticket_id}", "/tickets/{ticket_id}/messages"} <= set(paths)
    for path, methods in paths.items():
        for method, operation in methods.items():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy", f"{method} {path}"
            assert "APIHandler.Arn" in json.dumps(integration["uri"]), f"{method} {path}"


def test_merge_template_changes_only_generated_resources(packaged: PackagedApp) -> None:
    for logical_id, resource in packaged.template["Resources"].items():
        assert "Type" in resource, f"infra/functions.yaml changes {logical_id}, which chalice did not generate"
    assert list(package.mixed_intrinsics(packaged.template)) == []


def test_audit_table_is_append_only_for_functions() -> None:
    statements = json.loads(POLICY_FILE.read_text("utf-8"))["Statement"]
    audit_table = {"Fn::GetAtt": ["AuditTable", "Arn"]}
    rewriting = {"dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}

    [allow] = [statement for statement in statements if statement["Sid"] == "AuditTable"]
    [deny] = [statement for statement in statements if statement["Sid"] == "AuditTableAppendOnly"]
    assert sorted(allow["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == audit_table
    assert rewriting <= set(deny["Action"])
    for statement in statements:
        if statement["Effect"] == "Allow" and audit_table in as_list(statement["Resource"]):
            assert not rewriting & set(as_list(statement["Action"])), statement["Sid"]


def test_audit_table_keeps_its_data(packaged: PackagedApp) -> None:
    table = packaged.template["Resources"]["AuditTable"]

    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert {"AttributeName": "SK", "AttributeType": "N"} in table["Properties"]["AttributeDefinitions"]


def test_webhooks_consumer_reads_webhooks_queue(packaged: PackagedApp) -> None:
    template = packaged.template
    all_queues = queues(template)
    names = {queue["Properties"]["QueueName"]: logical_id for logical_id, queue in all_queues.items()}
    webhooks_id = names[resources.WEBHOOKS_QUEUE_NAME]

    [(function_id, _, properties)] = [
        event for event in sqs_events(template) if referenced_logical_id(event[2]["Queue"]) == webhooks_id
    ]
    assert function_id == "DeliverWebhooks"
    assert properties["BatchSize"] == resources.WEBHOOKS_BATCH_SIZE
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert functions(template)["DeliverWebhooks"]["Properties"]["Handler"] == "app.deliver_webhooks"
    redrive = all_queues[webhooks_id]["Properties"]["RedrivePolicy"]
    dead_letter_id = referenced_logical_id(redrive["deadLetterTargetArn"])
    assert all_queues[dead_letter_id]["Properties"]["QueueName"] == resources.WEBHOOKS_DEAD_LETTER_QUEUE_NAME


def test_webhooks_rule_sends_every_ticket_event(packaged: PackagedApp) -> None:
    template = packaged.template
    rule = template["Resources"]["WebhooksRule"]["Properties"]
    [policy] = [
        resource["Properties"]
        for resource in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
        if resource["Properties"]["Queues"] == [{"Ref": "WebhooksQueue"}]
    ]

    assert rule["EventPattern"] == {"source": [Settings.model_fields["event_source"].default]}
    assert rule["EventBusName"] == Settings.model_fields["event_bus_name"].default
    assert [referenced_logical_id(target["Arn"]) for target in rule["Targets"]] == ["WebhooksQueue"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["WebhooksRule", "Arn"]}
    # WebhookDisabled has another source, so the rule never sends it back to the queue.
    assert Settings.model_fields["webhook_event_source"].default not in rule["EventPattern"]["source"]


def test_webhooks_consumer_may_requeue_deliveries() -> None:
    statements = {statement["Sid"]: statement for statement in json.loads(POLICY_FILE.read_text("utf-8"))["Statement"]}

    assert statements["WebhooksQueue"]["Resource"] == {"Fn::GetAtt": ["WebhooksQueue", "Arn"]}
    assert sorted(statements["WebhooksQueue"]["Action"]) == [
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
    ]
    assert "dynamodb:UpdateItem" in statements["TicketsTable"]["Action"]
