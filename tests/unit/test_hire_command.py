"""`python -m infra.local.hire` against a port where no local stack listens."""

from __future__ import annotations

import socket

import pytest

from infra.local import hire


def test_hire_without_stack_explains_port(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unused_port = probe.getsockname()[1]

    code = hire.main(["--employee-id", "e-1", "--moto-port", str(unused_port)])

    error = capsys.readouterr().err
    assert code == 1
    assert f"--moto-port {unused_port}" in error
    assert "Traceback" not in error
