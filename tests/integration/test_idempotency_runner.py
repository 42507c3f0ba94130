"""The idempotent runner under concurrent calls with different scopes, as on the local server."""

from __future__ import annotations

import threading

import boto3
import pytest

from functions.adapters.idempotency import IdempotentRunner
from functions.domain.errors import RequestInProgressError


def test_failed_call_can_run_again_despite_concurrent_scope(aws: dict[str, str]) -> None:
    runner = IdempotentRunner(boto3.client("dynamodb"), aws["IdempotencyTableName"], 3600)
    inside_failing = threading.Event()
    other_finished = threading.Event()

    def failing() -> dict:
        inside_failing.set()
        other_finished.wait(10)
        raise ValueError("downstream failed")

    def other() -> dict:
        inside_failing.wait(10)
        return {"ok": True}

    errors: list[Exception] = []

    def run_failing() -> None:
        try:
            runner.run("scope-a", ["tenant", "key-1"], {"n": 1}, failing)
        except ValueError as error:
            errors.append(error)

    first = threading.Thread(target=run_failing)
    first.start()
    runner.run("scope-b", ["tenant", "key-1"], {"n": 1}, other)
    other_finished.set()
    first.join(10)

    assert len(errors) == 1
    assert runner.run("scope-a", ["tenant", "key-1"], {"n": 1}, lambda: {"retried": True}) == {"retried": True}


def test_concurrent_same_key_is_in_progress(aws: dict[str, str]) -> None:
    runner = IdempotentRunner(boto3.client("dynamodb"), aws["IdempotencyTableName"], 3600)
    inside = threading.Event()
    release = threading.Event()

    def slow() -> dict:
        inside.set()
        release.wait(10)
        return {"done": True}

    worker = threading.Thread(target=runner.run, args=("scope-c", ["tenant", "key-2"], {"n": 1}, slow))
    worker.start()
    inside.wait(10)

    with pytest.raises(RequestInProgressError):
        runner.run("scope-c", ["tenant", "key-2"], {"n": 1}, lambda: {"done": False})
    release.set()
    worker.join(10)
    assert runner.run("scope-c", ["tenant", "key-2"], {"n": 1}, lambda: {"done": False}) == {"done": True}
