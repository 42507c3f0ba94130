"""A local stack started as `python -m infra.local` on free ports, shared by the e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningStack:
    process: subprocess.Popen
    api_url: str
    aws_endpoint: str
    secret_file: Path
    log: list[str] = field(default_factory=list)

    def headers(self, tenant: str, user: str = "supervisor-1", role: str = "supervisor", **extra: str) -> dict[str, str]:
        """JSON headers with a development token signed by this stack's secret."""
        from infra.local.dev_tokens import mint_token

        return {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {mint_token(self.secret_file, tenant, user, role)}",
            **extra,
        }


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    api_port, moto_port = free_port(), free_port()
    artifacts = tmp_path_factory.mktemp("artifacts")
    secret_file = tmp_path_factory.mktemp("secrets") / "dev-token-secret"
    empty_data = tmp_path_factory.mktemp("no-public-data")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO_"))
    }
    # The model trains from the project's own corpus, as on a fresh machine without public data.
    environment["SERVICEDESK_DATA_DIR"] = str(empty_data)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "infra.local",
            "--api-port", str(api_port), "--moto-port", str(moto_port),
            "--schedule-seconds", "2", "--artifacts-dir", str(artifacts), "--secret-file", str(secret_file),
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A group of its own, so that teardown can stop it as a service manager does.
        start_new_session=True,
    )
    running = RunningStack(process, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{moto_port}", secret_file)
    ready = threading.Event()

    def read_output() -> None:
        for line in process.stdout:
            running.log.append(line.rstrip())
            if "local stack ready" in line:
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready.wait(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("local stack did not start:\n" + "\n".join(running.log[-40:]))

    yield running

    if process.poll() is None:
        # SIGTERM to the whole process group, as `docker stop` and systemd send it. Not SIGINT:
        # a shell that starts jobs in the background makes them ignore SIGINT.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the local stack did not stop within 30 s of SIGTERM to its process group")


def wait_for(condition, timeout: float = 60, interval: float = 0.5):
    """Poll until condition() returns a truthy value; return it, or fail after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
