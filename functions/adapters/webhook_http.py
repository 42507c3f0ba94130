"""HTTP client of webhook deliveries, on the standard library's http.client.

urllib.request cannot connect to an address chosen in advance, and its one timeout applies to
each socket operation rather than to the whole request. This client resolves the host and
rejects the request when any address is one the URL policy forbids. It connects to a checked
address, sending the host name for TLS verification and in the Host header. It follows no
redirects and aborts at a total deadline.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from functions.domain.errors import InvalidInputError
from functions.domain.webhook_urls import UrlPolicy
from functions.domain.webhooks import SendResult

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Return the addresses of a host for TCP, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address that still names `host` in its requests."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed address whose certificate must match `host`."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls_context.wrap_socket(raw, server_hostname=self.host)


class HttpWebhookSender:
    """WebhookSender that POSTs with a connect timeout and a total deadline."""

    def __init__(
        self,
        connect_timeout_seconds: float,
        total_timeout_seconds: float,
        resolver: Resolver = resolve,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._connect_timeout = min(connect_timeout_seconds, total_timeout_seconds)
        self._total_timeout = total_timeout_seconds
        self._resolve = resolver
        self._tls_context = tls_context or ssl.create_default_context()

    def send(self, url: str, headers: dict[str, str], body: bytes, policy: UrlPolicy) -> SendResult:
        started = time.monotonic()
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as error:
            return _failed(started, f"DNS lookup of {host} failed: {error}")
        try:
            for address in addresses:
                policy.check_address(ipaddress.ip_address(address))
        except (InvalidInputError, ValueError) as error:
            return _failed(started, f"blocked: {host} resolves to a forbidden address ({_problem(error)})")
        if not addresses:
            return _failed(started, f"DNS lookup of {host} returned no address")

        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = _PinnedHTTPSConnection(host, port, addresses[0], self._connect_timeout, self._tls_context)
        else:
            connection = _PinnedHTTPConnection(host, port, addresses[0], self._connect_timeout)
        return self._post(connection, target, headers, body, started)

    def _post(
        self,
        connection: http.client.HTTPConnection,
        target: str,
        headers: dict[str, str],
        body: bytes,
        started: float,
    ) -> SendResult:
        deadline_passed = threading.Event()
        watchdog: threading.Timer | None = None
        try:
            connection.connect()
            remaining = self._total_timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise TimeoutError
            connection.sock.settimeout(remaining)
            # A server that responds byte by byte resets the socket timeout with every byte, so
            # the total deadline is enforced by shutting the socket down from another thread.
            watchdog = threading.Timer(remaining, _abort, args=(connection, deadline_passed))
            watchdog.daemon = True
            watchdog.start()
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
        except ssl.SSLError as error:
            return _failed(started, f"TLS handshake failed: {error.reason or error}")
        except (TimeoutError, socket.timeout):
            phase = "connecting" if connection.sock is None else "waiting for the response"
            limit = self._connect_timeout if connection.sock is None else self._total_timeout
            return _failed(started, f"timed out {phase} after {limit:g} s")
        except ConnectionRefusedError:
            return _failed(started, "connection refused")
        except (OSError, ValueError, http.client.HTTPException) as error:
            if deadline_passed.is_set():
                return _failed(started, f"timed out waiting for the response after {self._total_timeout:g} s")
            return _failed(started, f"connection failed: {type(error).__name__}: {error}")
        finally:
            if watchdog is not None:
                watchdog.cancel()
            connection.close()
        return SendResult(status_code=status, latency_ms=_elapsed_ms(started))


def _abort(connection: http.client.HTTPConnection, deadline_passed: threading.Event) -> None:
    deadline_passed.set()
    sock: Any = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _failed(started: float, error: str) -> SendResult:
    return SendResult(status_code=None, latency_ms=_elapsed_ms(started), error=error[:500])


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _problem(error: Exception) -> str:
    return error.message if isinstance(error, InvalidInputError) else str(error)
