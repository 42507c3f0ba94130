"""`servicedesk deploy <model>`: package an artifact, deploy it to SageMaker and record it in the registry.

`add_arguments(parser)` adds the options and `run(args)` returns the result as a JSON-ready
dict. With `--rollback-to VERSION` the command serves an earlier registered version again
from the archive that the registry recorded, without packaging anything.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ml.common.artifacts import model_dir
from ml.deploy import registry as model_registry
from ml.deploy.package import build_model_archive
from ml.deploy.sagemaker import (
    DEFAULT_FRAMEWORK_VERSION,
    DEFAULT_KEY_PREFIX,
    DeploymentError,
    RealtimeCapacity,
    ServerlessCapacity,
    deploy_model_data,
    sklearn_image_uri,
    upload_archive,
)
from ml.registry import MODEL_NAMES

DEFAULT_REGION = "ap-northeast-2"
DEFAULT_OUTPUT_DIR = Path("build") / "models"
# Failures that the command reports as one line on stderr rather than as a traceback: bad input
# and packaging problems (ValueError), missing files, refused deployments, registry conflicts
# and AWS errors such as missing credentials or AccessDenied.
EXPECTED_ERRORS = (ValueError, FileNotFoundError, DeploymentError, model_registry.RegistryError, BotoCoreError, ClientError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the deploy options to `parser`."""
    parser.add_argument("model", choices=MODEL_NAMES, help="model to deploy")

    parser.add_argument("--bucket", default=None, help="S3 bucket for the model archives (required unless --rollback-to)")
    parser.add_argument("--role-arn", required=True, help="ARN of the IAM role that SageMaker assumes to read the archive")
    parser.add_argument(
        "--artifact-dir",
        type=Path,
        default=None,
        help="artifact folder with metadata.json (default: .artifacts/models/<model>, or MODEL_ARTIFACTS_DIR/<model>)",
    )
    parser.add_argument("--prefix", default=DEFAULT_KEY_PREFIX, help=f"S3 key prefix of the archives (default {DEFAULT_KEY_PREFIX})")
    parser.add_argument(
        "--region",
        default=None,
        help=f"AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or {DEFAULT_REGION})",
    )

    parser.add_argument("--image-uri", default=None, help="inference image (default: the SageMaker scikit-learn image of the region)")
    parser.add_argument(
        "--framework-version",
        default=DEFAULT_FRAMEWORK_VERSION,
        help=f"SageMaker scikit-learn image version used when --image-uri is not given (default {DEFAULT_FRAMEWORK_VERSION})",
    )
    parser.add_argument("--endpoint-name", default=None, help="endpoint to create or update (default: servicedesk-<model>)")

    parser.add_argument("--serverless", action="store_true", help="deploy a serverless endpoint instead of instances")
    parser.add_argument("--instance-type", default=RealtimeCapacity.instance_type, help="instance type of a real-time endpoint")
    parser.add_argument("--instance-count", type=int, default=RealtimeCapacity.instance_count, help="instances of a real-time endpoint")
    parser.add_argument(
        "--memory-size", type=int, default=ServerlessCapacity.memory_size_mb, help="memory of a serverless endpoint in MB (1024 to 6144)"
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=ServerlessCapacity.max_concurrency, help="concurrent requests of a serverless endpoint"
    )

    parser.add_argument("--registry-table", default=None, help="DynamoDB table of the model registry (default: no registry)")
    parser.add_argument(
        "--rollback-to",
        metavar="VERSION",
        default=None,
        help="serve this registered version again instead of packaging the artifact (needs --registry-table)",
    )

    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=f"folder for the built archive (default {DEFAULT_OUTPUT_DIR})")
    parser.add_argument("--wait", action="store_true", help="wait until the endpoint is InService")


def run(args: argparse.Namespace, *, session: Any = None) -> dict[str, Any]:
    """Deploy the model that `args` names, or roll it back; return the archive, deployment and registry record.

    `session` is a boto3 Session; tests pass one bound to moto.
    """
    import boto3

    if args.rollback_to and not args.registry_table:
        raise ValueError("--rollback-to needs --registry-table, which stores the archive location of each version")
    if not args.rollback_to and not args.bucket:
        raise ValueError("--bucket is required: name the S3 bucket that receives the model archive")
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    capacity = (
        ServerlessCapacity(args.memory_size, args.max_concurrency)
        if args.serverless
        else RealtimeCapacity(args.instance_type, args.instance_count)
    )
    image_uri = args.image_uri or sklearn_image_uri(region, args.framework_version)

    session = session or boto3.Session(region_name=region)
    sagemaker = session.client("sagemaker", region_name=region)
    registry = None
    if args.registry_table:
        registry = model_registry.ModelRegistry(session.client("dynamodb", region_name=region), args.registry_table)

    result: dict[str, Any] = {}
    if args.rollback_to:
        record = registry.get(args.model, args.rollback_to)
        version, model_data_url = record.version, record.artifact_url
        _progress(f"rolling {args.model} back to version {version} from {model_data_url}")
    else:
        artifact_dir = args.artifact_dir or model_dir(args.model)
        _progress(f"packaging {artifact_dir}")
        archive = build_model_archive(artifact_dir, args.output_dir, name=args.model)
        result["archive"] = {
            "path": str(archive.path),
            "sha256": archive.sha256,
            "members": list(archive.members),
            "requirements": list(archive.requirements),
        }
        version = archive.version
        _progress(f"uploading {archive.name} version {version} ({archive.sha256[:12]})")
        model_data_url = upload_archive(session.client("s3", region_name=region), archive, args.bucket, args.prefix)
        if registry is not None:
            _register_once(registry, archive, model_data_url)

    deployment = deploy_model_data(
        sagemaker,
        model_name=args.model,
        version=version,
        model_data_url=model_data_url,
        role_arn=args.role_arn,
        region=region,
        image_uri=image_uri,
        capacity=capacity,
        endpoint_name=args.endpoint_name,
        wait=args.wait,
    )
    result["deployment"] = deployment.as_dict()

    if registry is not None:
        record = registry.mark_deployed(args.model, deployment.version, deployment.endpoint_name)
        result["registry"] = record.as_dict()
    return result


def _register_once(registry: model_registry.ModelRegistry, archive: Any, artifact_url: str) -> None:
    """Register the version, or accept an earlier registration of the same archive."""
    try:
        registry.register(
            name=archive.name,
            version=archive.version,
            artifact_url=artifact_url,
            archive_sha256=archive.sha256,
            metadata=archive.metadata,
        )
    except model_registry.VersionAlreadyRegisteredError:
        existing = registry.get(archive.name, archive.version)
        if existing.archive_sha256 != archive.sha256:
            raise
        _progress(f"{archive.name} version {archive.version} is registered already")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
