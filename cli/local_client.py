"""Clients of the running local stack: its HTTP API and its intake queue."""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from infra.local.dev_tokens import DEFAULT_SECRET_FILE, mint_token

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_AWS_ENDPOINT = "http://127.0.0.1:5000"
INTAKE_QUEUE_NAME = "servicedesk-intake"
INTAKE_DEAD_LETTER_QUEUE_NAME = "servicedesk-intake-dlq"
# A replay's token lives this long and is replaced once less than TOKEN_RENEW_BEFORE is left.
TOKEN_LIFETIME = timedelta(hours=1)
# How long a request may wait for the API's response before it counts as failed.
DEFAULT_TIMEOUT_SECONDS = 30.0
TOKEN_RENEW_BEFORE = timedelta(minutes=5)


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secret-file",
        type=Path,
        default=DEFAULT_SECRET_FILE,
        help="development token secret written by the local stack (default: .artifacts/dev-token-secret)",
    )


@dataclass
class LatencyLog:
    """Latencies of API calls in milliseconds, shared by worker threads."""

    values: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, milliseconds: float) -> None:
        with self._lock:
            self.values.append(milliseconds)

    def percentile(self, share: float) -> float | None:
        with self._lock:
            ordered = sorted(self.values)
        if not ordered:
            return None
        index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
        return round(ordered[index], 2)


class ApiClient:
    """JSON over HTTP as one caller of one tenant, with a connection pool per thread.

    Requests carry a development token signed with the local stack's secret file. The default
    role, supervisor, may read and change every ticket of the tenant, as a replay must.
    """

    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        user_id: str = "replay",
        role: str = "supervisor",
        secret_file: Path = DEFAULT_SECRET_FILE,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.headers = {"Content-Type": "application/json; charset=utf-8"}
        self.latency = LatencyLog()
        self._local = threading.local()
        self._identity = (tenant_id, user_id, role)
        self._secret_file = secret_file
        self._token_lock = threading.Lock()
        self._token = ""
        self._token_renew_at = 0.0
        # Fails at once, with advice, when the secret file is missing.
        self._authorization()

    def _authorization(self) -> str:
        with self._token_lock:
            if time.monotonic() >= self._token_renew_at:
                try:
                    self._token = mint_token(self._secret_file, *self._identity, ttl=TOKEN_LIFETIME)
                except ValueError as error:
                    raise SystemExit(str(error)) from error
                self._token_renew_at = time.monotonic() + (TOKEN_LIFETIME - TOKEN_RENEW_BEFORE).total_seconds()
            return f"Bearer {self._token}"

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        started = time.perf_counter()
        all_headers = {**self.headers, "Authorization": self._authorization(), **(headers or {})}
        response = session.request(
            method, self.base_url + path, data=data, headers=all_headers, timeout=self.timeout_seconds
        )
        self.latency.add((time.perf_counter() - started) * 1000)
        return response

    def check_reachable(self) -> None:
        """Raise SystemExit with advice when the API does not respond."""
        try:
            self.request("GET", "/tickets?limit=1")
        except requests.ConnectionError as error:
            raise SystemExit(
                f"the API at {self.base_url} is not reachable ({error.__class__.__name__}); start it with `make run` "
                "or pass --api-url"
            ) from error


def sqs_client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-2"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages waiting or in flight on a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def wait_until_drained(sqs: Any, queue_url: str, timeout_seconds: float) -> bool:
    """Wait until the queue has no waiting or in-flight messages; return False on timeout."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if queue_depth(sqs, queue_url) == 0:
            return True
        time.sleep(0.5)
    return False
