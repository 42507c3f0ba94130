"""Trust resources in the templates: the Cognito user pool and its token trigger, API Gateway's
typed gateway responses, and the audit anchor bucket with Object Lock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions import cognito_trigger
from functions.adapters.audit import HEAD_INDEX, HEAD_SHARDS
from functions.adapters.audit_anchors import ANCHOR_PREFIX
from functions.api.http import STATUS_BY_CODE
from functions.models.caller import Role
from infra import provision
from infra.package import load_template
from tests.infra.conftest import PackagedApp, resources_of_type

PROJECT_DIR = Path(__file__).resolve().parents[2]
RESOURCES = load_template(PROJECT_DIR / "infra" / "resources.yaml")
GATEWAY_RESPONSE_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN",
    "UNAUTHORIZED",
    "ACCESS_DENIED",
    "INVALID_API_KEY",
    "THROTTLED",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
}


# Audit anchors (resources.yaml, checked without packaging).


def test_anchor_bucket_has_versioning_and_object_lock() -> None:
    bucket = RESOURCES["Resources"]["AuditAnchorBucket"]
    properties = bucket["Properties"]

    assert bucket["DeletionPolicy"] == "Retain"
    assert properties["ObjectLockEnabled"] is True
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    retention = properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert properties["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert retention == {"Mode": {"Ref": "AuditAnchorLockMode"}, "Days": {"Ref": "AuditAnchorRetentionDays"}}
    assert all(properties["PublicAccessBlockConfiguration"].values())


def test_local_lock_matches_template_defaults() -> None:
    parameters = RESOURCES["Parameters"]

    assert parameters["AuditAnchorLockMode"]["Default"] == provision.ANCHOR_LOCK_MODE
    assert int(parameters["AuditAnchorRetentionDays"]["Default"]) == provision.ANCHOR_RETENTION_DAYS
    assert set(parameters["AuditAnchorLockMode"]["AllowedValues"]) == {"GOVERNANCE", "COMPLIANCE"}


def test_audit_table_has_sparse_head_index() -> None:
    table = RESOURCES["Resources"]["AuditTable"]["Properties"]
    [index] = [index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] == HEAD_INDEX]

    assert index["KeySchema"] == [
        {"AttributeName": "HeadShard", "KeyType": "HASH"},
        {"AttributeName": "PK", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert HEAD_SHARDS == 16
    assert "HEAD#0 to HEAD#15" in (PROJECT_DIR / "infra" / "resources.yaml").read_text("utf-8")


def test_anchor_policy_cannot_delete_or_unlock() -> None:
    policy = json.loads((PROJECT_DIR / ".chalice" / "policy-prod.json").read_text("utf-8"))
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}

    allowed = statements["AuditAnchorsReadWrite"]
    denied = statements["AuditAnchorsLocked"]
    assert set(allowed["Action"]) == {"s3:GetObject", "s3:PutObject"}
    assert allowed["Resource"] == {"Fn::Sub": f"${{AuditAnchorBucket.Arn}}/{ANCHOR_PREFIX}*"}
    assert denied["Effect"] == "Deny"
    for action in ("s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:PutBucketVersioning"):
        assert action in denied["Action"]


# Packaged template.


@pytest.mark.package
def test_user_pool_claims_and_groups(packaged: PackagedApp) -> None:
    resources = packaged.template["Resources"]
    pool = resources["UserPool"]
    attributes = {attribute["Name"]: attribute for attribute in pool["Properties"]["Schema"]}
    groups = {group["Properties"]["GroupName"] for group in resources_of_type(packaged.template, "AWS::Cognito::UserPoolGroup").values()}

    assert pool["Condition"] == "CreateUserPool"
    assert set(attributes) == {"tenant_id", "queues"}
    assert attributes["tenant_id"]["StringAttributeConstraints"]["MaxLength"] == "128"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert groups == set(cognito_trigger.ROLE_GROUPS)
    assert groups == {role.value for role in Role} - {"partner", "system"}
    trigger = pool["Properties"]["LambdaConfig"]["PreTokenGenerationConfig"]
    assert trigger == {"LambdaArn": {"Fn::GetAtt": ["PreTokenGeneration", "Arn"]}, "LambdaVersion": "V3_0"}


@pytest.mark.package
def test_web_client_cannot_write_tenant(packaged: PackagedApp) -> None:
    client = packaged.template["Resources"]["WebClient"]["Properties"]

    assert client["GenerateSecret"] is False
    assert not [name for name in client["WriteAttributes"] if name.startswith("custom:")]
    assert "custom:tenant_id" in client["ReadAttributes"]


@pytest.mark.package
def test_trigger_runs_packaged_handler(packaged: PackagedApp) -> None:
    import zipfile

    trigger = packaged.template["Resources"]["PreTokenGeneration"]["Properties"]
    module, _, function = trigger["Handler"].rpartition(".")

    assert trigger["CodeUri"] == packaged.template["Resources"]["APIHandler"]["Properties"]["CodeUri"]
    assert trigger["Runtime"] == "python3.11"
    assert function == "handler"
    with zipfile.ZipFile(packaged.deployment_zip) as archive:
        assert module.replace(".", "/") + ".py" in archive.namelist()
    permission = packaged.template["Resources"]["PreTokenGenerationPermission"]["Properties"]
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}


@pytest.mark.package
def test_gateway_responses_give_typed_bodies(translated_template: dict[str, Any]) -> None:
    [api] = resources_of_type(translated_template, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]

    assert set(responses) == GATEWAY_RESPONSE_TYPES
    for response_type, response in responses.items():
        template = response["responseTemplates"]["application/json"]
        filled = template.replace("$context.error.messageString", '"Forbidden"').replace("$context.requestId", "r-1")
        body = json.loads(filled)
        assert set(body) == {"code", "message", "details", "request_id"}, response_type
        assert body["code"] in STATUS_BY_CODE, response_type
        if "statusCode" in response:
            assert STATUS_BY_CODE[body["code"]] == int(response["statusCode"]), response_type
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
