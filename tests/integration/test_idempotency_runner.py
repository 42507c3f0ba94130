"""The idempotent runner under concurrent calls with different scopes, as on the local server."""

from __future__ import annotations

import threading
from typing import Any

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



def test_repeated_calls_add_no_client_hooks(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.shared import user_agent

    hook_calls = [0]
    make_hook = user_agent._create_feature_function

    def counted_hook(feature: str) -> Any:
        hook = make_hook(feature)

        def counted(request: Any, **kwargs: Any) -> None:
            hook_calls[0] += 1
            hook(request, **kwargs)

        return counted

    monkeypatch.setattr(user_agent, "_create_feature_function", counted_hook)
    client = boto3.client("dynamodb")
    runner = IdempotentRunner(client, aws["IdempotencyTableName"], 3600)

    def hooks_per_request() -> int:
        hook_calls[0] = 0
        client.describe_table(TableName=aws["IdempotencyTableName"])
        return hook_calls[0]

    runner.run("scope-hooks", ["tenant", "key-hooks-0"], {"n": 0}, lambda: {"done": True})
    after_one = hooks_per_request()
    for number in range(1, 30):
        runner.run("scope-hooks", ["tenant", f"key-hooks-{number}"], {"n": number}, lambda: {"done": True})

    assert after_one >= 1
    assert hooks_per_request() == after_one
