"""Build the deployment artifact: `chalice package` with `functions/` vendored and the
CloudFormation resources merged in, then check what it produced.

    python -m infra.package [OUT_DIR]        (default: build/package)

OUT_DIR receives `sam.json` (a SAM template), `deployment.zip` (the code of every function),
`merge-template.json` (infra/resources.yaml with infra/functions.yaml merged over it) and the
generated `requirements.txt`. Chalice bundles only `app.py`, `chalicelib/` and `vendor/`, so the
project is staged in a temporary folder with `functions/` under `vendor/`, and the work tree stays
unchanged. `chalice package` exits 0 even when it could not bundle a dependency, so the artifact
is checked afterwards and any fault raises PackagingError.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from infra.workflow_definitions import inline_definitions

PROJECT_DIR = Path(__file__).resolve().parent.parent
INFRA_DIR = PROJECT_DIR / "infra"
MERGE_TEMPLATES = (INFRA_DIR / "resources.yaml", INFRA_DIR / "dashboard.yaml", INFRA_DIR / "functions.yaml")
DEFAULT_OUT_DIR = PROJECT_DIR / "build" / "package"
STAGE = "prod"
LAMBDA_RUNTIME = "python3.11"
DEFAULT_REGION = "ap-northeast-2"

# Top-level names that must be in deployment.zip: the app, its code and the runtime dependencies
# that the handlers import.
REQUIRED_TOP_LEVEL = (
    "app.py",
    "functions",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "aws_lambda_powertools",
    "jwt",
)
# Model and test libraries that must stay off the Lambda path.
FORBIDDEN_TOP_LEVEL = ("sklearn", "scipy", "pandas", "numpy", "joblib", "sagemaker", "moto", "ml", "matplotlib")
# Lambda's limit for a function's code and layers, unzipped.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# Lambda's Python 3.11 runtime on x86_64 loads extension modules built for this tag.
EXTENSION_SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


class PackagingError(RuntimeError):
    """The artifact could not be built, or was built without something the functions need."""


def runtime_requirements(pyproject: Path = PROJECT_DIR / "pyproject.toml") -> list[str]:
    """Return the `[project] dependencies` of pyproject.toml: what the Lambda code imports."""
    with pyproject.open("rb") as file:
        dependencies = tomllib.load(file).get("project", {}).get("dependencies", [])
    if not dependencies:
        raise PackagingError(f"{pyproject} lists no [project] dependencies, but the functions need at least pydantic: add them there")
    return list(dependencies)


def load_template(path: Path) -> dict[str, Any]:
    """Read a CloudFormation YAML or JSON template, with short-form intrinsics as long form."""
    try:
        template = cfn_yaml.loads(inline_definitions(path.read_text("utf-8")), str(path))
    except Exception as error:  # noqa: BLE001 - cfn-lint raises several parser error types
        raise PackagingError(f"cannot read template {path}: {error}") from error
    # A JSON round trip turns cfn-lint's node classes into plain dicts, lists and strings.
    return json.loads(json.dumps(template))


def merge_templates(base: Any, overlay: Any) -> Any:
    """Deep-merge `overlay` over `base`: mappings merge key by key, any other value replaces.

    These are the semantics of `chalice package --merge-template`, so the combined template
    behaves as if each file had been merged on its own.
    """
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge_templates(base.get(key), value)
        return merged
    return overlay


def combined_merge_template(paths: tuple[Path, ...] = MERGE_TEMPLATES) -> dict[str, Any]:
    combined: dict[str, Any] = {}
    for path in paths:
        combined = merge_templates(combined, load_template(path))
    return combined


def stage_project(staging: Path, requirements: list[str]) -> None:
    """Lay out a Chalice project in `staging`: app.py, .chalice/ config, vendor/functions."""
    shutil.copy2(PROJECT_DIR / "app.py", staging / "app.py")
    shutil.copytree(
        PROJECT_DIR / ".chalice",
        staging / ".chalice",
        ignore=shutil.ignore_patterns("deployments", "venv"),
    )
    shutil.copytree(
        PROJECT_DIR / "functions",
        staging / "vendor" / "functions",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    (staging / "requirements.txt").write_text("\n".join(requirements) + "\n", "utf-8")


def run_chalice_package(staging: Path, out_dir: Path, merge_template: Path) -> None:
    environment = dict(os.environ)
    # Chalice creates a botocore session while packaging and fails without a region. The
    # template itself uses AWS::Region, so the value does not end up in the artifact.
    environment.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    command = [
        str(Path(sys.executable).with_name("chalice")),
        "--project-dir",
        str(staging),
        "package",
        "--stage",
        STAGE,
        "--merge-template",
        str(merge_template),
        str(out_dir),
    ]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise PackagingError(
            f"chalice package failed with exit code {completed.returncode}:\n{completed.stdout}{completed.stderr}"
        )


def build(out_dir: Path) -> Path:
    """Package the app into `out_dir`, check the artifact, and return the template's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("sam.json", "deployment.zip", "merge-template.json", "requirements.txt"):
        (out_dir / name).unlink(missing_ok=True)

    requirements = runtime_requirements()
    (out_dir / "requirements.txt").write_text("\n".join(requirements) + "\n", "utf-8")
    merge_template = out_dir / "merge-template.json"
    merge_template.write_text(json.dumps(combined_merge_template(), indent=2) + "\n", "utf-8")

    with tempfile.TemporaryDirectory(prefix="servicedesk-package-") as staging:
        stage_project(Path(staging), requirements)
        run_chalice_package(Path(staging), out_dir, merge_template)

    check_template(json.loads((out_dir / "sam.json").read_text("utf-8")))
    check_deployment_zip(out_dir / "deployment.zip")
    return out_dir / "sam.json"


def functions_of(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            yield logical_id, resource.get("Properties", {})


def check_template(template: dict[str, Any]) -> None:
    """Raise PackagingError if the merged template is not what the functions rely on."""
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        if "Type" not in resource:
            problems.append(
                f"resource {logical_id} has no Type: infra/functions.yaml changes a resource that "
                f"chalice package no longer generates; use the logical ids in sam.json"
            )
    from functions.api.auth import PLACEHOLDER_USER_POOL_ARN

    if PLACEHOLDER_USER_POOL_ARN in json.dumps(template):
        problems.append(
            "the template still names the placeholder user pool of functions/api/auth.py: the "
            "authorizer's name in app code and in infra/functions.yaml (RestAPI securityDefinitions) differ"
        )
    for location in mixed_intrinsics(template):
        problems.append(
            f"{location} mixes an intrinsic function with other keys: a merge template value merged "
            f"into Chalice's; write it with the same intrinsic that sam.json uses there"
        )
    for logical_id, properties in functions_of(template):
        if properties.get("Runtime") != LAMBDA_RUNTIME:
            problems.append(
                f"function {logical_id} has runtime {properties.get('Runtime')}, expected {LAMBDA_RUNTIME}: "
                f"chalice takes the runtime from the Python that runs it, so package with Python 3.11"
            )
        for event_id, event in properties.get("Events", {}).items():
            if "Type" not in event:
                problems.append(
                    f"event {event_id} of {logical_id} has no Type: infra/functions.yaml changes an event "
                    f"that chalice package no longer generates; use the event ids in sam.json"
                )
            if event.get("Type") != "SQS":
                continue
            if "ReportBatchItemFailures" not in event.get("Properties", {}).get("FunctionResponseTypes", []):
                problems.append(
                    f"SQS event {event_id} of {logical_id} does not report batch item failures: add "
                    f"FunctionResponseTypes: [ReportBatchItemFailures] to it in infra/functions.yaml"
                )
    if problems:
        raise PackagingError("the packaged template is invalid:\n- " + "\n- ".join(problems))


def mixed_intrinsics(value: Any, location: str = "template") -> Iterator[str]:
    """Yield where a mapping contains an intrinsic function (Ref, Fn::*) next to other keys."""
    if isinstance(value, dict):
        intrinsic = any(key == "Ref" or key.startswith("Fn::") for key in value)
        if intrinsic and len(value) > 1:
            yield location
        for key, item in value.items():
            yield from mixed_intrinsics(item, f"{location}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from mixed_intrinsics(item, f"{location}[{index}]")


def top_level_names(archive: zipfile.ZipFile) -> set[str]:
    return {name.split("/", 1)[0] for name in archive.namelist()}


def check_deployment_zip(path: Path) -> None:
    """Raise PackagingError unless the zip contains the app and Linux builds of its dependencies."""
    if not path.is_file():
        raise PackagingError(f"chalice package wrote no {path}")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        top_level = top_level_names(archive)
        unzipped_bytes = sum(info.file_size for info in archive.infolist())

    problems = []
    missing = [name for name in REQUIRED_TOP_LEVEL if name not in top_level]
    if missing:
        problems.append(
            f"missing {', '.join(missing)}: chalice could not bundle them; run it by hand to see "
            f"which wheel it could not download for {LAMBDA_RUNTIME} on manylinux x86_64"
        )
    source_files = sorted(
        path.relative_to(PROJECT_DIR).as_posix()
        for path in (PROJECT_DIR / "functions").rglob("*.py")
        if "__pycache__" not in path.parts
    )
    missing_sources = [name for name in source_files if name not in names]
    if missing_sources:
        problems.append(f"missing source files: {', '.join(missing_sources)}")
    if not any(re.fullmatch(r"pydantic_core/_pydantic_core\..+", name) and name.endswith(EXTENSION_SUFFIX) for name in names):
        problems.append(f"pydantic_core has no extension module ending in {EXTENSION_SUFFIX}, so it cannot load on Lambda")
    foreign = sorted(name for name in names if name.endswith((".so", ".pyd", ".dylib")) and not _loads_on_lambda(name))
    if foreign:
        problems.append(f"extension modules built for another platform: {', '.join(foreign[:5])}")
    forbidden = sorted(name for name in FORBIDDEN_TOP_LEVEL if name in top_level)
    if forbidden:
        problems.append(
            f"{', '.join(forbidden)} must not be deployed: keep them out of [project] dependencies and functions/"
        )
    if unzipped_bytes > MAX_UNZIPPED_BYTES:
        problems.append(f"unzipped size {unzipped_bytes} bytes exceeds Lambda's limit of {MAX_UNZIPPED_BYTES}")
    if problems:
        raise PackagingError(f"{path} is incomplete:\n- " + "\n- ".join(problems))


def _loads_on_lambda(name: str) -> bool:
    file_name = name.rsplit("/", 1)[-1]
    if file_name.endswith((".pyd", ".dylib")):
        return False
    # Extension modules carry the interpreter and platform in their name. Shared libraries
    # bundled by auditwheel (libfoo-1a2b3c.so.1) do not, and load on any Linux.
    tagged = re.search(r"\.cpython-\d+-[^.]+\.so$", file_name)
    return tagged is None or file_name.endswith(EXTENSION_SUFFIX) or file_name.endswith(".abi3.so")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "out_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help=f"folder for sam.json and deployment.zip (default: {DEFAULT_OUT_DIR.relative_to(PROJECT_DIR)})",
    )
    arguments = parser.parse_args(argv)
    try:
        template = build(arguments.out_dir.resolve())
    except PackagingError as error:
        print(f"packaging failed: {error}", file=sys.stderr)
        return 1
    print(f"packaged {template} and {template.with_name('deployment.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
