"""Webhook URL rules, signatures, the retry schedule, the partner verifier and the HTTP client, without AWS."""

from __future__ import annotations

import http.server
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.webhook_http import HttpWebhookSender
from functions.domain.errors import InvalidInputError
from functions.domain.webhook_signing import delivery_headers, new_signing_secret, sign
from functions.domain.webhook_urls import UrlPolicy, literal_address
from functions.domain.webhooks import RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = UrlPolicy(allow_local=False)
LOCAL = UrlPolicy(allow_local=True)


def example_verifier() -> Callable[..., bool]:
    """Run the Python block of docs/webhooks.md that defines verify_webhook, and return the function."""
    text = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [block] = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify_webhook" in block]
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - the documented example itself
    return namespace["verify_webhook"]


# URL rules.

SSRF_URLS = [
    "https://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://172.31.255.255/hook",
    "https://192.168.1.10/hook",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://api.localhost/hook",
    "https://[::1]/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://2852039166/hook",
    "https://0xa9fea9fe/hook",
    "https://0x7f.1/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://intranet/hook",
]


@pytest.mark.parametrize("url", SSRF_URLS)
def test_forbidden_targets_rejected(url: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        DEPLOYED.check_url(url)

    assert raised.value.details["field"] == "url"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.partner.example/hook",
        "ftp://hooks.partner.example/hook",
        "https://user:password@hooks.partner.example/hook",
        "https://hooks.partner.example/hook#part",
        "https:///hook",
        "https://hooks.partner.example:0/hook",
        "https://hooks.partner.example:99999/hook",
        "https://hooks.partner.example/a b",
        "https://héllo.example/hook",
        "https://hooks.partner.example/경로",
        "https://a_b.partner.example/hook",
        "https://-hooks.partner.example/hook",
        "https://999.1.1.1/hook",
        "https://\udc00.example/hook",
    ],
)
def test_malformed_urls_rejected(url: str) -> None:
    with pytest.raises(InvalidInputError):
        DEPLOYED.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.partner.example/servicedesk?tenant=acme", "https://8.8.8.8:8443/hook", "https://[2001:4860:4860::8888]/"],
)
def test_public_https_urls_accepted(url: str) -> None:
    assert DEPLOYED.check_url(url) == url


def test_local_setting_admits_only_loopback() -> None:
    assert LOCAL.check_url("http://127.0.0.1:8123/hook") == "http://127.0.0.1:8123/hook"
    assert LOCAL.check_url("http://localhost:8123/hook") == "http://localhost:8123/hook"
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://192.168.0.1/", "http://[fe80::1]/"):
        with pytest.raises(InvalidInputError):
            LOCAL.check_url(url)


def test_literal_address_reads_numeric_forms() -> None:
    assert literal_address("2852039166") == ipaddress.ip_address("169.254.169.254")
    assert literal_address("0x7f.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("[::1]") == ipaddress.ip_address("::1")
    assert literal_address("hooks.partner.example") is None


# Signatures and the partner verifier.


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    import hashlib
    import hmac

    body = '{"event_type":"TicketCreated","detail":{"제목":"노트북"}}'.encode()

    expected = hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest()

    assert sign("whsec_test", 1700000000, body) == expected
    headers = delivery_headers("01EVENT", ["whsec_test"], 1700000000, body)
    assert headers["Webhook-Signature"] == f"v1={expected}"
    assert headers["Webhook-Id"] == "01EVENT"
    assert headers["Webhook-Timestamp"] == "1700000000"


def test_new_secrets_differ_and_are_long() -> None:
    first, second = new_signing_secret(), new_signing_secret()

    assert first != second
    assert first.startswith("whsec_")
    assert len(first) >= 40


def test_example_verifier_accepts_valid_delivery() -> None:
    verify = example_verifier()
    body = '{"event_type":"TicketCreated","detail":{}}'.encode()
    headers = delivery_headers("01EVENT", ["whsec_a"], 1700000000, body)

    assert verify("whsec_a", headers, body, now=1700000000 + 299)


@pytest.mark.parametrize(
    ("case", "secret", "body_change", "now_offset"),
    [
        ("tampered body", "whsec_a", b" ", 0),
        ("wrong secret", "whsec_b", b"", 0),
        ("replayed after 5 minutes", "whsec_a", b"", 301),
        ("timestamp from the future", "whsec_a", b"", -301),
    ],
)
def test_example_verifier_rejects_mismatch(case: str, secret: str, body_change: bytes, now_offset: int) -> None:
    verify = example_verifier()
    body = '{"event_type":"TicketCreated","detail":{}}'.encode()
    headers = delivery_headers("01EVENT", ["whsec_a"], 1700000000, body)

    assert not verify(secret, headers, body + body_change, now=1700000000 + now_offset), case


def test_example_verifier_accepts_either_secret_during_rotation() -> None:
    verify = example_verifier()
    body = b'{"event_type":"TicketUpdated","detail":{}}'
    headers = delivery_headers("01EVENT", ["whsec_new", "whsec_old"], 1700000000, body)

    assert headers["Webhook-Signature"].count("v1=") == 2
    assert verify("whsec_new", headers, body, now=1700000000)
    assert verify("whsec_old", headers, body, now=1700000000)
    assert not verify("whsec_other", headers, body, now=1700000000)


def test_example_verifier_rejects_missing_headers() -> None:
    verify = example_verifier()

    assert not verify("whsec_a", {}, b"{}", now=1700000000)
    assert not verify("whsec_a", {"Webhook-Timestamp": "soon", "Webhook-Signature": "v1=00"}, b"{}", now=1700000000)


# Retry schedule.


def test_retry_delays_follow_schedule_with_jitter() -> None:
    policy = RetryPolicy(delays_seconds=(30, 120, 600, 3600, 21600), max_consecutive_failures=10)

    lowest = [policy.delay_after(attempt, lambda low, high: low) for attempt in range(1, 6)]
    highest = [policy.delay_after(attempt, lambda low, high: high) for attempt in range(1, 6)]

    assert lowest == pytest.approx([24, 96, 480, 2880, 17280])
    assert highest == pytest.approx([36, 144, 720, 4320, 25920])
    assert policy.delay_after(6, lambda low, high: 1.0) is None


# HTTP client.


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        length = int(self.headers["Content-Length"])
        self.server.received.append((self.headers["Host"], self.rfile.read(length)))
        if self.server.hang_seconds:
            time.sleep(self.server.hang_seconds)
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@pytest.fixture
def local_server() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.received = []
    server.status = 204
    server.hang_seconds = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_sender_connects_to_checked_address(local_server: Any) -> None:
    port = local_server.server_address[1]
    sender = HttpWebhookSender(3, 10, resolver=lambda host, port: ["127.0.0.1"])

    result = sender.send(f"http://hooks.test:{port}/in", {"Content-Type": "application/json"}, b"{}", LOCAL)

    assert result.succeeded
    assert result.status_code == 204
    assert local_server.received == [(f"hooks.test:{port}", b"{}")]


def test_sender_blocks_name_resolving_to_private_address(local_server: Any) -> None:
    port = local_server.server_address[1]
    sender = HttpWebhookSender(3, 10, resolver=lambda host, port: ["8.8.4.4", "10.1.2.3"])

    result = sender.send(f"https://hooks.partner.example:{port}/in", {}, b"{}", DEPLOYED)

    assert result.status_code is None
    assert result.error is not None and result.error.startswith("blocked:")
    assert "10.1.2.3" in result.error
    assert local_server.received == []


def test_sender_blocks_loopback_when_deployed(local_server: Any) -> None:
    port = local_server.server_address[1]
    sender = HttpWebhookSender(3, 10, resolver=lambda host, port: ["127.0.0.1"])

    result = sender.send(f"https://rebound.partner.example:{port}/in", {}, b"{}", DEPLOYED)

    assert result.error is not None and result.error.startswith("blocked:")
    assert local_server.received == []


def test_sender_reports_refused_connection() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = HttpWebhookSender(3, 10)

    result = sender.send(f"http://127.0.0.1:{port}/in", {}, b"{}", LOCAL)

    assert result.status_code is None
    assert result.error == "connection refused"


def test_sender_stops_at_total_timeout(local_server: Any) -> None:
    local_server.hang_seconds = 3
    port = local_server.server_address[1]
    sender = HttpWebhookSender(0.5, 0.5)

    result = sender.send(f"http://127.0.0.1:{port}/in", {}, b"{}", LOCAL)

    assert result.status_code is None
    assert result.error is not None and result.error.startswith("timed out waiting for the response")


def test_sender_treats_non_2xx_as_failure(local_server: Any) -> None:
    local_server.status = 302
    port = local_server.server_address[1]

    result = HttpWebhookSender(3, 10).send(f"http://127.0.0.1:{port}/in", {}, b"{}", LOCAL)

    assert result.status_code == 302
    assert not result.succeeded
    assert result.failure_reason() == "HTTP status 302"
