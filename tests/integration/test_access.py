"""Who gets into which ticket route: every route against every kind of caller, on moto.

The ticket under test is opened through the partner route by hr-system for requester emp-1,
and the triage stand-in puts it in the hardware queue.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import jwt
import pytest

from tests.conftest import dev_token

# Callers by name: (tenant, user id, role, queues), or a raw Authorization header value.
OWN_TENANT = "own"
CALLERS: dict[str, tuple[str, str, str, tuple[str, ...]] | str | None] = {
    "anonymous": None,
    "expired": "expired",
    "forged": "forged",
    "requester_own": (OWN_TENANT, "emp-1", "requester", ()),
    "requester_other": (OWN_TENANT, "emp-2", "requester", ()),
    "agent_in_queue": (OWN_TENANT, "agent-1", "agent", ("hardware",)),
    "agent_outside": (OWN_TENANT, "agent-2", "agent", ("identity", "network")),
    "supervisor": (OWN_TENANT, "lead-1", "supervisor", ()),
    "admin": (OWN_TENANT, "admin-1", "admin", ()),
    "partner_creator": (OWN_TENANT, "hr-system", "partner", ()),
    "partner_other": (OWN_TENANT, "erp-system", "partner", ()),
    "other_tenant_admin": ("other", "admin-1", "admin", ()),
    "other_tenant_partner": ("other", "hr-system", "partner", ()),
}
UNAUTHENTICATED = {"anonymous": 401, "expired": 401, "forged": 401}

# Expected status of each route for each caller; every route of the tickets API is listed.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/tickets"): {
        **UNAUTHENTICATED,
        "requester_own": 201, "requester_other": 403, "agent_in_queue": 201, "agent_outside": 201,
        "supervisor": 201, "admin": 201, "partner_creator": 403, "partner_other": 403,
        "other_tenant_admin": 201, "other_tenant_partner": 403,
    },
    ("GET", "/tickets"): {
        **UNAUTHENTICATED,
        "requester_own": 200, "requester_other": 200, "agent_in_queue": 200, "agent_outside": 403,
        "supervisor": 200, "admin": 200, "partner_creator": 403, "partner_other": 403,
        "other_tenant_admin": 200, "other_tenant_partner": 403,
    },
    ("GET", "/tickets/{ticket_id}"): {
        **UNAUTHENTICATED,
        "requester_own": 200, "requester_other": 404, "agent_in_queue": 200, "agent_outside": 403,
        "supervisor": 200, "admin": 200, "partner_creator": 403, "partner_other": 403,
        "other_tenant_admin": 404, "other_tenant_partner": 403,
    },
    ("PATCH", "/tickets/{ticket_id}"): {
        **UNAUTHENTICATED,
        "requester_own": 403, "requester_other": 404, "agent_in_queue": 200, "agent_outside": 403,
        "supervisor": 200, "admin": 200, "partner_creator": 403, "partner_other": 403,
        "other_tenant_admin": 404, "other_tenant_partner": 403,
    },
    ("POST", "/tickets/{ticket_id}/messages"): {
        **UNAUTHENTICATED,
        "requester_own": 201, "requester_other": 404, "agent_in_queue": 201, "agent_outside": 403,
        "supervisor": 201, "admin": 201, "partner_creator": 403, "partner_other": 403,
        "other_tenant_admin": 404, "other_tenant_partner": 403,
    },
    ("GET", "/tickets/{ticket_id}/messages"): {
        **UNAUTHENTICATED,
        "requester_own": 200, "requester_other": 404, "agent_in_queue": 200, "agent_outside": 403,
        "supervisor": 200, "admin": 200, "partner_creator": 403, "partner_other": 403,
        "other_tenant_admin": 404, "other_tenant_partner": 403,
    },
    ("POST", "/partner/tickets"): {
        **UNAUTHENTICATED,
        "requester_own": 403, "requester_other": 403, "agent_in_queue": 403, "agent_outside": 403,
        "supervisor": 403, "admin": 403, "partner_creator": 201, "partner_other": 201,
        "other_tenant_admin": 403, "other_tenant_partner": 201,
    },
    ("GET", "/partner/tickets/{ticket_id}"): {
        **UNAUTHENTICATED,
        "requester_own": 403, "requester_other": 403, "agent_in_queue": 403, "agent_outside": 403,
        "supervisor": 403, "admin": 403, "partner_creator": 200, "partner_other": 404,
        "other_tenant_admin": 403, "other_tenant_partner": 404,
    },
}
CASES = [(method, path, caller, status) for (method, path), row in EXPECTED.items() for caller, status in row.items()]


def authorization(name: str, tenant_prefix: str) -> dict[str, str]:
    """Return the Authorization header of a caller, with tenants made unique to one test."""
    spec = CALLERS[name]
    if spec is None:
        return {}
    if spec == "expired":
        return {"Authorization": f"Bearer {dev_token(tenant_prefix + OWN_TENANT, 'lead-1', 'supervisor', ttl_seconds=-120)}"}
    if spec == "forged":
        now = int(time.time())
        claims = {"iss": "servicedesk-local", "sub": "lead-1", "tenant": tenant_prefix + OWN_TENANT, "role": "admin",
                  "iat": now, "exp": now + 300}
        return {"Authorization": f"Bearer {jwt.encode(claims, 'a-guessed-secret-that-is-long-enough-0123', algorithm='HS256')}"}
    tenant, user, role, queues = spec
    return {"Authorization": f"Bearer {dev_token(tenant_prefix + tenant, user, role, queues)}"}


def call(client: Any, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    response = getattr(client.http, method.lower())(
        path, headers={"Content-Type": "application/json; charset=utf-8", **headers}, body=raw
    )
    response.json = json.loads(response.body) if response.body else None
    return response


def request_body(method: str, path: str, caller: str) -> Any:
    spec = CALLERS[caller]
    user = spec[1] if isinstance(spec, tuple) else "lead-1"
    role = spec[2] if isinstance(spec, tuple) else "supervisor"
    if path.endswith("/messages") and method == "POST":
        author_type = "requester" if role == "requester" else "agent"
        return {"body": "프린터가 아직 멈춰 있습니다.", "channel": "chat", "author_type": author_type, "author_id": user}
    if method == "PATCH":
        return {"priority": "high", "version": 1}
    if method == "POST":
        return {"title": "printer jam", "requester_id": "emp-1", "customer_id": "c1", "channel": "web_form"}
    return None


def open_ticket(client: Any, tenant: str) -> dict[str, Any]:
    """Open a ticket in the tenant through the partner route, as hr-system for emp-1."""
    headers = authorization("partner_creator", tenant)
    response = call(client, "POST", "/partner/tickets", headers, request_body("POST", "/partner/tickets", "partner_creator"))
    assert response.status_code == 201, response.body
    assert response.json["queue"] == "hardware"
    assert response.json["created_by"] == "hr-system"
    return response.json


@pytest.fixture
def opened(client: Any, tenant: str) -> dict[str, Any]:
    return open_ticket(client, tenant)


# The route table shares one ticket, because no case moves it out of the hardware queue or
# away from emp-1; every test of one tenant would otherwise add a DynamoDB transaction.
_SHARED: dict[str, dict[str, Any]] = {}
SHARED_TENANT = "t-route-access-"


@pytest.fixture
def shared_ticket(client: Any) -> dict[str, Any]:
    if "ticket" not in _SHARED:
        _SHARED["ticket"] = open_ticket(client, SHARED_TENANT)
    return _SHARED["ticket"]


def test_table_covers_every_ticket_route() -> None:
    from app import app
    from functions.api import tickets

    registered = {
        (method, path)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if entry.view_function.__module__ == tickets.__name__
    }

    assert registered == set(EXPECTED)
    for row in EXPECTED.values():
        assert set(row) == set(CALLERS)


@pytest.mark.parametrize(("method", "path", "caller", "expected"), CASES, ids=[f"{m} {p} {c}" for m, p, c, _ in CASES])
def test_route_access(client: Any, shared_ticket: dict[str, Any], method: str, path: str, caller: str, expected: int) -> None:
    url = path.replace("{ticket_id}", shared_ticket["ticket_id"])
    body = request_body(method, path, caller)
    if method == "PATCH":
        current = call(client, "GET", url, authorization("supervisor", SHARED_TENANT))
        body["version"] = current.json["version"]

    response = call(client, method, url, authorization(caller, SHARED_TENANT), body)

    assert response.status_code == expected, response.body
    if expected >= 400:
        assert response.json["code"] in {"unauthorized", "token_expired", "token_invalid", "forbidden", "not_found"}
        assert set(response.json) == {"code", "message", "details", "request_id"}


@pytest.mark.parametrize(
    ("caller", "sees_ticket"),
    [
        ("requester_own", True),
        ("requester_other", False),
        ("agent_in_queue", True),
        ("supervisor", True),
        ("admin", True),
        ("other_tenant_admin", False),
    ],
)
def test_list_shows_only_visible_tickets(client: Any, tenant: str, opened: dict[str, Any], caller: str, sees_ticket: bool) -> None:
    response = call(client, "GET", "/tickets", authorization(caller, tenant))

    listed = [item["ticket_id"] for item in response.json["items"]]
    assert response.status_code == 200
    assert (opened["ticket_id"] in listed) is sees_ticket


def test_requester_closes_own_ticket(client: Any, tenant: str, opened: dict[str, Any]) -> None:
    response = call(
        client, "PATCH", f"/tickets/{opened['ticket_id']}", authorization("requester_own", tenant), {"status": "closed", "version": 1}
    )

    assert response.status_code == 200
    assert response.json["status"] == "closed"


def test_agent_sees_ticket_assigned_outside_queues(client: Any, tenant: str, opened: dict[str, Any]) -> None:
    path = f"/tickets/{opened['ticket_id']}"
    assign = call(client, "PATCH", path, authorization("supervisor", tenant), {"assignee_id": "agent-2", "version": 1})

    read = call(client, "GET", path, authorization("agent_outside", tenant))
    listed = call(client, "GET", "/tickets?assignee_id=agent-2", authorization("agent_outside", tenant))

    assert assign.status_code == 200
    assert read.status_code == 200
    assert [item["ticket_id"] for item in listed.json["items"]] == [opened["ticket_id"]]


def test_agent_with_several_queues_lists_one(client: Any, tenant: str) -> None:
    headers = authorization("agent_outside", tenant)

    without_queue = call(client, "GET", "/tickets", headers)
    with_queue = call(client, "GET", "/tickets?queue=identity", headers)
    foreign_queue = call(client, "GET", "/tickets?queue=hardware", headers)

    assert without_queue.status_code == 403
    assert without_queue.json["details"]["reason"] == "agent_list_needs_queue"
    assert "identity, network" in without_queue.json["message"]
    assert with_queue.status_code == 200
    assert foreign_queue.status_code == 403


def test_requester_list_queries_requester_index(client: Any, tenant: str, opened: dict[str, Any]) -> None:
    from functions.adapters.clients import client as aws_client

    requests: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        requests.append((model.name, params))

    dynamodb = aws_client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb.*", record)
    try:
        response = call(client, "GET", "/tickets?status=new", authorization("requester_own", tenant))
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb.*", record)

    assert response.status_code == 200
    assert [item["ticket_id"] for item in response.json["items"]] == [opened["ticket_id"]]
    operations = [name for name, _ in requests]
    assert "Scan" not in operations
    [query] = [params for name, params in requests if name == "Query"]
    assert query["IndexName"] == "ByRequester"
    assert query["ExpressionAttributeValues"][":key"] == {"S": f"TENANT#{tenant}own#REQUESTER#emp-1"}


def test_partner_reads_only_own_tickets(client: Any, tenant: str, opened: dict[str, Any]) -> None:
    other = call(
        client, "POST", "/partner/tickets", authorization("partner_other", tenant),
        request_body("POST", "/partner/tickets", "partner_other"),
    )

    mine = call(client, "GET", f"/partner/tickets/{other.json['ticket_id']}", authorization("partner_other", tenant))
    theirs = call(client, "GET", f"/partner/tickets/{opened['ticket_id']}", authorization("partner_other", tenant))

    assert other.headers["Location"] == f"/partner/tickets/{other.json['ticket_id']}"
    assert mine.status_code == 200
    assert theirs.status_code == 404


def test_denials_are_logged(client: Any, tenant: str, opened: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    headers = authorization("requester_other", tenant)

    with caplog.at_level(logging.WARNING, logger="servicedesk"):
        call(client, "GET", f"/tickets/{opened['ticket_id']}", headers)
        call(client, "GET", "/tickets", authorization("expired", tenant))

    denied = [record for record in caplog.records if record.getMessage() == "access denied"]
    unauthenticated = [record for record in caplog.records if record.getMessage() == "request unauthenticated"]
    assert [(record.reason, record.ticket_id) for record in denied] == [("not_own_ticket", opened["ticket_id"])]
    assert [record.reason for record in unauthenticated] == ["expired"]
    assert unauthenticated[0].request_id
    assert headers["Authorization"].split()[1] not in caplog.text


def test_idempotency_key_is_per_user(client: Any, tenant: str) -> None:
    body = request_body("POST", "/tickets", "supervisor")
    first = call(client, "POST", "/tickets", {**authorization("supervisor", tenant), "Idempotency-Key": "k-1"}, body)

    second = call(client, "POST", "/tickets", {**authorization("admin", tenant), "Idempotency-Key": "k-1"}, body)

    assert first.status_code == second.status_code == 201
    assert first.json["ticket_id"] != second.json["ticket_id"]
    assert second.json["created_by"] == "admin-1"
