"""Personal data in channel messages: kept in the conversation, masked in logs and model inputs,
absent from events and metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.lambda_runtime import invoke, sqs_event
from tests.conftest import Api, KeywordSentimentEndpoint

QUEUE_ARN = "arn:aws:sqs:ap-northeast-2:123456789012:servicedesk-intake"

# Synthetic messages as channel gateways deliver them: (gateway message id, channel, thread key, body).
MESSAGES = [
    ("kr-1", "email", "mail-1", "안녕하세요, 김민수입니다. 휴대폰 010-2345-6789로 연락 주세요. 메일은 minsu.kim@example.co.kr 입니다."),
    ("kr-2", "chat", "chat-2", "노트북 수리 접수합니다. 주민등록번호 850315-1234567, 카드 4111 1111 1111 1111로 결제했어요."),
    ("en-3", "web_form", "form-3", "Please call me at +82 10 9876 5432 or email jane.doe@example.com. Card 5500-0000-0000-0004 was charged twice."),
    ("kr-4", "email", "mail-4", "사무실 02-345-6789, 외국인등록번호 900101-5234567, 환불 계좌 110-123-456789 (신한) 부탁드립니다."),
    ("kr-5", "mobile_app", "app-5", "최악입니다. 화가 납니다. 01098765432로 당장 전화하세요! login from 121.134.56.78"),
    ("en-6", "chat", "chat-6", "Terrible service. My number is (415) 555-2671, passport M12345678 was shared by mistake."),
]
# A phone gateway that keys calls by the caller's number; its thread lookup fails with that number.
FAILING_THREAD_KEY = "call-+82-10-5555-1234"
PII = [
    "010-2345-6789", "minsu.kim@example.co.kr", "850315-1234567", "4111 1111 1111 1111", "+82 10 9876 5432",
    "jane.doe@example.com", "5500-0000-0000-0004", "02-345-6789", "900101-5234567", "110-123-456789",
    "01098765432", "121.134.56.78", "(415) 555-2671", "+82-10-5555-1234", "010-7777-8888", "hong@example.org",
]
# Words of the message bodies that are not personal data; no event or metric may carry them either.
BODY_WORDS = ["김민수", "노트북", "charged twice", "환불", "최악", "Terrible service", "passport"]


def channel_message(tenant: str, message_id: str, channel: str, thread_key: str, body: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "message_id": message_id,
        "channel": channel,
        "thread_key": thread_key,
        "customer_id": "customer-1",
        "requester_id": "requester-1",
        "body": body,
    }


def batch(*bodies: dict[str, Any]) -> dict[str, Any]:
    messages = [
        {"MessageId": f"sqs-{index}", "ReceiptHandle": f"receipt-{index}", "Body": json.dumps(body, ensure_ascii=False)}
        for index, body in enumerate(bodies)
    ]
    return sqs_event(QUEUE_ARN, messages)


@pytest.fixture
def captured_logs(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Every log line written while the test runs: the Powertools JSON handler, a plain-text
    handler on the root logger at INFO (as the local stack has), pytest's log capture and
    anything printed to stdout or stderr (EMF metrics)."""
    from functions.observability import logger

    json_buffer = io.StringIO()
    previous_stream = logger.registered_handler.setStream(json_buffer)
    plain_buffer = io.StringIO()
    plain_handler = logging.StreamHandler(plain_buffer)
    plain_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(plain_handler)
    root.setLevel(logging.INFO)
    caplog.set_level(logging.INFO)
    printed: list[str] = []

    def read() -> str:
        printed.extend(capfd.readouterr())
        return "\n".join([json_buffer.getvalue(), plain_buffer.getvalue(), caplog.text, *printed])

    yield read

    root.removeHandler(plain_handler)
    root.setLevel(previous_level)
    logger.registered_handler.setStream(previous_stream)


@pytest.fixture
def published_entries(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The EventBridge entries that the service puts, recorded on their way to moto."""
    from functions import wiring

    publisher = wiring.publisher()
    original = publisher.put_entries
    entries: list[dict[str, Any]] = []

    def record(batch_entries: list[dict[str, Any]]) -> None:
        entries.extend(batch_entries)
        original(batch_entries)

    monkeypatch.setattr(publisher, "put_entries", record)
    return entries


@pytest.fixture
def failing_thread_lookup(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the thread lookup of FAILING_THREAD_KEY raise an error that quotes the key, as a
    library error quoting its input would."""
    from functions import wiring

    repository = wiring.repository()
    original = repository.find_ticket_by_thread

    def find(tenant_id: str, thread_key: str) -> Any:
        if thread_key == FAILING_THREAD_KEY:
            raise RuntimeError(f"thread lookup failed for {thread_key} (caller 010-7777-8888, hong@example.org)")
        return original(tenant_id, thread_key)

    monkeypatch.setattr(repository, "find_ticket_by_thread", find)


def test_replay_masks_personal_data_outside_conversation(
    client: Any,
    api: Api,
    tenant: str,
    sentiment_endpoint: KeywordSentimentEndpoint,
    captured_logs: Callable[[], str],
    published_entries: list[dict[str, Any]],
    failing_thread_lookup: None,
) -> None:
    from app import app

    invalid = {
        **channel_message(tenant, "bad-7", "chat", "chat-7", "홍길동 010-7777-8888 hong@example.org 입니다"),
        "customer_id": "홍길동 010-7777-8888",
    }
    failing = channel_message(tenant, "fail-8", "phone_transcript", FAILING_THREAD_KEY, "통화 내용: 010-7777-8888")
    event = batch(*(channel_message(tenant, *message) for message in MESSAGES), invalid, failing)

    result = invoke(app, "handle_intake", event)
    logs = captured_logs()

    # Only the invalid and the failing message are reported for redelivery.
    assert result == {"batchItemFailures": [{"itemIdentifier": "sqs-6"}, {"itemIdentifier": "sqs-7"}]}

    # Logs: every path was logged, masked.
    assert logs.count("intake message processed") >= len(MESSAGES)
    assert "intake message is invalid" in logs
    assert "intake message failed" in logs
    assert "thread lookup failed for call-[PHONE] (caller [PHONE], [EMAIL])" in logs
    for value in PII:
        assert value not in logs, f"{value} appears in the log output"

    # Model inputs: masked, with the rest of the text intact.
    model_texts = "\n".join(text for request in sentiment_endpoint.requests for text in request["texts"])
    for value in PII:
        assert value not in model_texts, f"{value} was sent to the sentiment model"
    for placeholder in ("[PHONE]", "[EMAIL]", "[RRN]", "[CARD]", "[ACCOUNT]", "[IP]", "[PASSPORT]"):
        assert placeholder in model_texts
    assert "노트북 수리 접수합니다" in model_texts

    # Events and EMF metrics: ids and labels only, no text at all.
    assert {entry["DetailType"] for entry in published_entries} >= {"TicketCreated", "MessageReceived", "TicketEscalated"}
    metric_lines = [line for line in logs.splitlines() if '"_aws"' in line]
    assert metric_lines
    for carrier in [entry["Detail"] for entry in published_entries] + metric_lines:
        for value in PII + BODY_WORDS:
            assert value not in carrier, f"{value} appears in an event or metric: {carrier[:200]}"

    # The conversation is the record: the stored message keeps what the customer wrote.
    tickets = {ticket["thread_key"]: ticket for ticket in api.call("get", "/tickets").json["items"]}
    messages = api.call("get", f"/tickets/{tickets['mail-1']['ticket_id']}/messages").json["items"]
    assert messages[0]["body"] == MESSAGES[0][3]


def test_event_details_have_no_text_fields() -> None:
    from functions.models.events import EVENT_TYPES

    text_fields = {"body", "description", "title", "subject", "text", "texts", "message", "thread_key"}

    for event_type in EVENT_TYPES:
        assert not text_fields & set(event_type.model_fields), event_type.__name__
