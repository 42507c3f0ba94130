"""Let moto's CloudFormation create state machines that moto can run.

NOTE: moto 5.2 has two faults here, both fixed by install():

- It keeps two Step Functions backends. With `execute_state_machine` enabled, the API uses the
  one that runs executions, but CloudFormation always creates state machines in the other one,
  so a deployed state machine is "not found" when started. The patch makes CloudFormation
  create, update and delete them in the backend that the API uses.
- Its `Fn::Sub` with a variable map runs Python's `string.Template`, which turns `$$` into `$`,
  so `$$.Task.Token` in a definition becomes `$.Task.Token`. AWS replaces only `${Name}`; the
  patch makes moto do the same.

The definition, name, role and tags still come from the template, unchanged.
"""

from __future__ import annotations

import re
import string
import threading
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

_installed = False
_lock = threading.Lock()


def install() -> None:
    """Patch moto's StateMachine CloudFormation handlers in this process; calling again does nothing."""
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
        _installed = True
