"""Authentication in the packaged template: the Cognito authorizer on every route, the partner
API keys and usage plan, and no way to turn on the local development tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from functions.api.auth import AUTHORIZER_NAME, PARTNER_SCOPE, PLACEHOLDER_USER_POOL_ARN
from tests.infra.conftest import PackagedApp, resources_of_type

pytestmark = pytest.mark.package

PROJECT_DIR = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
PARTNER_PREFIX = "/partner/"


def rest_api_body(template: dict[str, Any]) -> dict[str, Any]:
    [api] = resources_of_type(template, "AWS::ApiGateway::RestApi").values()
    return api["Properties"]["Body"]


def operations(body: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in body["paths"].items()
        for method, operation in methods.items()
        if method in HTTP_METHODS
    ]


def security_names(operation: dict[str, Any]) -> dict[str, list[str]]:
    return {name: scopes for requirement in operation.get("security", []) for name, scopes in requirement.items()}


def test_every_route_has_cognito_authorizer(translated_template: dict[str, Any]) -> None:
    body = rest_api_body(translated_template)

    routes = operations(body)
    assert len(routes) >= 8
    for method, path, operation in routes:
        assert AUTHORIZER_NAME in security_names(operation), f"{method} {path} has no Cognito authorizer"


def test_authorizer_uses_user_pool_parameter(packaged: PackagedApp, translated_template: dict[str, Any]) -> None:
    definition = rest_api_body(translated_template)["securityDefinitions"][AUTHORIZER_NAME]

    assert definition["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert definition["x-amazon-apigateway-authorizer"]["providerARNs"] == [
        {"Fn::If": ["CreateUserPool", {"Fn::GetAtt": ["UserPool", "Arn"]}, {"Ref": "UserPoolArn"}]}
    ]
    assert PLACEHOLDER_USER_POOL_ARN not in json.dumps(packaged.template)
    assert PLACEHOLDER_USER_POOL_ARN not in json.dumps(translated_template)


def test_user_pool_parameter_empty_creates_pool(packaged: PackagedApp) -> None:
    parameter = packaged.template["Parameters"]["UserPoolArn"]

    assert parameter["Default"] == ""
    assert packaged.template["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "UserPoolArn"}, ""]}
    assert re.fullmatch(parameter["AllowedPattern"], "arn:aws:cognito-idp:ap-northeast-2:123456789012:userpool/ap-northeast-2_AbC123xyz")
    assert re.fullmatch(parameter["AllowedPattern"], "")
    assert not re.fullmatch(parameter["AllowedPattern"], "arn:aws:iam::123456789012:role/admin")


def test_only_partner_routes_need_api_key(translated_template: dict[str, Any]) -> None:
    body = rest_api_body(translated_template)

    partner_routes = 0
    for method, path, operation in operations(body):
        names = security_names(operation)
        if path.startswith(PARTNER_PREFIX):
            partner_routes += 1
            assert "api_key" in names, f"{method} {path} does not require the partner API key"
            assert names[AUTHORIZER_NAME] == [PARTNER_SCOPE], f"{method} {path}"
        else:
            assert "api_key" not in names, f"{method} {path} would ask people for an API key"
            assert names.get(AUTHORIZER_NAME, []) == [], f"{method} {path} accepts machine tokens"
    assert partner_routes >= 2
    assert body["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}


def test_usage_plan_covers_api_stage(translated_template: dict[str, Any]) -> None:
    [plan] = resources_of_type(translated_template, "AWS::ApiGateway::UsagePlan").values()
    [stage_id] = resources_of_type(translated_template, "AWS::ApiGateway::Stage")
    [api_id] = resources_of_type(translated_template, "AWS::ApiGateway::RestApi")

    [api_stage] = plan["Properties"]["ApiStages"]
    assert api_stage["ApiId"] == {"Ref": api_id}
    assert api_stage["Stage"] == {"Ref": stage_id}
    assert plan["Properties"]["Throttle"] == {"RateLimit": {"Ref": "PartnerRateLimit"}, "BurstLimit": {"Ref": "PartnerBurstLimit"}}
    assert plan["Properties"]["Quota"]["Period"] == "DAY"


def test_every_partner_key_joins_usage_plan(packaged: PackagedApp) -> None:
    keys = resources_of_type(packaged.template, "AWS::ApiGateway::ApiKey")
    plan_keys = resources_of_type(packaged.template, "AWS::ApiGateway::UsagePlanKey").values()
    [plan_id] = resources_of_type(packaged.template, "AWS::ApiGateway::UsagePlan")

    assert len(keys) >= 3
    joined = {plan_key["Properties"]["KeyId"]["Ref"] for plan_key in plan_keys}
    assert joined == set(keys)
    for plan_key in plan_keys:
        assert plan_key["Properties"]["UsagePlanId"] == {"Ref": plan_id}
        assert plan_key["Properties"]["KeyType"] == "API_KEY"
    for logical_id, key in keys.items():
        assert key["Properties"]["Enabled"] is True, logical_id
        assert "Value" not in key["Properties"], f"{logical_id} has its key value in the template"


def test_template_cannot_enable_dev_tokens(packaged: PackagedApp) -> None:
    functions = resources_of_type(packaged.template, "AWS::Serverless::Function")
    globals_environment = packaged.template.get("Globals", {}).get("Function", {}).get("Environment", {})

    assert "Variables" not in globals_environment or "CALLER_SOURCE" not in globals_environment["Variables"]
    for function_id, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        if function_id == "PreTokenGeneration":
            # The Cognito trigger serves no API request, so it reads no caller source.
            assert set(variables) == {"PARTNER_CLIENT_TENANTS"}
            continue
        # A literal, so that no parameter or stack update can switch the source.
        assert variables["CALLER_SOURCE"] == "authorizer", function_id
        assert not {name for name in variables if name.startswith("DEV_TOKEN_")}, function_id
    assert "dev_tokens" not in json.dumps(packaged.template)
    assert "DEV_TOKEN_" not in (PROJECT_DIR / ".chalice" / "config.json").read_text("utf-8")
