"""Fixtures shared by the suites: a moto account with the deployed resources, and the app."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-2",
    "AWS_REGION": "ap-northeast-2",
    "CALLER_SOURCE": "dev_tokens",
    "DEV_TOKEN_SECRET": "test-secret-for-development-tokens-0123456789",
    "MODEL_BACKEND": "local",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}

NEGATIVE_WORDS = ("화가", "최악", "짜증", "angry", "terrible", "worst", "furious")


class KeywordSentimentEndpoint:
    """Deterministic stand-in for the sentiment endpoint that follows its JSON contract.

    Texts with one of NEGATIVE_WORDS score 0.95 negative, all others 0.1; integration tests use
    it so that escalation outcomes do not depend on a trained model.
    """

    name = "sentiment"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(payload)
        predictions = []
        for text in payload["texts"]:
            negative = 0.95 if any(word in text.lower() for word in NEGATIVE_WORDS) else 0.1
            label = "negative" if negative > 0.5 else "neutral"
            predictions.append(
                {"label": label, "score": max(negative, 1 - negative), "negative": negative, "language": "ko"}
            )
        return {"model": "sentiment", "model_version": "keyword-test", "predictions": predictions}


class KeywordTriageEndpoint:
    """Deterministic stand-in for the triage endpoint: printers go to hardware, passwords to
    identity, and anything else is abstained on and sent to triage-review."""

    name = "triage"
    RULES = (("printer", "hardware", "hardware"), ("프린터", "hardware", "hardware"),
             ("password", "access", "identity"), ("비밀번호", "access", "identity"))

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        predictions = []
        for text in payload["texts"]:
            match = next((rule for rule in self.RULES if rule[0] in text.lower()), None)
            if match:
                predictions.append({"category": match[1], "queue": match[2], "confidence": 0.9, "abstained": False})
            else:
                predictions.append({"category": None, "queue": "triage-review", "confidence": 0.3, "abstained": True})
        return {"model": "triage", "model_version": "keyword-test", "predictions": predictions}


@contextlib.contextmanager
def serialised_moto_requests() -> Iterator[None]:
    """Run each request to the in-process moto alone, as AWS runs each DynamoDB request atomically.

    NOTE: moto 5.2 applies a transaction's writes item by item. When it is cancelled, moto
    restores a deep copy of the tables taken at its start, which erases a write that another
    thread committed meanwhile, and the copy itself fails when another thread changes the table.
    Tests with threads would then measure moto. With one request at a time they still race on
    everything between requests.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    lock = threading.Lock()

    def process_request(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = process_request
    try:
        yield
    finally:
        BotocoreStubber.process_request = original


@pytest.fixture(scope="session")
def aws() -> Iterator[dict[str, str]]:
    """One moto account for the session with infra/resources.yaml deployed; returns its outputs.

    Tests keep apart by using their own tenant ids, which every key starts with.
    """
    from moto import mock_aws

    from infra.local import moto_workflows

    # State machines run, as on AWS; moto_workflows lets CloudFormation create runnable ones.
    moto_workflows.install()
    execution = {"stepfunctions": {"execute_state_machine": True}}
    with mock.patch.dict(os.environ, TEST_ENVIRONMENT), mock_aws(config=execution), serialised_moto_requests():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        import boto3

        from functions import wiring
        from infra.provision import deploy_resources, environment_for

        outputs = deploy_resources(boto3.client("cloudformation"), "servicedesk-test")
        os.environ.update(environment_for(outputs))
        wiring.reset()
        yield outputs
        wiring.reset()


@pytest.fixture
def sentiment_endpoint(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> KeywordSentimentEndpoint:
    from functions import wiring

    endpoint = KeywordSentimentEndpoint()
    triage = KeywordTriageEndpoint()
    wiring.ticket_service.cache_clear()
    monkeypatch.setattr(wiring, "model_endpoint", lambda name: triage if name == "triage" else endpoint)
    yield endpoint
    wiring.ticket_service.cache_clear()


@pytest.fixture
def tenant(request: pytest.FixtureRequest) -> str:
    """A tenant id of this test alone, so that tests sharing the moto account never meet."""
    return "t-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60].strip("-")


@pytest.fixture
def client(aws: dict[str, str], sentiment_endpoint: KeywordSentimentEndpoint) -> Iterator[Any]:
    from chalice.test import Client

    from app import app
    from infra.local import gateway

    with gateway.installed(), Client(app) as test_client:
        yield test_client


def dev_token(tenant_id: str, user_id: str, role: str, queues: tuple[str, ...] = (), ttl_seconds: int = 3600) -> str:
    """Sign a development token with the test environment's secret."""
    from datetime import timedelta

    from functions.api.auth import mint_dev_token
    from functions.settings import Settings

    issuer = Settings.model_fields["dev_token_issuer"].default
    secret = TEST_ENVIRONMENT["DEV_TOKEN_SECRET"]
    return mint_dev_token(secret, issuer, tenant_id, user_id, role, timedelta(seconds=ttl_seconds), queues)


class Api:
    """Small helper around the Chalice test client that speaks JSON as one caller of one tenant.

    The default caller is a supervisor, who may read and change every ticket of the tenant.
    """

    def __init__(
        self,
        client: Any,
        tenant_id: str,
        user_id: str = "supervisor-1",
        role: str = "supervisor",
        queues: tuple[str, ...] = (),
    ) -> None:
        self.client = client
        self.headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {dev_token(tenant_id, user_id, role, queues)}",
        }

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        raw = body if isinstance(body, bytes) else (json.dumps(body, ensure_ascii=False).encode() if body is not None else b"")
        response = getattr(self.client.http, method)(path, headers={**self.headers, **(headers or {})}, body=raw)
        response.json = json.loads(response.body) if response.body else None
        return response

    def create_ticket(self, **fields: Any) -> dict[str, Any]:
        body = {
            "title": "노트북 전원 문제",
            "description": "전원이 켜지지 않습니다.",
            "requester_id": "requester-1",
            "customer_id": "customer-1",
            "channel": "web_form",
            **fields,
        }
        response = self.call("post", "/tickets", body)
        assert response.status_code == 201, response.body
        return response.json


@pytest.fixture
def api(client: Any, tenant: str) -> Api:
    return Api(client, tenant)


def received_details(queue_url: str, max_batches: int = 20) -> list[dict[str, Any]]:
    """Receive and delete every EventBridge event waiting on a queue; return their details."""
    import boto3

    sqs = boto3.client("sqs")
    details: list[dict[str, Any]] = []
    for _ in range(max_batches):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            details.append(json.loads(message["Body"])["detail"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return details
