"""Webhook configuration changes in the tenant's audit chain: registration, deletion, secret
rotation, enabling, and disabling after failed deliveries, on moto."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from functions import wiring
from functions.domain.audit import audit_timestamp
from tests.conftest import Api
from tests.integration.test_audit_log import entry_key, stored_entries
from tests.integration.test_webhooks import Harness, admin, closed_port, harness, register  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("harness")


def webhook_entries(api: Api, webhook_id: str) -> list[dict[str, Any]]:
    """The audit entries of one webhook, oldest first."""
    response = api.call("get", f"/audit?resource_id={webhook_id}")
    assert response.status_code == 200, response.body
    return list(reversed(response.json["items"]))


def test_configuration_changes_are_audited(harness: Harness, client: Any, tenant: str, aws: dict[str, str]) -> None:
    api = admin(client, tenant)
    webhook = register(api, harness.receiver, "/hooks/crm?token=receiver-token", ["TicketCreated", "TicketUpdated"])
    webhook_id = webhook["webhook_id"]

    rotated = api.call("post", f"/webhooks/{webhook_id}/rotate-secret")
    enabled = api.call("post", f"/webhooks/{webhook_id}/enable")
    deleted = api.call("delete", f"/webhooks/{webhook_id}")

    assert rotated.status_code == 200
    assert enabled.status_code == 200
    assert deleted.status_code == 204
    entries = webhook_entries(api, webhook_id)
    assert [entry["action"] for entry in entries] == [
        "webhook.registered",
        "webhook.secret_rotated",
        "webhook.enabled",
        "webhook.deleted",
    ]
    assert all(entry["resource_type"] == "webhook" for entry in entries)
    assert all(entry["actor"] == {"user_id": "admin-1", "role": "admin"} for entry in entries)
    registered, rotation, enabling, deletion = entries
    assert registered["changes"] == {
        "host": {"old": None, "new": "127.0.0.1"},
        "event_types": {"old": None, "new": "TicketCreated,TicketUpdated"},
        "enabled": {"old": None, "new": "true"},
    }
    expires_at = datetime.fromisoformat(rotated.json["previous_secret_expires_at"])
    assert rotation["changes"] == {"previous_secret_expires_at": {"old": None, "new": audit_timestamp(expires_at)}}
    assert enabling["changes"]["enabled"] == {"old": "true", "new": "true"}
    assert deletion["changes"]["host"] == {"old": "127.0.0.1", "new": None}

    report = api.call("get", "/audit/verify").json
    assert report["intact"] is True
    assert report["entries"] == 4
    assert report["head"]["sequence"] == 4

    raw = str(stored_entries(boto3.client("dynamodb"), aws["AuditTableName"], tenant))
    assert webhook["signing_secret"] not in raw
    assert rotated.json["signing_secret"] not in raw
    assert "signing_secret" not in raw
    assert "receiver-token" not in raw


def test_disable_after_failures_is_audited(harness: Harness, client: Any, tenant: str) -> None:
    harness.use_settings(WEBHOOK_ALLOW_LOCAL_URLS="true", WEBHOOK_MAX_CONSECUTIVE_FAILURES="2")
    api = admin(client, tenant)
    created = api.call(
        "post", "/webhooks", {"url": f"http://127.0.0.1:{closed_port()}/down", "event_types": ["TicketCreated"]}
    )
    webhook_id = created.json["webhook_id"]

    api.create_ticket()
    harness.run()

    entries = webhook_entries(api, webhook_id)
    assert [entry["action"] for entry in entries] == ["webhook.registered", "webhook.disabled"]
    disabled = entries[1]
    assert disabled["actor"] == {"user_id": "webhook-dispatcher", "role": "system"}
    assert disabled["event_id"] is not None
    assert disabled["changes"]["enabled"] == {"old": "true", "new": "false"}
    assert disabled["changes"]["consecutive_failures"] == {"old": None, "new": "2"}
    assert api.call("get", f"/webhooks/{webhook_id}").json["enabled"] is False
    # The ticket's own entries sit between them in the same chain, and the chain verifies.
    report = api.call("get", "/audit/verify").json
    assert report["intact"] is True
    assert report["entries"] == report["head"]["sequence"]
    assert entries[1]["sequence"] == report["head"]["sequence"]


def test_change_fails_without_its_entry(
    harness: Harness, client: Any, tenant: str, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = admin(client, tenant)
    webhook = register(api, harness.receiver, "/hooks/x", ["TicketCreated"])
    head = wiring.audit_log().read_head(tenant)
    # An item squatting on the next sequence number makes every append attempt fail.
    boto3.client("dynamodb").put_item(
        TableName=aws["AuditTableName"], Item={**entry_key(tenant, head.sequence + 1), "type": {"S": "squatter"}}
    )
    monkeypatch.setattr(wiring.audit_log(), "_sleep", lambda seconds: None)

    rotated = api.call("post", f"/webhooks/{webhook['webhook_id']}/rotate-secret")
    deleted = api.call("delete", f"/webhooks/{webhook['webhook_id']}")

    assert rotated.status_code == 503, rotated.body
    assert deleted.status_code == 503, deleted.body
    unchanged = api.call("get", f"/webhooks/{webhook['webhook_id']}").json
    assert unchanged["secret_rotated_at"] is None
    assert wiring.audit_log().read_head(tenant) == head


def test_missing_webhook_adds_no_entry(harness: Harness, client: Any, tenant: str) -> None:
    api = admin(client, tenant)

    for method, path in (
        ("post", "/webhooks/01JNF7YDHFXAX33S606B6PE1RT/rotate-secret"),
        ("post", "/webhooks/01JNF7YDHFXAX33S606B6PE1RT/enable"),
        ("delete", "/webhooks/01JNF7YDHFXAX33S606B6PE1RT"),
    ):
        assert api.call(method, path).status_code == 404, path
    assert wiring.audit_log().read_head(tenant).sequence == 0


def test_agent_denial_adds_no_entry(harness: Harness, client: Any, tenant: str) -> None:
    agent = Api(client, tenant, user_id="agent-1", role="agent")

    response = agent.call("post", "/webhooks", {"url": harness.receiver.url("/x"), "event_types": ["TicketCreated"]})

    assert response.status_code == 403
    assert wiring.audit_log().read_head(tenant).sequence == 0
