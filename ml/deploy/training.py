"""Launch a model's `ml/<name>/train.py` as a SageMaker training job with the SageMaker Python SDK.

The SDK (the `sagemaker` package of the ml extra) is imported inside `launch_training_job`
only, so importing this module stays cheap. The job runs in the SageMaker scikit-learn image
with a source folder staged from this project: the model's package, the `ml` modules it
imports and a requirements.txt of the packages the image lacks.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.deploy import dependencies
from ml.deploy.sagemaker import DEFAULT_FRAMEWORK_VERSION, RESOURCE_PREFIX, resource_name, sklearn_image_uri
from ml.registry import MODEL_NAMES

# Folder that the training toolkit extracts the source folder into. The entry point runs as a
# script (`python ml/<name>/train.py`), which puts only the script's own folder on sys.path, so
# the job sets PYTHONPATH to make the `ml` package importable.
CONTAINER_CODE_DIR = "/opt/ml/code"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
_CHANNEL = re.compile(r"SM_CHANNEL_([A-Z0-9_]+)")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


@dataclass(frozen=True)
class TrainingLaunch:
    """A started training job: its name and the estimator that started it."""

    job_name: str
    estimator: Any
    source_files: tuple[str, ...]
    requirements: tuple[str, ...]


def training_channels(name: str) -> list[str]:
    """Return the input channels that `ml/<name>/train.py` reads (from its SM_CHANNEL_* variables)."""
    source = dependencies.module_path(f"{dependencies.PACKAGE}.{name}.train").read_text("utf-8")
    return sorted({channel.lower() for channel in _CHANNEL.findall(source)})


def stage_source_dir(name: str, target: Path) -> tuple[list[str], list[str]]:
    """Copy the model's package, the `ml` modules it imports and a requirements.txt into `target`.

    Return the staged file paths (relative to `target`) and the requirement lines.
    """
    package = dependencies.PACKAGE_DIR / name
    modules = {
        f"{dependencies.PACKAGE}.{name}." + path.relative_to(package).with_suffix("").as_posix().replace("/", ".")
        for path in package.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    modules = {module.removesuffix(".__init__") for module in modules}
    closure = dependencies.module_closure(modules, follow_lazy=True)

    # The whole package folder goes along, so data files that train.py reads (the sentiment
    # corpus, for example) are there too.
    shutil.copytree(package, target / dependencies.PACKAGE / name, ignore=_IGNORED)
    for module in sorted(closure):
        source = dependencies.module_path(module)
        destination = target / source.relative_to(dependencies.PROJECT_ROOT)
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)

    requirements = dependencies.resolve_requirements(name, dependencies.third_party_imports(closure, follow_lazy=True))
    if requirements:
        (target / dependencies.REQUIREMENTS_FILE).write_text("\n".join(requirements) + "\n", "utf-8")
    files = sorted(path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file())
    return files, requirements


def _check_request(name: str, inputs: Mapping[str, str], output_path: str) -> None:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    expected = training_channels(name)
    for channel, uri in inputs.items():
        if not _CHANNEL_NAME.match(channel):
            raise ValueError(f"channel name {channel!r} is invalid; use 1 to 64 letters, digits, '.', '-' or '_'")
        if channel.lower() not in expected:
            raise ValueError(f"ml/{name}/train.py reads the channels {', '.join(expected)}, not {channel!r}")
        if not uri.startswith("s3://"):
            raise ValueError(f"channel {channel} must be an s3:// URI, got {uri!r}; upload the data to S3 first")
    if not output_path.startswith("s3://"):
        raise ValueError(f"output path must be an s3:// URI, got {output_path!r}")


def launch_training_job(
    name: str,
    *,
    role_arn: str,
    inputs: Mapping[str, str],
    output_path: str,
    hyperparameters: Mapping[str, Any] | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    region: str | None = None,
    image_uri: str | None = None,
    job_name: str | None = None,
    code_location: str | None = None,
    max_run_seconds: int = 3600,
    wait: bool = False,
    sagemaker_session: Any = None,
) -> TrainingLaunch:
    """Start a training job of `ml/<name>/train.py`; wait for it to finish when `wait` is true.

    `inputs` maps channel names (those train.py reads from SM_CHANNEL_*) to S3 URIs, and
    `hyperparameters` become train.py's command-line options (`{"holdout": 0.2}` is
    `--holdout 0.2`). The model artifact lands in `<output_path>/<job name>/output/model.tar.gz`.
    """
    _check_request(name, inputs, output_path)

    import boto3
    from sagemaker.session import Session
    from sagemaker.sklearn.estimator import SKLearn

    session = sagemaker_session or Session(boto_session=boto3.Session(region_name=region))
    region = region or session.boto_region_name
    image_uri = image_uri or sklearn_image_uri(region)

    with tempfile.TemporaryDirectory(prefix=f"{RESOURCE_PREFIX}-{name}-source-") as scratch:
        source_dir = Path(scratch)
        files, requirements = stage_source_dir(name, source_dir)
        estimator = SKLearn(
            entry_point=f"{dependencies.PACKAGE}/{name}/train.py",
            source_dir=str(source_dir),
            role=role_arn,
            image_uri=image_uri,
            framework_version=DEFAULT_FRAMEWORK_VERSION,
            instance_type=instance_type,
            instance_count=1,
            hyperparameters=dict(hyperparameters or {}),
            output_path=output_path,
            code_location=code_location or output_path,
            base_job_name=resource_name(RESOURCE_PREFIX, name),
            environment={"PYTHONPATH": CONTAINER_CODE_DIR},
            max_run=max_run_seconds,
            # scikit-learn jobs have no use for the debugger hooks and profiler that the SDK enables by default.
            debugger_hook_config=False,
            disable_profiler=True,
            sagemaker_session=session,
        )
        estimator.fit(inputs=dict(inputs), wait=wait, logs="All" if wait else "None", job_name=job_name)

    return TrainingLaunch(
        job_name=estimator.latest_training_job.name,
        estimator=estimator,
        source_files=tuple(files),
        requirements=tuple(requirements),
    )
