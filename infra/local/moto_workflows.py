"""Let moto's CloudFormation create state machines that moto can run, and run them without races.

NOTE: moto 5.2 has four faults here, all fixed by install():

- It keeps two Step Functions backends. With `execute_state_machine` enabled, the API uses the
  one that runs executions, but CloudFormation always creates state machines in the other one,
  so a deployed state machine is "not found" when started. The patch makes CloudFormation
  create, update and delete them in the backend that the API uses.
- Its `Fn::Sub` with a variable map runs Python's `string.Template`, which turns `$$` into `$`,
  so `$$.Task.Token` in a definition becomes `$.Task.Token`. AWS replaces only `${Name}`; the
  patch makes moto do the same.
- An execution builds its state in its own thread after StartExecution returns. A StopExecution
  in that moment fails with "'NoneType' object has no attribute 'set_stop'", and a stop just
  before the first state is lost. The patch makes a stop wait until the execution has begun.
- SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat look for the token in every execution,
  and fail the same way on one that has not begun. The patch skips those: a token comes from a
  running state, so an execution that has not begun cannot hold it.

The definition, name, role and tags still come from the template, unchanged.
"""

from __future__ import annotations

import re
import string
import threading
import time
from types import SimpleNamespace
from typing import Any


class _AwsSubTemplate(string.Template):
    """string.Template that, like CloudFormation's Fn::Sub, replaces only `${Name}`."""

    flags = re.VERBOSE
    pattern = r"""
    \$(?:
      (?P<escaped>(?!x)x) |
      (?P<named>(?!x)x) |
      {(?P<braced>[A-Za-z0-9_.:]+)} |
      (?P<invalid>)
    )
    """

# How long a stop waits for a starting execution to begin. Locally one begins within milliseconds.
EXECUTION_BEGIN_TIMEOUT_SECONDS = 5.0
EXECUTION_BEGIN_POLL_SECONDS = 0.005

_installed = False
_lock = threading.Lock()


def _has_begun(worker: Any) -> bool:
    """Return whether an execution worker has built its environment and entered its first state."""
    env = worker.env
    return env is not None and env.program_state() is not None


def _patch_execution_start_races() -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_stop = ExecutionWorker.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        deadline = time.monotonic() + EXECUTION_BEGIN_TIMEOUT_SECONDS
        while not _has_begun(self) and time.monotonic() < deadline:
            time.sleep(EXECUTION_BEGIN_POLL_SECONDS)
        if self.env is None:
            # The worker thread died before it began, so there is nothing to stop.
            return
        original_stop(self, stop_date=stop_date, error=error, cause=cause)

    def started_executions(self: Any, execution_status: Any = None) -> list[Any]:
        executions = []
        for state_machine in list(self.state_machines):
            for execution in list(state_machine.executions):
                worker = execution.exec_worker
                if worker is None or execution.exec_status is None or worker.env is None:
                    continue
                if execution_status is None or execution.exec_status == execution_status:
                    executions.append(execution)
        return executions

    ExecutionWorker.stop = stop  # type: ignore[method-assign]
    StepFunctionsParserBackend._get_executions = started_executions  # type: ignore[method-assign]


def install() -> None:
    """Patch moto's StateMachine CloudFormation handlers and execution start in this process.

    Calling it again does nothing.
    """
    global _installed
    with _lock:
        if _installed:
            return
        from moto.cloudformation import parsing
        from moto.stepfunctions import models
        from moto.stepfunctions.responses import get_backend

        class _ExecutingBackends:
            """Stands in for `stepfunctions_backends` inside moto's CloudFormation handlers."""

            def __getitem__(self, account_id: str) -> Any:
                return _Regions(account_id)

        class _Regions:
            def __init__(self, account_id: str) -> None:
                self._account_id = account_id

            def __getitem__(self, region_name: str) -> Any:
                return get_backend(self._account_id, region_name)

        # The handlers look `stepfunctions_backends` up in their module at call time.
        models.stepfunctions_backends = _ExecutingBackends()  # type: ignore[assignment]
        # parsing.py calls `string.Template` through its own `string` name.
        parsing.string = SimpleNamespace(Template=_AwsSubTemplate)  # type: ignore[assignment]
        _patch_execution_start_races()
        _installed = True
