"""Step Functions executions on moto, caught in the moment between StartExecution and their first state.

moto builds an execution's state in a worker thread. These tests hold that thread back, as a
busy machine does, and check that StopExecution and the task token calls then behave as on AWS.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

WAITING_DEFINITION = json.dumps({
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}},
})


@pytest.fixture
def held_worker(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Keep every new execution's worker thread from beginning until the returned event is set."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    release = threading.Event()
    original = ExecutionWorker._get_evaluation_entrypoint

    def held_entrypoint(self: Any) -> Any:
        release.wait(timeout=10)
        return original(self)

    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", held_entrypoint)
    yield release
    release.set()


def _wait_for_status(client: Any, execution_arn: str, status: str, timeout_seconds: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_seconds
    current = ""
    while time.monotonic() < deadline:
        current = client.describe_execution(executionArn=execution_arn)["status"]
        if current == status:
            break
        time.sleep(0.05)
    return current


def _state_machine() -> tuple[Any, str]:
    client = boto3.client("stepfunctions")
    arn = client.create_state_machine(
        name=f"held-{uuid.uuid4().hex[:12]}",
        definition=WAITING_DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/servicedesk-test",
    )["stateMachineArn"]
    return client, arn


def test_stop_after_start_aborts(held_worker: threading.Event) -> None:
    client, arn = _state_machine()
    execution_arn = client.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    threading.Timer(0.2, held_worker.set).start()

    client.stop_execution(executionArn=execution_arn, cause="stopped at once")

    assert _wait_for_status(client, execution_arn, "ABORTED") == "ABORTED"


def test_token_calls_skip_unstarted_executions(held_worker: threading.Event) -> None:
    client, arn = _state_machine()
    execution_arn = client.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    for token_call in (
        lambda: client.send_task_failure(taskToken="no-such-token", error="Test.Failed", cause="test"),
        lambda: client.send_task_success(taskToken="no-such-token", output="{}"),
        lambda: client.send_task_heartbeat(taskToken="no-such-token"),
    ):
        with pytest.raises(ClientError) as raised:
            token_call()
        assert raised.value.response["Error"]["Code"] == "InvalidToken"

    held_worker.set()
    assert _wait_for_status(client, execution_arn, "RUNNING") == "RUNNING"
    client.stop_execution(executionArn=execution_arn, cause="test over")
