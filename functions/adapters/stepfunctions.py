"""Step Functions adapter: start, answer, stop and describe executions."""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.domain.errors import DependencyError
from functions.domain.workflows.ports import execution_arn_for

logger = logging.getLogger(f"servicedesk.{__name__}")

# Error codes of a task token that no longer waits: it timed out, its execution stopped, or
# it was answered already. Answering it again is then a no-op for the caller.
GONE_TOKEN_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
# Step Functions limits: error names up to 256 characters, causes up to 32768.
MAX_ERROR_CHARS = 256
MAX_CAUSE_CHARS = 32768


class StepFunctionsEngine:
    """WorkflowEngine on the Step Functions API."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        try:
            response = self._client.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, ensure_ascii=False)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                # The same name started before: the execution ARN is derived from the name.
                return execution_arn_for(state_machine_arn, name)
            raise DependencyError(f"Step Functions StartExecution failed: {error.response['Error']['Code']}") from error
        except BotoCoreError as error:
            raise DependencyError(f"Step Functions StartExecution failed: {error}") from error
        return str(response["executionArn"])

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        return self._answer("send_task_success", taskToken=task_token, output=json.dumps(output, ensure_ascii=False))

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        return self._answer(
            "send_task_failure", taskToken=task_token, error=error[:MAX_ERROR_CHARS], cause=cause[:MAX_CAUSE_CHARS]
        )

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self._client.stop_execution(executionArn=execution_arn, cause=cause[:MAX_CAUSE_CHARS])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return
            raise DependencyError(f"Step Functions StopExecution failed: {error.response['Error']['Code']}") from error

    def status(self, execution_arn: str) -> str:
        try:
            return str(self._client.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as error:
            raise DependencyError(f"Step Functions DescribeExecution failed: {error.response['Error']['Code']}") from error

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Return every history event of an execution, oldest first."""
        events: list[dict[str, Any]] = []
        request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            response = self._client.get_execution_history(**request)
            events.extend(response.get("events", []))
            if not response.get("nextToken"):
                return events
            request["nextToken"] = response["nextToken"]

    def _answer(self, operation: str, **request: Any) -> bool:
        try:
            getattr(self._client, operation)(**request)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in GONE_TOKEN_CODES:
                logger.info("task no longer waits", extra={"operation": operation, "error_code": code})
                return False
            raise DependencyError(f"Step Functions {operation} failed: {code}") from error
        except BotoCoreError as error:
            raise DependencyError(f"Step Functions {operation} failed: {error}") from error
        return True
