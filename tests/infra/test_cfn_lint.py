"""cfn-lint on the hand-written template and on the packaged SAM template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from tests.infra.conftest import PackagedApp

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The region the service runs in, and one that gets new resource types first.
REGIONS = ["ap-northeast-2", "us-east-1"]


def lint_errors(path: Path) -> list[str]:
    """Return cfn-lint's errors and warnings for a template; SAM templates are translated first."""
    matches = lint(path.read_text("utf-8"), config=ManualArgs(regions=REGIONS))
    return [f"{match.rule.id} line {match.linenumber}: {match.message}" for match in matches]


def test_resources_template_lints_clean(tmp_path: Path) -> None:
    from infra.workflow_definitions import inline_definitions

    # The template as deployed: with the state machine definitions inlined.
    inlined = tmp_path / "resources.yaml"
    inlined.write_text(inline_definitions((PROJECT_DIR / "infra" / "resources.yaml").read_text("utf-8")), "utf-8")

    assert lint_errors(inlined) == []


def test_dashboard_template_lints_clean(tmp_path: Path) -> None:
    from infra.package import combined_merge_template

    # The dashboard refers to queues of resources.yaml, so it is linted merged over them.
    paths = (PROJECT_DIR / "infra" / "resources.yaml", PROJECT_DIR / "infra" / "dashboard.yaml")
    merged = tmp_path / "resources-and-dashboard.json"
    merged.write_text(json.dumps(combined_merge_template(paths)), "utf-8")

    assert lint_errors(merged) == []


@pytest.mark.package
def test_packaged_template_lints_clean(packaged: PackagedApp) -> None:
    assert lint_errors(packaged.template_path) == []


@pytest.mark.package
def test_lint_reports_unresolved_reference(packaged: PackagedApp, tmp_path: Path) -> None:
    # Chalice 1.34 writes ${ApiHandler} here for a function whose logical id is APIHandler.
    template = packaged.sam_template()
    template["Resources"]["ApiHandlerLogGroup"]["Properties"]["LogGroupName"] = {"Fn::Sub": "/aws/lambda/${ApiHandler}"}
    broken = tmp_path / "sam.json"
    broken.write_text(json.dumps(template), "utf-8")

    errors = lint_errors(broken)

    assert any(error.startswith("E1019") and "ApiHandler" in error for error in errors), errors
