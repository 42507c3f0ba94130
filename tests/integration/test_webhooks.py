"""Webhooks end to end on moto: registration through the API, events through EventBridge and the
webhooks queue, and signed deliveries to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions import wiring
from functions.domain.webhooks import WebhookDispatcher
from infra.local.lambda_runtime import invoke, sqs_event
from tests.conftest import Api
from tests.unit.test_webhooks import example_verifier

verify_webhook = example_verifier()
# The cached builders themselves, kept before any test replaces wiring.webhook_dispatcher.
WEBHOOK_BUILDERS = (wiring.webhook_repository, wiring.webhook_service, wiring.webhook_dispatcher)


# A receiver that checks signatures.


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records POSTs and responds with the queued statuses (200 when none are left). It verifies
    each request with the secret registered for its path, at the time `now` returns."""

    now: Callable[[], float]
    statuses: list[int] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        secret = self.secrets.get(path, "")
        self.deliveries.append(Delivery(path, headers, body, verify_webhook(secret, headers, body, now=self.now())))
        return self.statuses.pop(0) if self.statuses else 200


def start_receiver(receiver: Receiver) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.record(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Clock:
    """The consumer's clock; tests move it to when SQS would make a delayed message visible."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


# Driving the webhooks queue.


class DelayRecorder:
    """Records the DelaySeconds of every message the consumer queues, then sends it with none.

    NOTE: moto 5.2 honours DelaySeconds in real time, so a 30 s retry would stall the test. The
    requested delay is checked here as SQS's contract, and `visible_at` gives the time when SQS
    would have shown the message.
    """

    def __init__(self, sqs_client: Any, clock: Clock) -> None:
        self._client = sqs_client
        self._clock = clock
        self.delays: list[int] = []
        self.visible_at: dict[str, datetime] = {}
        sqs_client.meta.events.register("provide-client-params.sqs.SendMessageBatch", self._capture)

    def _capture(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params["Entries"]:
            delay = entry.get("DelaySeconds", 0)
            assert 0 <= delay <= 900, f"SQS rejects DelaySeconds {delay}"
            self.delays.append(delay)
            self.visible_at[entry["MessageBody"]] = self._clock.now + timedelta(seconds=delay)
            entry["DelaySeconds"] = 0

    def close(self) -> None:
        self._client.meta.events.unregister("provide-client-params.sqs.SendMessageBatch", self._capture)


def run_queue(app: Any, queue_url: str, recorder: DelayRecorder, clock: Clock, max_messages: int = 500) -> int:
    """Process the webhooks queue one message at a time, in the order SQS would show them, until it is empty.

    Before each message the clock moves to when the message would have become visible. Returns
    the number of messages processed; a message that the consumer reports as failed fails the test.
    """
    sqs = boto3.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    processed = 0
    while processed < max_messages:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return processed
        messages.sort(key=lambda message: recorder.visible_at.get(message["Body"], clock.now))
        for message in messages:
            clock.now = max(clock.now, recorder.visible_at.get(message["Body"], clock.now))
            result = invoke(app, "deliver_webhooks", sqs_event(queue_arn, [message]))
            assert result == {"batchItemFailures": []}, message["Body"][:300]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            processed += 1
    raise AssertionError(f"the webhooks queue still had messages after {max_messages}")


@dataclass
class Harness:
    app: Any
    aws: dict[str, str]
    clock: Clock
    recorder: DelayRecorder
    receiver: Receiver
    monkeypatch: pytest.MonkeyPatch

    def run(self) -> int:
        return run_queue(self.app, self.aws["WebhooksQueueUrl"], self.recorder, self.clock)

    def use_settings(self, **values: str) -> None:
        """Set webhook settings for this test and rebuild the webhook services with the test clock."""
        for name, value in values.items():
            self.monkeypatch.setenv(name, value)
        clear_webhook_wiring()
        dispatcher = WEBHOOK_BUILDERS[2]()
        clocked = WebhookDispatcher.__new__(WebhookDispatcher)
        clocked.__dict__.update({**dispatcher.__dict__, "_clock": self.clock})
        self.monkeypatch.setattr(wiring, "webhook_dispatcher", lambda: clocked)


def clear_webhook_wiring() -> None:
    wiring.get_settings.cache_clear()
    for builder in WEBHOOK_BUILDERS:
        builder.cache_clear()



def discard_messages(sqs: Any, queue_url: str) -> None:
    """Delete every visible message; PurgeQueue would allow one call a minute."""
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(messages)],
        )

@pytest.fixture
def harness(client: Any, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    from app import app
    from functions.adapters.clients import client as aws_client

    clock = Clock()
    receiver = Receiver(now=lambda: clock.now.timestamp())
    server = start_receiver(receiver)
    recorder = DelayRecorder(aws_client("sqs"), clock)
    harness = Harness(app, aws, clock, recorder, receiver, monkeypatch)
    harness.use_settings(WEBHOOK_ALLOW_LOCAL_URLS="true")
    # Events of earlier tests wait on the shared queue; they belong to tenants without webhooks.
    discard_messages(aws_client("sqs"), aws["WebhooksQueueUrl"])
    try:
        yield harness
    finally:
        recorder.close()
        server.shutdown()
        server.server_close()
        clear_webhook_wiring()


def admin(client: Any, tenant: str) -> Api:
    return Api(client, tenant, user_id="admin-1", role="admin")


def register(api: Api, receiver: Receiver, path: str, event_types: list[str]) -> dict[str, Any]:
    response = api.call("post", "/webhooks", {"url": receiver.url(path), "event_types": event_types, "description": "CRM"})
    assert response.status_code == 201, response.body
    receiver.secrets[path] = response.json["signing_secret"]
    return response.json


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Delivery.


def test_event_delivered_and_verified(harness: Harness, client: Any, tenant: str) -> None:
    api = admin(client, tenant)
    webhook = register(api, harness.receiver, "/hooks/crm", ["TicketCreated"])

    ticket = api.create_ticket()
    harness.run()

    [delivery] = harness.receiver.deliveries
    assert delivery.verified
    assert delivery.path == "/hooks/crm"
    assert delivery.payload["event_type"] == "TicketCreated"
    assert delivery.payload["detail"]["ticket_id"] == ticket["ticket_id"]
    assert delivery.payload["detail"]["tenant_id"] == tenant
    assert delivery.headers["Webhook-Id"] == delivery.payload["detail"]["event_id"]
    assert delivery.headers["Content-Type"] == "application/json; charset=utf-8"
    attempts = api.call("get", f"/webhooks/{webhook['webhook_id']}/deliveries").json["items"]
    assert [(a["attempt"], a["outcome"], a["status_code"], a["error"]) for a in attempts] == [
        (1, "delivered", 200, None)
    ]
    assert attempts[0]["event_id"] == delivery.headers["Webhook-Id"]
    assert attempts[0]["latency_ms"] >= 0


def test_retried_after_500_then_delivered(harness: Harness, client: Any, tenant: str) -> None:
    api = admin(client, tenant)
    webhook = register(api, harness.receiver, "/hooks/flaky", ["TicketCreated"])
    harness.receiver.statuses = [500, 200]
    started = harness.clock.now

    api.create_ticket()
    harness.run()

    first, second = harness.receiver.deliveries
    assert first.verified and second.verified
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"]
    assert int(second.headers["Webhook-Timestamp"]) - int(first.headers["Webhook-Timestamp"]) in range(24, 37)
    retry_delays = [delay for delay in harness.recorder.delays if delay > 0]
    assert len(retry_delays) == 1
    assert 24 <= retry_delays[0] <= 36
    attempts = api.call("get", f"/webhooks/{webhook['webhook_id']}/deliveries").json["items"]
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [
        (2, "delivered", 200),
        (1, "retry_scheduled", 500),
    ]
    assert attempts[1]["error"] == "HTTP status 500"
    next_attempt = datetime.fromisoformat(attempts[1]["next_attempt_at"])
    assert timedelta(seconds=24) <= next_attempt - started <= timedelta(seconds=37)
    state = api.call("get", f"/webhooks/{webhook['webhook_id']}").json
    assert state["consecutive_failures"] == 0
    assert state["enabled"] is True


def test_receiver_down_disables_webhook(harness: Harness, client: Any, tenant: str, aws: dict[str, str]) -> None:
    harness.use_settings(WEBHOOK_ALLOW_LOCAL_URLS="true", WEBHOOK_MAX_CONSECUTIVE_FAILURES="3")
    disabled_events = webhook_disabled_queue(aws)
    api = admin(client, tenant)
    response = api.call(
        "post", "/webhooks", {"url": f"http://127.0.0.1:{closed_port()}/down", "event_types": ["TicketCreated"]}
    )
    webhook_id = response.json["webhook_id"]

    api.create_ticket()
    harness.run()

    attempts = api.call("get", f"/webhooks/{webhook_id}/deliveries").json["items"]
    assert [(a["attempt"], a["outcome"]) for a in reversed(attempts)] == [
        (1, "retry_scheduled"),
        (2, "retry_scheduled"),
        (3, "disabled"),
    ]
    assert all(a["status_code"] is None and a["error"] == "connection refused" for a in attempts)
    first, second, third = reversed(attempts)
    assert 24 <= (parse(second["attempted_at"]) - parse(first["attempted_at"])).total_seconds() <= 37
    assert 96 <= (parse(third["attempted_at"]) - parse(second["attempted_at"])).total_seconds() <= 145
    assert third["next_attempt_at"] is None

    state = api.call("get", f"/webhooks/{webhook_id}").json
    assert state["enabled"] is False
    assert state["consecutive_failures"] == 3
    assert state["disabled_reason"].startswith("3 consecutive failed deliveries")
    details = [event["detail"] for event in drain(disabled_events) if event["detail"]["tenant_id"] == tenant]
    assert [(d["webhook_id"], d["consecutive_failures"], d["host"]) for d in details] == [(webhook_id, 3, "127.0.0.1")]

    api.create_ticket(title="두 번째 문의")
    harness.run()
    assert len(api.call("get", f"/webhooks/{webhook_id}/deliveries").json["items"]) == 3

    enabled = api.call("post", f"/webhooks/{webhook_id}/enable")
    assert enabled.status_code == 200
    assert enabled.json["enabled"] is True
    assert enabled.json["consecutive_failures"] == 0
    assert enabled.json["disabled_reason"] is None


def test_long_retries_wait_in_queue_hops(harness: Harness, client: Any, tenant: str) -> None:
    api = admin(client, tenant)
    response = api.call(
        "post", "/webhooks", {"url": f"http://127.0.0.1:{closed_port()}/down", "event_types": ["TicketCreated"]}
    )
    webhook_id = response.json["webhook_id"]

    api.create_ticket()
    harness.run()

    attempts = list(reversed(api.call("get", f"/webhooks/{webhook_id}/deliveries").json["items"]))
    assert [a["outcome"] for a in attempts] == ["retry_scheduled"] * 5 + ["gave_up"]
    gaps = [(parse(b["attempted_at"]) - parse(a["attempted_at"])).total_seconds() for a, b in zip(attempts, attempts[1:])]
    for gap, nominal in zip(gaps, (30, 120, 600, 3600, 21600)):
        assert 0.8 * nominal - 1 <= gap <= 1.2 * nominal + 1, (gap, nominal)
    # Waits longer than 900 s were split into hops of at most 900 s.
    assert max(harness.recorder.delays) == 900
    assert harness.recorder.delays.count(900) >= (3600 * 0.8 + 21600 * 0.8) // 900
    assert api.call("get", f"/webhooks/{webhook_id}").json["enabled"] is True


def test_other_tenant_events_not_delivered(harness: Harness, client: Any, tenant: str) -> None:
    api = admin(client, tenant)
    other_tenant = f"{tenant}-other"[:120]
    other = admin(client, other_tenant)
    register(api, harness.receiver, "/hooks/mine", ["TicketCreated", "MessageReceived"])
    register(other, harness.receiver, "/hooks/theirs", ["TicketCreated"])

    other.create_ticket(title="다른 테넌트 문의 1")
    other.create_ticket(title="다른 테넌트 문의 2")
    mine = api.create_ticket()
    harness.run()

    by_path: dict[str, list[Delivery]] = {}
    for delivery in harness.receiver.deliveries:
        by_path.setdefault(delivery.path, []).append(delivery)
    assert {delivery.payload["detail"]["tenant_id"] for delivery in by_path["/hooks/mine"]} == {tenant}
    assert sorted(delivery.payload["event_type"] for delivery in by_path["/hooks/mine"]) == [
        "MessageReceived",
        "TicketCreated",
    ]
    assert {delivery.payload["detail"]["ticket_id"] for delivery in by_path["/hooks/mine"]} == {mine["ticket_id"]}
    assert {delivery.payload["detail"]["tenant_id"] for delivery in by_path["/hooks/theirs"]} == {other_tenant}
    assert len(by_path["/hooks/theirs"]) == 2
    assert all(delivery.verified for delivery in harness.receiver.deliveries)
    # Each tenant's secret signs only its own deliveries.
    assert not verify_webhook(
        harness.receiver.secrets["/hooks/theirs"],
        by_path["/hooks/mine"][0].headers,
        by_path["/hooks/mine"][0].body,
        now=harness.clock.now.timestamp(),
    )


def test_batch_reports_exact_failed_ids(harness: Harness, client: Any, tenant: str) -> None:
    register(admin(client, tenant), harness.receiver, "/batch", ["TicketCreated"])
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": "TicketCreated",
        "source": "servicedesk.tickets",
        "account": "123456789012",
        "time": "2025-03-04T00:12:30Z",
        "region": "ap-northeast-2",
        "resources": [],
        "detail": {
            "schema_version": "1",
            "event_id": "01JNF7YDHFXAX33S606B6PE1RT",
            "occurred_at": "2025-03-04T00:12:30.121000Z",
            "tenant_id": tenant,
            "ticket_id": "01JNF7YDH8GR6NT5ECPM4D48SQ",
            "customer_id": "customer-1",
            "channel": "email",
            "status": "new",
            "priority": "medium",
            "queue": "general",
            "version": 1,
        },
    }
    bodies = [
        json.dumps(event),
        "{not json",
        json.dumps({"kind": "webhook_delivery", "tenant_id": tenant}),
        json.dumps({**event, "detail": {**event["detail"], "priority": "urgent"}}),
        json.dumps([1, 2]),
    ]
    messages = [{"MessageId": f"sqs-{index}", "ReceiptHandle": f"r-{index}", "Body": body} for index, body in enumerate(bodies)]
    queue_arn = f"arn:aws:sqs:ap-northeast-2:123456789012:{harness.aws['WebhooksQueueUrl'].rsplit('/', 1)[1]}"

    result = invoke(harness.app, "deliver_webhooks", sqs_event(queue_arn, messages))

    assert result == {"batchItemFailures": [{"itemIdentifier": f"sqs-{index}"} for index in (1, 2, 3, 4)]}
    harness.run()
    [delivery] = harness.receiver.deliveries
    assert delivery.verified
    assert delivery.headers["Webhook-Id"] == "01JNF7YDHFXAX33S606B6PE1RT"



def test_batch_looks_up_subscribers_once(
    harness: Harness, client: Any, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import wiring

    register(admin(client, tenant), harness.receiver, "/once", ["TicketCreated"])
    repository = wiring.webhook_repository()
    lookups: list[tuple[str, str]] = []
    real_subscribers = repository.subscribers

    def counting_subscribers(tenant_id: str, event_type: str) -> Any:
        lookups.append((tenant_id, event_type))
        return real_subscribers(tenant_id, event_type)

    monkeypatch.setattr(repository, "subscribers", counting_subscribers)
    queue_arn = f"arn:aws:sqs:ap-northeast-2:123456789012:{harness.aws['WebhooksQueueUrl'].rsplit('/', 1)[1]}"
    events = [created_event(tenant, f"01JNF7YDHFXAX33S606B6PE1R{index}") for index in range(3)]
    messages = [
        {"MessageId": f"sqs-{index}", "ReceiptHandle": f"r-{index}", "Body": json.dumps(event)}
        for index, event in enumerate(events)
    ]

    first = invoke(harness.app, "deliver_webhooks", sqs_event(queue_arn, messages[:2]))
    second = invoke(harness.app, "deliver_webhooks", sqs_event(queue_arn, messages[2:]))

    assert first == {"batchItemFailures": []}
    assert second == {"batchItemFailures": []}
    assert lookups == [(tenant, "TicketCreated"), (tenant, "TicketCreated")]
    harness.run()
    assert sorted(delivery.headers["Webhook-Id"] for delivery in harness.receiver.deliveries) == sorted(
        event["detail"]["event_id"] for event in events
    )


def created_event(tenant: str, event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "TicketCreated",
        "source": "servicedesk.tickets",
        "account": "123456789012",
        "time": "2025-03-04T00:12:30Z",
        "region": "ap-northeast-2",
        "resources": [],
        "detail": {
            "schema_version": "1",
            "event_id": event_id,
            "occurred_at": "2025-03-04T00:12:30.121000Z",
            "tenant_id": tenant,
            "ticket_id": "01JNF7YDH8GR6NT5ECPM4D48SQ",
            "customer_id": "customer-1",
            "channel": "email",
            "status": "new",
            "priority": "medium",
            "queue": "general",
            "version": 1,
        },
    }

# Registration and the secret.


def test_secret_only_returned_at_creation(harness: Harness, client: Any, tenant: str) -> None:
    api = admin(client, tenant)
    created = api.call("post", "/webhooks", {"url": harness.receiver.url("/s"), "event_types": ["TicketCreated"]})
    secret = created.json["signing_secret"]
    webhook_id = created.json["webhook_id"]
    harness.receiver.secrets["/s"] = secret

    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    assert created.headers["Location"] == f"/webhooks/{webhook_id}"
    api.create_ticket()
    harness.run()
    reads = [
        api.call("get", "/webhooks"),
        api.call("get", f"/webhooks/{webhook_id}"),
        api.call("get", f"/webhooks/{webhook_id}/deliveries"),
    ]
    for response in reads:
        assert response.status_code == 200
        assert secret not in response.body.decode()
        assert "signing_secret" not in response.body.decode()

    rotated = api.call("post", f"/webhooks/{webhook_id}/rotate-secret")
    new_secret = rotated.json["signing_secret"]
    assert rotated.status_code == 200
    assert rotated.headers["Cache-Control"] == "no-store"
    assert new_secret != secret
    after = api.call("get", f"/webhooks/{webhook_id}").body.decode()
    assert new_secret not in after
    assert secret not in after

    # During the grace period a delivery verifies with either secret.
    api.create_ticket(title="회전 후 문의")
    harness.run()
    latest = harness.receiver.deliveries[-1]
    now = harness.clock.now.timestamp()
    assert verify_webhook(new_secret, latest.headers, latest.body, now=now)
    assert verify_webhook(secret, latest.headers, latest.body, now=now)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://172.20.1.1/hook",
        "https://192.168.0.10/hook",
        "https://[::ffff:a9fe:a9fe]/",
        "http://10.0.0.5/hook",
    ],
)
def test_ssrf_targets_rejected_at_registration(harness: Harness, client: Any, tenant: str, url: str) -> None:
    api = admin(client, tenant)

    response = api.call("post", "/webhooks", {"url": url, "event_types": ["TicketCreated"]})

    assert response.status_code == 400
    assert response.json["code"] == "invalid_input"
    assert response.json["details"]["field"] == "url"
    assert api.call("get", "/webhooks").json["items"] == []


def test_loopback_rejected_without_local_setting(harness: Harness, client: Any, tenant: str) -> None:
    harness.use_settings(WEBHOOK_ALLOW_LOCAL_URLS="false")
    api = admin(client, tenant)

    for url in (harness.receiver.url("/x"), "https://localhost/x", "https://127.0.0.1/x"):
        response = api.call("post", "/webhooks", {"url": url, "event_types": ["TicketCreated"]})
        assert response.status_code == 400, url
        assert response.json["details"]["field"] == "url"


def test_unknown_event_type_rejected(harness: Harness, client: Any, tenant: str) -> None:
    response = admin(client, tenant).call(
        "post", "/webhooks", {"url": harness.receiver.url("/x"), "event_types": ["TicketDeleted"]}
    )

    assert response.status_code == 400
    assert "TicketCreated" in response.json["message"]


def test_agents_cannot_manage_webhooks(harness: Harness, client: Any, tenant: str) -> None:
    agent = Api(client, tenant, user_id="agent-1", role="agent")

    created = agent.call("post", "/webhooks", {"url": harness.receiver.url("/x"), "event_types": ["TicketCreated"]})
    listed = agent.call("get", "/webhooks")

    assert created.status_code == 403
    assert created.json["code"] == "forbidden"
    assert listed.status_code == 403


def test_other_tenant_cannot_read_webhook(harness: Harness, client: Any, tenant: str) -> None:
    webhook = register(admin(client, tenant), harness.receiver, "/x", ["TicketCreated"])
    intruder = admin(client, f"{tenant}-intruder"[:120])

    for method, path in (
        ("get", f"/webhooks/{webhook['webhook_id']}"),
        ("delete", f"/webhooks/{webhook['webhook_id']}"),
        ("post", f"/webhooks/{webhook['webhook_id']}/rotate-secret"),
        ("get", f"/webhooks/{webhook['webhook_id']}/deliveries"),
    ):
        response = intruder.call(method, path)
        assert response.status_code == 404, (method, path)
    assert intruder.call("get", "/webhooks").json["items"] == []


def test_delete_and_tenant_limit(harness: Harness, client: Any, tenant: str) -> None:
    harness.use_settings(WEBHOOK_ALLOW_LOCAL_URLS="true", WEBHOOK_MAX_PER_TENANT="2")
    api = Api(client, tenant, user_id="supervisor-1", role="supervisor")
    first = register(api, harness.receiver, "/a", ["TicketCreated"])
    register(api, harness.receiver, "/b", ["TicketUpdated"])

    third = api.call("post", "/webhooks", {"url": harness.receiver.url("/c"), "event_types": ["TicketCreated"]})
    deleted = api.call("delete", f"/webhooks/{first['webhook_id']}")
    again = api.call("delete", f"/webhooks/{first['webhook_id']}")
    fourth = api.call("post", "/webhooks", {"url": harness.receiver.url("/c"), "event_types": ["TicketCreated"]})

    assert third.status_code == 409
    assert third.json["code"] == "limit_exceeded"
    assert third.json["details"]["limit"] == 2
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert fourth.status_code == 201
    assert len(api.call("get", "/webhooks").json["items"]) == 2


# Helpers.


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def webhook_disabled_queue(aws: dict[str, str]) -> str:
    """A queue that receives WebhookDisabled events through a rule of its own."""
    sqs = boto3.client("sqs")
    events = boto3.client("events")
    queue_url = sqs.create_queue(QueueName="test-webhook-disabled")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="test-webhook-disabled",
        EventBusName=aws["EventBusName"],
        EventPattern=json.dumps({"source": ["servicedesk.webhooks"], "detail-type": ["WebhookDisabled"]}),
    )
    events.put_targets(
        Rule="test-webhook-disabled", EventBusName=aws["EventBusName"], Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return queue_url


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    events = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events


def test_foreign_event_skipped_with_message_id(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from functions.consumers.webhooks import process_webhook_record

    record = SQSRecord(
        {
            "messageId": "message-foreign-1",
            "body": json.dumps({"source": "partner.erp", "detail-type": "PurchaseDelivered", "detail": {}}),
        }
    )
    with caplog.at_level(logging.INFO, logger="servicedesk"):
        outcome = process_webhook_record(record)

    skipped = [entry for entry in caplog.records if entry.getMessage() == "event not deliverable by webhook; skipped"]
    assert outcome == "ignored"
    assert len(skipped) == 1
    assert skipped[0].sqs_message_id == "message-foreign-1"
    assert skipped[0].event_type == "PurchaseDelivered"
