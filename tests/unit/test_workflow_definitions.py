"""The state machine definitions, their inlining into the template, and the generated diagrams."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.workflow_definitions import DEFINITION_MARKER, DefinitionError, definition_files, inline_definitions, load_definition

ROOT = Path(__file__).resolve().parents[2]


def worker_steps(states: dict[str, Any]) -> set[str]:
    steps = set()
    for state in states.values():
        step = state.get("Parameters", {}).get("MessageBody", {}).get("step")
        if step:
            steps.add(step)
        for branch in state.get("Branches", []):
            steps |= worker_steps(branch["States"])
    return steps


def test_every_worker_step_has_handler() -> None:
    from functions.domain.workflows.worker import WorkflowWorker

    named = set().union(*(worker_steps(load_definition(path.name)["States"]) for path in definition_files()))
    handled = WorkflowWorker.__new__(WorkflowWorker)
    WorkflowWorker.__init__(handled, None, None, None, None)  # type: ignore[arg-type]

    assert named == handled.steps


def test_template_markers_name_existing_files() -> None:
    text = (ROOT / "infra" / "resources.yaml").read_text("utf-8")
    markers = DEFINITION_MARKER.findall(text)

    assert sorted(markers) == sorted(path.name for path in definition_files())
    inlined = inline_definitions(text)
    assert "{{workflows/" not in inlined
    assert '\\"task_token.$\\":\\"$$.Task.Token\\"' in inlined


def test_missing_definition_rejected(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="does not exist"):
        inline_definitions('DefinitionString: "{{workflows/absent.asl.json}}"', tmp_path)


def test_task_states_wait_with_timeouts() -> None:
    """A waiting task without a timeout would wait for a year (Step Functions' limit)."""
    for path in definition_files():
        pending = [load_definition(path.name)["States"]]
        while pending:
            for name, state in pending.pop().items():
                pending.extend(branch["States"] for branch in state.get("Branches", []))
                if state.get("Resource", "").endswith(".waitForTaskToken"):
                    assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{path.name}: {name}"


def test_diagrams_up_to_date() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import generate_workflow_diagrams
    finally:
        sys.path.remove(str(ROOT / "docs"))

    assert generate_workflow_diagrams.main(["--check"]) == 0
    assert json.loads((ROOT / "infra" / "workflows" / "onboarding.asl.json").read_text())["StartAt"] == "Provision"
