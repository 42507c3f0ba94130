"""The local stack's gateway over HTTP: partner API keys, typed bodies for unknown routes, and
the scheduled anchoring of audit chains."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from infra.local.api_keys import read_api_key_file
from infra.local.stack import API_KEY_FILE_NAME
from tests.e2e.conftest import RunningStack, wait_for

pytestmark = pytest.mark.e2e

TICKET = {"title": "급여 시스템 접속 불가", "requester_id": "emp-7", "customer_id": "c1", "channel": "web_form"}


def partner_keys(stack: RunningStack) -> dict[str, str]:
    return read_api_key_file(stack.secret_file.with_name(API_KEY_FILE_NAME))


def test_partner_route_requires_stack_key(stack: RunningStack, http: requests.Session) -> None:
    tenant = f"e2e-keys-{uuid.uuid4().hex[:8]}"
    url = f"{stack.api_url}/partner/tickets"
    keys = partner_keys(stack)

    missing = http.post(url, headers=stack.headers(tenant, "hr-system", "partner"), data=json.dumps(TICKET))
    wrong = http.post(url, headers=stack.headers(tenant, "hr-system", "partner", **{"x-api-key": "not-a-key"}), data=json.dumps(TICKET))
    accepted = http.post(url, headers=stack.headers(tenant, "hr-system", "partner", **{"x-api-key": keys["hr"]}), data=json.dumps(TICKET))

    assert sorted(keys) == ["crm", "erp", "hr"]
    for response in (missing, wrong):
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "forbidden"
        assert body["details"] == {"reason": "api_key_invalid", "gateway_error": "Forbidden"}
        assert body["request_id"]
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["created_by"] == "hr-system"


def test_unknown_route_and_method_get_typed_body(stack: RunningStack, http: requests.Session) -> None:
    headers = stack.headers("e2e-routes")

    unknown = http.get(f"{stack.api_url}/no-such-route", headers=headers)
    wrong_method = http.delete(f"{stack.api_url}/tickets", headers=headers)

    for response in (unknown, wrong_method):
        assert response.status_code == 404
        body = response.json()
        assert body["code"] == "route_not_found"
        assert body["details"] == {"gateway_error": "Missing Authentication Token"}
        assert response.headers["x-amzn-RequestId"] == body["request_id"]


def test_schedule_anchors_audit_chain(stack: RunningStack, http: requests.Session) -> None:
    tenant = f"e2e-anchor-{uuid.uuid4().hex[:8]}"
    created = http.post(f"{stack.api_url}/tickets", headers=stack.headers(tenant), data=json.dumps(TICKET))
    assert created.status_code == 201, created.text

    def anchored() -> dict | None:
        report = http.get(f"{stack.api_url}/audit/verify", headers=stack.headers(tenant)).json()
        return report if report["anchor"] and report["anchor"]["sequence"] == report["head"]["sequence"] else None

    report = wait_for(anchored, timeout=60)
    assert report["intact"] is True
    assert report["anchor"]["hash"] == report["head"]["hash"]
