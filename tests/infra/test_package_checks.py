"""The checks that infra/package.py runs on what `chalice package` produced, on small fakes."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import package

PROJECT_DIR = Path(__file__).resolve().parents[2]


def source_files() -> list[str]:
    return [
        path.relative_to(PROJECT_DIR).as_posix()
        for path in (PROJECT_DIR / "functions").rglob("*.py")
        if "__pycache__" not in path.parts
    ]


def write_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"")
    return path


def complete_zip_names() -> list[str]:
    return [
        "app.py",
        *source_files(),
        "pydantic/__init__.py",
        "pydantic_core/__init__.py",
        "pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so",
        "pydantic_settings/__init__.py",
        "aws_lambda_powertools/__init__.py",
        "jwt/__init__.py",
        "wrapt/_wrappers.cpython-311-x86_64-linux-gnu.so",
    ]


def sam_function(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.11", **properties}}


def test_requirements_are_project_dependencies() -> None:
    with (PROJECT_DIR / "pyproject.toml").open("rb") as file:
        expected = tomllib.load(file)["project"]["dependencies"]

    requirements = package.runtime_requirements()

    assert requirements == expected
    assert any(requirement.startswith("pydantic>=") for requirement in requirements)
    assert not any(requirement.startswith(("scikit-learn", "pandas", "numpy", "sagemaker", "moto")) for requirement in requirements)


def test_requirements_reject_empty_dependencies(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n', "utf-8")

    with pytest.raises(package.PackagingError, match="no \\[project\\] dependencies"):
        package.runtime_requirements(pyproject)


def test_merge_replaces_lists_and_merges_mappings() -> None:
    base = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [1], "DelaySeconds": 0}}}}
    overlay = {"Resources": {"Queue": {"Properties": {"Tags": [2], "VisibilityTimeout": 60}}}}

    merged = package.merge_templates(base, overlay)

    assert merged["Resources"]["Queue"] == {
        "Type": "AWS::SQS::Queue",
        "Properties": {"Tags": [2], "DelaySeconds": 0, "VisibilityTimeout": 60},
    }
    assert base["Resources"]["Queue"]["Properties"]["Tags"] == [1]


def test_combined_merge_template_keeps_resources_and_overrides() -> None:
    combined = package.combined_merge_template()

    assert combined["Resources"]["IntakeQueue"]["Properties"]["QueueName"] == "servicedesk-intake"
    assert combined["Resources"]["IntakeQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]
    }
    events = combined["Resources"]["HandleIntake"]["Properties"]["Events"]
    assert events["HandleIntakeSqsEventSource"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert combined["Parameters"]["SentimentEndpointName"]["Default"] == "servicedesk-sentiment"
    assert "AllowedPattern" in combined["Parameters"]["SentimentEndpointName"]


def test_complete_zip_passes(tmp_path: Path) -> None:
    package.check_deployment_zip(write_zip(tmp_path / "deployment.zip", complete_zip_names()))


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ([name for name in complete_zip_names() if not name.startswith("pydantic_core/")], "missing pydantic_core"),
        ([name for name in complete_zip_names() if not name.startswith("functions/")], "missing functions"),
        ([name for name in complete_zip_names() if not name.endswith("intake.py")], "missing source files"),
        (
            [name for name in complete_zip_names() if not name.endswith(".so")] + ["pydantic_core/_pydantic_core.cpython-311-darwin.so"],
            "pydantic_core has no extension module",
        ),
        (complete_zip_names() + ["wrapt/_wrappers.cpython-312-x86_64-linux-gnu.so"], "built for another platform"),
        (complete_zip_names() + ["sklearn/__init__.py", "pandas/__init__.py"], "pandas, sklearn must not be deployed"),
    ],
    ids=["no-pydantic-core", "no-functions", "no-intake-module", "macos-wheel", "python312-wheel", "model-libraries"],
)
def test_incomplete_zip_fails(tmp_path: Path, names: list[str], problem: str) -> None:
    archive = write_zip(tmp_path / "deployment.zip", names)

    with pytest.raises(package.PackagingError, match=problem):
        package.check_deployment_zip(archive)


def test_missing_zip_fails(tmp_path: Path) -> None:
    with pytest.raises(package.PackagingError, match="wrote no"):
        package.check_deployment_zip(tmp_path / "deployment.zip")


def test_template_without_batch_failures_fails() -> None:
    template = {
        "Resources": {
            "Consumer": sam_function(Events={"Queue": {"Type": "SQS", "Properties": {"Queue": "arn:aws:sqs:x"}}})
        }
    }

    with pytest.raises(package.PackagingError, match="does not report batch item failures"):
        package.check_template(template)


def test_template_with_typeless_resource_fails() -> None:
    template = {"Resources": {"Renamed": {"Properties": {"Environment": {}}}}}

    with pytest.raises(package.PackagingError, match="Renamed has no Type"):
        package.check_template(template)


def test_template_with_mixed_intrinsic_fails() -> None:
    queue = {"Fn::Sub": "arn:${AWS::Partition}:sqs:x", "Fn::GetAtt": ["IntakeQueue", "Arn"]}
    template = {
        "Resources": {
            "Consumer": sam_function(
                Events={"Queue": {"Type": "SQS", "Properties": {"Queue": queue, "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}
            )
        }
    }

    with pytest.raises(package.PackagingError, match=r"Resources\.Consumer\.Properties\.Events\.Queue\.Properties\.Queue"):
        package.check_template(template)


def test_template_with_other_runtime_fails() -> None:
    template = {"Resources": {"Api": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12"}}}}

    with pytest.raises(package.PackagingError, match="runtime python3.12, expected python3.11"):
        package.check_template(template)


def test_template_with_typeless_event_fails() -> None:
    template = {"Resources": {"Consumer": sam_function(Events={"RenamedSqsEventSource": {"Properties": {"BatchSize": 10}}})}}

    with pytest.raises(package.PackagingError, match="event RenamedSqsEventSource of Consumer has no Type"):
        package.check_template(template)


def test_template_with_placeholder_user_pool_fails() -> None:
    from functions.api.auth import PLACEHOLDER_USER_POOL_ARN

    authorizer = {"x-amazon-apigateway-authorizer": {"providerARNs": [PLACEHOLDER_USER_POOL_ARN]}}
    template = {
        "Resources": {
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {"DefinitionBody": {"securityDefinitions": {"Renamed": authorizer}}},
            }
        }
    }

    with pytest.raises(package.PackagingError, match="placeholder user pool"):
        package.check_template(template)
