"""The local stack's moto server keeps connections open without mixing up requests."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import PROJECT_ROOT, free_port

LIST_TABLES_HEADERS = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/ap-northeast-2/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


@pytest.fixture(scope="module")
def moto_port() -> Iterator[int]:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO_"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "infra.local.moto_server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    """Wait until a server listens on the port; raise RuntimeError when `process` exits or 60 s pass."""
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the moto server did not start on port {port}") from None
            time.sleep(0.2)


def create_table(connection: http.client.HTTPConnection, name: str) -> None:
    body = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    headers = {**LIST_TABLES_HEADERS, "X-Amz-Target": "DynamoDB_20120810.CreateTable"}
    connection.request("POST", "/", body=json.dumps(body), headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 200


def test_requests_share_one_connection(moto_port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=10)
    connection.connect()
    opened = connection.sock

    create_table(connection, "keep-alive-a")
    answers = []
    for _ in range(3):
        connection.request("POST", "/", body="{}", headers=LIST_TABLES_HEADERS)
        response = connection.getresponse()
        answers.append(json.loads(response.read()))
        assert response.getheader("Connection") is None

    assert connection.sock is opened
    assert all("keep-alive-a" in answer["TableNames"] for answer in answers)


def test_pipelined_requests_each_get_response(moto_port: int) -> None:
    request = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in LIST_TABLES_HEADERS.items())
        + "\r\n{}"
    ).encode()
    with socket.create_connection(("127.0.0.1", moto_port), timeout=10) as client:
        # Both requests arrive before the first response, so reading past the first body would
        # swallow the second request and leave it unanswered.
        client.sendall(request + request)
        received = b""
        deadline = time.monotonic() + 10
        while received.count(b"HTTP/1.1 200") < 2 and time.monotonic() < deadline:
            received += client.recv(65536)

    assert received.count(b"HTTP/1.1 200") == 2


def test_client_asking_to_close_gets_a_closed_connection(moto_port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=10)
    connection.request("POST", "/", body="{}", headers={**LIST_TABLES_HEADERS, "Connection": "close"})
    response = connection.getresponse()
    response.read()

    assert response.status == 200
    assert response.will_close


def test_chunked_request_closes_connection(moto_port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", moto_port, timeout=10)
    connection.request("POST", "/", body=iter([b"{", b"}"]), headers=LIST_TABLES_HEADERS, encode_chunked=True)
    response = connection.getresponse()
    body = json.loads(response.read())

    assert response.status == 200
    assert "TableNames" in body
    assert response.will_close


def test_server_exits_with_killed_parent() -> None:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO_"))}
    # The parent starts the server, prints its pid and waits, as the local stack does.
    parent_code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-m', 'infra.local.moto_server', '--port', '{port}', "
        "'--exit-with-parent'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    try:
        wait_for_port(port, parent)

        parent.kill()
        parent.wait(timeout=10)

        deadline = time.monotonic() + 15
        while _running(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(server_pid)
    finally:
        parent.kill()
        if _running(server_pid):
            os.kill(server_pid, 9)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) counts as stopped.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")
