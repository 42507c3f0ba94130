"""Invoke the handlers of an unpacked deployment.zip the way Lambda does, outside the work tree.

Run as `python -I -S artifact_probe.py SPEC_FILE`: with neither site-packages nor the script's
folder on sys.path, every import must come from the unpacked code or the standard library.
SPEC_FILE is JSON with `code_dir`, `handlers` (logical id to Lambda handler string), `requests`
(name to API Gateway proxy event), `sqs_event` and `result_file`, where the results are written
as JSON, since the handlers log to stdout.
"""

from __future__ import annotations

import importlib
import json
import sys
import sysconfig
import uuid
from typing import Any


class LambdaContext:
    """The attributes of Lambda's context object that Chalice and Powertools read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:ap-northeast-2:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "probe"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_handler(handler: str) -> Any:
    """Import a handler string such as `app.app` as Lambda's Python runtime does."""
    module_name, _, attribute = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def foreign_modules(code_dir: str) -> dict[str, str]:
    """Return loaded modules whose file is neither in the unpacked code nor in the standard library."""
    allowed = (code_dir, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    foreign = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and path != __file__ and not path.startswith(allowed):
            foreign[name] = path
    return foreign


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        spec = json.load(file)
    sys.path.insert(0, spec["code_dir"])
    results: dict[str, Any] = {}

    # A container of the intake function imports only the module its Handler names.
    intake = load_handler(spec["handlers"]["HandleIntake"])
    results["intake_middleware_count"] = len(list(intake.middleware_handlers))
    results["intake"] = intake(spec["sqs_event"], LambdaContext("HandleIntake"))

    api = load_handler(spec["handlers"]["APIHandler"])
    results["responses"] = {
        name: api(event, LambdaContext("APIHandler")) for name, event in spec["requests"].items()
    }

    results["sys_path"] = sys.path
    results["foreign_modules"] = foreign_modules(spec["code_dir"])
    results["loaded"] = sorted(name for name in sys.modules if "." not in name)
    with open(spec["result_file"], "w", encoding="utf-8") as file:
        json.dump(results, file)


if __name__ == "__main__":
    main()
