"""Fixtures for the template and artifact tests: one `chalice package` build per session."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import package


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "package: builds the deployment artifact with `chalice package`, which downloads wheels from PyPI",
    )


class PackagedApp:
    """Paths of one build of the deployment artifact, and its SAM template."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.template_path = out_dir / "sam.json"
        self.deployment_zip = out_dir / "deployment.zip"
        self.template: dict[str, Any] = json.loads(self.template_path.read_text("utf-8"))

    def sam_template(self) -> dict[str, Any]:
        """Return a copy of the SAM template that a test may change."""
        return copy.deepcopy(self.template)


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> PackagedApp:
    """Build the artifact once per session with infra/package.py, as `make package` does."""
    out_dir = tmp_path_factory.mktemp("package")
    environment = {"AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", package.DEFAULT_REGION)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        try:
            package.build(out_dir)
        except package.PackagingError as error:
            pytest.fail(f"packaging failed: {error}")
    return PackagedApp(out_dir)


class NoManagedPolicies:
    """Managed policy loader for aws-sam-translator that fails if a function requests one.

    Every function of the template has an explicit Role, so SAM never needs AWS managed
    policy ARNs. Looking them up would need IAM credentials.
    """

    def load(self) -> dict[str, str]:
        raise AssertionError("a SAM function names a managed policy; give it the role from .chalice/policy-prod.json")


def translate(sam_template: dict[str, Any], code_uri: str = "s3://servicedesk-artifacts/deployment.zip") -> dict[str, Any]:
    """Translate a SAM template to plain CloudFormation with aws-sam-translator.

    SAM accepts only S3 code locations, so every function's CodeUri is replaced by `code_uri`,
    as `sam package` or `aws cloudformation package` would after uploading deployment.zip.
    """
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(sam_template)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    return transform(template, {}, NoManagedPolicies())


@pytest.fixture(scope="session")
def translated_template(packaged: PackagedApp) -> dict[str, Any]:
    # The translator builds ARNs for the region of the boto3 session, and needs one.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", package.DEFAULT_REGION))
        return translate(packaged.sam_template())


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }


def referenced_logical_id(value: Any) -> str | None:
    """Return the resource that an ARN-valued intrinsic points at, or None for a literal ARN.

    Handles `{"Fn::GetAtt": [Id, "Arn"]}` and `{"Fn::Sub": "${Id.Arn}"}`.
    """
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else target.split(".", 1)[0]
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        match = re.fullmatch(r"\$\{([A-Za-z0-9]+)\.Arn\}", value["Fn::Sub"])
        return match.group(1) if match else None
    return None


MOTO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-2",
    "AWS_REGION": "ap-northeast-2",
    # An account of its own keeps these resources apart from the session-wide moto account of
    # the integration tests, which uses the same table and queue names.
    "MOTO_ACCOUNT_ID": "210987654321",
}


@pytest.fixture(scope="module")
def moto_environment() -> Iterator[dict[str, str]]:
    """Credentials, region and account id for a moto test, set for one test module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in MOTO_ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield MOTO_ENVIRONMENT
