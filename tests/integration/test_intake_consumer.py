"""The intake queue consumer, invoked as Lambda invokes it, on moto."""

from __future__ import annotations

import base64
import json
import unicodedata
from typing import Any

import boto3
import pytest

from infra.local import pollers
from infra.local.lambda_runtime import invoke, scheduled_event, sqs_event
from tests.conftest import Api, received_details

QUEUE_ARN = "arn:aws:sqs:ap-northeast-2:123456789012:servicedesk-intake"


def channel_message(tenant: str, message_id: str, thread_key: str = "thread-1", **fields: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "message_id": message_id,
        "channel": "email",
        "thread_key": thread_key,
        "customer_id": "customer-1",
        "requester_id": "requester-1",
        "body": "모니터가 깜빡입니다. 교체 가능할까요?",
        **fields,
    }


def batch(*bodies: Any) -> dict[str, Any]:
    """An SQS event whose records carry their own message ids sqs-0, sqs-1, ..."""
    messages = [
        {
            "MessageId": f"sqs-{index}",
            "ReceiptHandle": f"receipt-{index}",
            "Body": body if isinstance(body, str) else json.dumps(body, ensure_ascii=False),
        }
        for index, body in enumerate(bodies)
    ]
    return sqs_event(QUEUE_ARN, messages)


@pytest.fixture
def app(client) -> Any:
    from app import app as chalice_app

    return chalice_app


def test_partial_batch_reports_exact_failed_ids(app, tenant: str) -> None:
    event = batch(
        channel_message(tenant, "m-1", "thread-a"),
        "this is not json",
        channel_message(tenant, "m-2", "thread-b"),
        {**channel_message(tenant, "m-3", "thread-c"), "channel": "carrier-pigeon"},
        channel_message(tenant, "m-4", "thread-d"),
    )

    result = invoke(app, "handle_intake", event)

    assert result == {"batchItemFailures": [{"itemIdentifier": "sqs-1"}, {"itemIdentifier": "sqs-3"}]}


def test_same_message_delivered_twice_is_stored_once(app, api: Api, tenant: str) -> None:
    message = channel_message(tenant, "gateway-42")

    first = invoke(app, "handle_intake", batch(message, message))
    second = invoke(app, "handle_intake", batch(message))

    assert first == {"batchItemFailures": []}
    assert second == {"batchItemFailures": []}
    tickets = api.call("get", "/tickets").json["items"]
    assert len(tickets) == 1
    assert tickets[0]["message_count"] == 1
    messages = api.call("get", f"/tickets/{tickets[0]['ticket_id']}/messages").json["items"]
    assert [m["message_id"] for m in messages] == ["email-gateway-42"]


def test_thread_key_joins_one_conversation(app, api: Api, tenant: str) -> None:
    invoke(app, "handle_intake", batch(channel_message(tenant, "c-1", "case-77", channel="chat", body="채팅 문의")))
    invoke(
        app,
        "handle_intake",
        batch(
            channel_message(tenant, "p-1", "case-77", channel="phone_transcript", body="전화로 이어서 문의합니다"),
            channel_message(tenant, "e-1", "case-78", body="별도 문의입니다"),
        ),
    )

    tickets = {ticket["thread_key"]: ticket for ticket in api.call("get", "/tickets").json["items"]}
    assert set(tickets) == {"case-77", "case-78"}
    conversation = api.call("get", f"/tickets/{tickets['case-77']['ticket_id']}/messages").json["items"]
    assert [m["channel"] for m in conversation] == ["chat", "phone_transcript"]
    assert tickets["case-77"]["channel"] == "chat"


def test_intake_escalates_on_text_signals(app, api: Api, tenant: str) -> None:
    body = "Third time this week the portal is down. We will take legal action and cancel our contract."

    invoke(app, "handle_intake", batch(channel_message(tenant, "angry-1", body=body, subject="Portal outage")))

    ticket = api.call("get", "/tickets").json["items"][0]
    assert ticket["escalated"] is True
    assert ticket["escalation_reasons"] == ["churn_risk", "legal_threat", "repeated_failure", "outage"]
    assert ticket["priority"] == "critical"
    assert ticket["title"] == "Portal outage"


def test_customer_tier_lowers_escalation_threshold(app, api: Api, tenant: str) -> None:
    from functions import wiring
    from functions.domain.ports import Customer

    wiring.repository().put_customer(tenant, Customer(customer_id="vip-1", tier="vip"))
    wiring.repository().put_customer(tenant, Customer(customer_id="plain-1", tier="standard"))

    class MildlyNegative:
        name = "sentiment"

        def invoke(self, payload):
            return {
                "model": "sentiment",
                "model_version": "test",
                "predictions": [{"label": "negative", "score": 0.7, "negative": 0.7, "language": "ko"} for _ in payload["texts"]],
            }

    wiring.ticket_service.cache_clear()
    original = wiring.model_endpoint
    wiring.model_endpoint = lambda name: MildlyNegative()
    try:
        invoke(
            app,
            "handle_intake",
            batch(
                channel_message(tenant, "v-1", "vip-thread", customer_id="vip-1", body="조금 불편합니다"),
                channel_message(tenant, "s-1", "plain-thread", customer_id="plain-1", body="조금 불편합니다"),
            ),
        )
    finally:
        wiring.model_endpoint = original
        wiring.ticket_service.cache_clear()

    tickets = {ticket["customer_id"]: ticket for ticket in api.call("get", "/tickets").json["items"]}
    assert tickets["vip-1"]["escalation_reasons"] == ["customer_tier"]
    assert tickets["plain-1"]["escalated"] is False


def test_poison_message_reaches_dead_letter_queue(app, aws: dict[str, str], monkeypatch, tenant: str) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws["IntakeQueueUrl"], MessageBody="{broken")
    sqs.send_message(QueueUrl=aws["IntakeQueueUrl"], MessageBody=json.dumps(channel_message(tenant, "good-1")))
    monkeypatch.setattr(pollers, "LOCAL_RETRY_DELAY_SECONDS", 0)
    poller = pollers.QueuePoller(app, sqs, aws["IntakeQueueUrl"], "handle_intake")

    receives = [poller.poll_once(wait_seconds=0) for _ in range(8)]

    assert receives[0] == {"received": 2, "failed": 1}
    dead = sqs.receive_message(QueueUrl=aws["IntakeDeadLetterQueueUrl"], MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in dead] == ["{broken"]
    assert sum(r["failed"] for r in receives) == 5
    assert sqs.receive_message(QueueUrl=aws["IntakeQueueUrl"]).get("Messages") is None


def hostile_bodies(tenant: str) -> dict[str, str]:
    """Queue message bodies that must fail on their own, by what is wrong with them."""
    good = channel_message(tenant, "hostile-ok")
    return {
        "deep nesting": "[" * 100_000 + "]" * 100_000,
        "duplicate key": json.dumps(good)[:-1] + ', "tenant_id": "t-other"}',
        "lone surrogate": json.dumps({**good, "message_id": "h-2", "body": "\ud800"}),
        "base64 of invalid UTF-8": base64.b64encode(b"\xff\xfe{\"body\": \"\xc0\xaf\"}").decode(),
        "NaN": json.dumps({**good, "message_id": "h-3"})[:-1] + ', "attachments": [{"bucket": "abc", "key": "k", "size_bytes": NaN}]}',
        "huge integer": json.dumps({**good, "message_id": "h-4", "attachments": [{"bucket": "abc", "key": "k", "size_bytes": 10**39}]}),
        "NUL in thread key": json.dumps({**good, "message_id": "h-5", "thread_key": "thread\u0000"}),
    }


def test_hostile_payloads_fail_alone(app, api: Api, tenant: str) -> None:
    hostile = hostile_bodies(tenant)
    one_megabyte = json.dumps(channel_message(tenant, "h-big", body="가" * 350_000), ensure_ascii=False)
    assert len(one_megabyte.encode()) > 1_000_000

    result = invoke(
        app,
        "handle_intake",
        batch(channel_message(tenant, "ok-1", "thread-ok-1"), *hostile.values(), one_megabyte, channel_message(tenant, "ok-2", "thread-ok-2")),
    )

    failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
    assert failed == [f"sqs-{index}" for index in range(1, len(hostile) + 2)]
    assert {ticket["thread_key"] for ticket in api.call("get", "/tickets").json["items"]} == {"thread-ok-1", "thread-ok-2"}


def test_hostile_payloads_reach_dead_letter_queue(app, aws: dict[str, str], monkeypatch, tenant: str) -> None:
    sqs = boto3.client("sqs")
    hostile = hostile_bodies(tenant)
    for body in hostile.values():
        sqs.send_message(QueueUrl=aws["IntakeQueueUrl"], MessageBody=body)
    sqs.send_message(QueueUrl=aws["IntakeQueueUrl"], MessageBody=json.dumps(channel_message(tenant, "dlq-good")))
    monkeypatch.setattr(pollers, "LOCAL_RETRY_DELAY_SECONDS", 0)
    poller = pollers.QueuePoller(app, sqs, aws["IntakeQueueUrl"], "handle_intake")

    receives = [poller.poll_once(wait_seconds=0) for _ in range(8)]

    assert receives[0]["failed"] == len(hostile)
    dead: list[str] = []
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=aws["IntakeDeadLetterQueueUrl"], MaxNumberOfMessages=10).get("Messages", []):
            dead.append(message["Body"])
            sqs.delete_message(QueueUrl=aws["IntakeDeadLetterQueueUrl"], ReceiptHandle=message["ReceiptHandle"])
    assert set(hostile.values()) <= set(dead)
    assert not any("dlq-good" in body for body in dead)
    assert sqs.receive_message(QueueUrl=aws["IntakeQueueUrl"]).get("Messages") is None


def test_thread_key_in_nfd_joins_nfc_ticket(app, api: Api, tenant: str) -> None:
    composed = unicodedata.normalize("NFC", "상담-42")
    decomposed = unicodedata.normalize("NFD", "상담-42")
    assert composed != decomposed

    invoke(app, "handle_intake", batch(channel_message(tenant, "n-1", composed, body="첫 문의")))
    invoke(app, "handle_intake", batch(channel_message(tenant, "n-2", decomposed, body="이어서 문의")))

    tickets = api.call("get", "/tickets").json["items"]
    assert [ticket["thread_key"] for ticket in tickets] == [composed]
    assert tickets[0]["message_count"] == 2


def test_failed_publish_is_relayed_by_schedule(app, api: Api, tenant: str, aws: dict[str, str], monkeypatch) -> None:
    from functions import wiring
    from functions.adapters import outbox
    from functions.domain.errors import DependencyError

    def fail(entries):
        raise DependencyError("EventBridge unavailable")

    monkeypatch.setattr(wiring.publisher(), "put_entries", fail)
    ticket = api.create_ticket(description="최악입니다. 화가 납니다.")
    monkeypatch.undo()
    monkeypatch.setattr(outbox, "GRACE_PERIOD", outbox.timedelta(0))

    result = invoke(app, "relay_outbox", scheduled_event("relay_outbox"))

    assert result["published"] >= 3
    assert result["failed"] == 0
    details = received_details(aws["EscalationsQueueUrl"])
    assert any(detail["ticket_id"] == ticket["ticket_id"] for detail in details)
    assert invoke(app, "relay_outbox", scheduled_event("relay_outbox"))["published"] == 0
