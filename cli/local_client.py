"""Clients of the running local stack: its HTTP API and its intake queue."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_AWS_ENDPOINT = "http://127.0.0.1:5000"
INTAKE_QUEUE_NAME = "servicedesk-intake"
INTAKE_DEAD_LETTER_QUEUE_NAME = "servicedesk-intake-dlq"


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
    """JSON over HTTP as one tenant, with a connection pool per thread."""

    def __init__(self, base_url: str, tenant_id: str, user_id: str = "replay", role: str = "agent") -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Tenant-Id": tenant_id,
            "X-User-Id": user_id,
            "X-Role": role,
        }
        self.latency = LatencyLog()
        self._local = threading.local()

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        started = time.perf_counter()
        response = session.request(
            method, self.base_url + path, data=data, headers={**self.headers, **(headers or {})}, timeout=30
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
