"""The Cognito pre token generation trigger as a pure function, and its claims through the API's
claim reader."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.api.auth import caller_from_authorizer_claims
from functions.cognito_trigger import (
    TriggerConfigError,
    handler,
    parse_partner_tenants,
    role_from_groups,
    token_claims,
)


def user_event(groups: list[str], **attributes: str) -> dict[str, Any]:
    return {
        "version": "3",
        "triggerSource": "TokenGeneration_Authentication",
        "userPoolId": "ap-northeast-2_AbC123xyz",
        "callerContext": {"clientId": "webclient"},
        "request": {
            "userAttributes": {"sub": "8f0e-user", **attributes},
            "groupConfiguration": {"groupsToOverride": groups, "iamRolesToOverride": [], "preferredRole": None},
            "scopes": ["openid"],
        },
        "response": {"claimsAndScopeOverrideDetails": None},
    }


def machine_event(client_id: str) -> dict[str, Any]:
    return {
        "version": "3",
        "triggerSource": "TokenGeneration_ClientCredentials",
        "userPoolId": "ap-northeast-2_AbC123xyz",
        "callerContext": {"clientId": client_id},
        "request": {"userAttributes": {}, "groupConfiguration": None, "scopes": ["servicedesk/partner"]},
        "response": {"claimsAndScopeOverrideDetails": None},
    }


def id_token(response: dict[str, Any]) -> dict[str, Any]:
    return response["claimsAndScopeOverrideDetails"]["idTokenGeneration"]


def access_claims(response: dict[str, Any]) -> dict[str, Any]:
    return response["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["claimsToAddOrOverride"]


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["requester"], "requester"),
        (["agent", "requester"], "agent"),
        (["supervisor", "agent"], "supervisor"),
        (["admin", "requester"], "admin"),
        (["marketing"], None),
        ([], None),
    ],
)
def test_role_is_highest_group(groups: list[str], role: str | None) -> None:
    assert role_from_groups(groups) == role


def test_agent_token_carries_tenant_role_queues() -> None:
    event = user_event(["agent"], **{"custom:tenant_id": "acme", "custom:queues": "hardware,network"})

    response = token_claims(event, {})

    assert id_token(response)["claimsToAddOrOverride"] == {
        "custom:role": "agent",
        "custom:tenant_id": "acme",
        "custom:queues": "hardware,network",
    }
    assert id_token(response)["claimsToSuppress"] == []
    assert access_claims(response) == id_token(response)["claimsToAddOrOverride"]


def test_group_overrides_role_attribute() -> None:
    event = user_event(["requester"], **{"custom:tenant_id": "acme", "custom:role": "admin", "custom:queues": "x"})

    response = token_claims(event, {})
    claims = {**event["request"]["userAttributes"], "sub": "8f0e-user"}
    claims.update(id_token(response)["claimsToAddOrOverride"])
    for name in id_token(response)["claimsToSuppress"]:
        claims.pop(name)

    assert id_token(response)["claimsToAddOrOverride"]["custom:role"] == "requester"
    assert id_token(response)["claimsToSuppress"] == ["custom:queues"]
    caller = caller_from_authorizer_claims(claims)
    assert caller.role.value == "requester"
    assert caller.tenant_id == "acme"
    assert caller.queues == frozenset()


def test_user_without_group_gets_no_role() -> None:
    response = token_claims(user_event([], **{"custom:tenant_id": "acme", "custom:role": "admin"}), {})

    assert "custom:role" not in id_token(response)["claimsToAddOrOverride"]
    assert "custom:role" in id_token(response)["claimsToSuppress"]


def test_invalid_tenant_attribute_is_dropped() -> None:
    response = token_claims(user_event(["supervisor"], **{"custom:tenant_id": "TENANT#acme"}), {})

    assert "custom:tenant_id" not in id_token(response)["claimsToAddOrOverride"]
    assert "custom:tenant_id" in id_token(response)["claimsToSuppress"]


def test_partner_client_gets_tenant_and_partner_role() -> None:
    response = token_claims(machine_event("hrclient123"), {"hrclient123": "acme"})

    claims = access_claims(response)
    assert claims == {"custom:tenant_id": "acme", "custom:role": "partner"}
    assert "idTokenGeneration" not in response["claimsAndScopeOverrideDetails"]
    caller = caller_from_authorizer_claims({**claims, "sub": "hrclient123"})
    assert caller.role.value == "partner"


def test_unknown_partner_client_gets_no_claims() -> None:
    response = token_claims(machine_event("stranger"), {"hrclient123": "acme"})

    assert access_claims(response) == {}


def test_handler_reads_partner_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNER_CLIENT_TENANTS", json.dumps({"erpclient": "globex"}))

    event = handler(machine_event("erpclient"), None)

    assert access_claims(event["response"]) == {"custom:tenant_id": "globex", "custom:role": "partner"}


@pytest.mark.parametrize(
    "raw",
    ["not json", "[]", '{"client": 5}', '{"client": "bad#tenant"}'],
)
def test_bad_partner_setting_rejected(raw: str) -> None:
    with pytest.raises(TriggerConfigError):
        parse_partner_tenants(raw)


def test_empty_partner_setting_is_empty() -> None:
    assert parse_partner_tenants("") == {}
