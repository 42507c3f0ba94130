"""Deploy a model archive to a SageMaker endpoint with the boto3 control-plane API.

One version of a model becomes one SageMaker model and one endpoint configuration, named from
the model name and version. The endpoint (`servicedesk-<model>` by default) keeps its name and
moves from version to version with UpdateEndpoint. Every step first describes what exists, so a
re-run with the same version changes nothing. An existing model or S3 object whose content
differs from the request is an error rather than something to overwrite, because a version
stands for one fixed artifact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import botocore.loaders
import botocore.regions
from botocore.exceptions import ClientError, WaiterError

from ml.deploy.package import ModelArchive

logger = logging.getLogger(__name__)

RESOURCE_PREFIX = "servicedesk"
DEFAULT_KEY_PREFIX = "servicedesk/models"
# Scikit-learn 1.9.0 on Python 3.12. Artifacts pickled by scikit-learn load reliably only with
# the same minor version, and this project trains with scikit-learn 1.9 on Python 3.11 or later.
DEFAULT_FRAMEWORK_VERSION = "1.9-0"
SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
# Registry account of the SageMaker scikit-learn images in each region, from the SageMaker Python
# SDK's image_uri_config/sklearn.json (v2.257); every image version uses the same map.
SKLEARN_REGISTRIES = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}
# Folder of the entry point inside the extracted model.tar.gz, where the serving container imports it from.
SUBMIT_DIRECTORY = "/opt/ml/model/code"
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_SERVERLESS_CONCURRENCY = 200
MAX_NAME_LENGTH = 63
VARIANT_NAME = "AllTraffic"
# Endpoint states in which UpdateEndpoint is accepted.
UPDATABLE_STATES = {"InService"}


class DeploymentError(RuntimeError):
    """A deployment step failed or found a resource it must not change."""


@dataclass(frozen=True)
class RealtimeCapacity:
    """Instances behind a real-time endpoint."""

    instance_type: str = "ml.m5.large"
    instance_count: int = 1

    def __post_init__(self) -> None:
        if not self.instance_type.startswith("ml."):
            raise ValueError(f"instance type {self.instance_type!r} is not a SageMaker type; use one such as ml.m5.large")
        if self.instance_count < 1:
            raise ValueError(f"instance count must be at least 1, got {self.instance_count}")

    def production_variant(self, model_name: str) -> dict[str, Any]:
        return {
            "VariantName": VARIANT_NAME,
            "ModelName": model_name,
            "InstanceType": self.instance_type,
            "InitialInstanceCount": self.instance_count,
            "InitialVariantWeight": 1.0,
        }


@dataclass(frozen=True)
class ServerlessCapacity:
    """Memory and concurrency of a serverless endpoint."""

    memory_size_mb: int = 2048
    max_concurrency: int = 5

    def __post_init__(self) -> None:
        if self.memory_size_mb not in SERVERLESS_MEMORY_SIZES_MB:
            sizes = ", ".join(map(str, SERVERLESS_MEMORY_SIZES_MB))
            raise ValueError(f"serverless memory must be one of {sizes} MB, got {self.memory_size_mb}")
        if not 1 <= self.max_concurrency <= MAX_SERVERLESS_CONCURRENCY:
            raise ValueError(f"serverless max concurrency must be 1 to {MAX_SERVERLESS_CONCURRENCY}, got {self.max_concurrency}")

    def production_variant(self, model_name: str) -> dict[str, Any]:
        return {
            "VariantName": VARIANT_NAME,
            "ModelName": model_name,
            "ServerlessConfig": {"MemorySizeInMB": self.memory_size_mb, "MaxConcurrency": self.max_concurrency},
        }


Capacity = RealtimeCapacity | ServerlessCapacity


@dataclass(frozen=True)
class Deployment:
    """Outcome of a deployment: the resource names and which of them were created or changed."""

    model_name: str
    version: str
    sagemaker_model_name: str
    endpoint_config_name: str
    endpoint_name: str
    model_data_url: str
    endpoint_action: str  # "created", "updated" or "unchanged"
    created_model: bool
    created_endpoint_config: bool
    endpoint_status: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sklearn_image_uri(region: str, framework_version: str = DEFAULT_FRAMEWORK_VERSION) -> str:
    """Return the SageMaker scikit-learn image URI of `framework_version` in `region`."""
    registry = SKLEARN_REGISTRIES.get(region)
    if registry is None:
        raise ValueError(f"no SageMaker scikit-learn image is known for region {region!r}; pass the image URI explicitly")
    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    endpoint = resolver.construct_endpoint("ecr", region)
    if endpoint is None:
        raise ValueError(f"botocore has no ECR endpoint for region {region!r}; pass the image URI explicitly")
    return f"{registry}.dkr.{endpoint['hostname']}/{SKLEARN_REPOSITORY}:{framework_version}-cpu-py3"


def resource_name(*parts: str) -> str:
    """Join parts into a SageMaker resource name: lower case, letters, digits and single hyphens,
    at most 63 characters (a longer name ends in a hash of the whole so names stay distinct)."""
    name = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name[: MAX_NAME_LENGTH - len(digest) - 1].rstrip("-") + "-" + digest
    return name


def model_resource_name(model_name: str, version: str) -> str:
    return resource_name(RESOURCE_PREFIX, model_name, version)


def default_endpoint_name(model_name: str) -> str:
    return resource_name(RESOURCE_PREFIX, model_name)


def endpoint_config_name(model_name: str, version: str, capacity: Capacity) -> str:
    """Name one configuration per version and capacity, so a change of capacity gets a new one."""
    variant = json.dumps(capacity.production_variant(""), sort_keys=True)
    digest = hashlib.sha256(variant.encode()).hexdigest()[:8]
    return resource_name(RESOURCE_PREFIX, model_name, version, digest)


def archive_key(prefix: str, model_name: str, version: str) -> str:
    """Return the S3 key of a version's archive: `<prefix>/<model>/<version>/model.tar.gz`."""
    return "/".join(part.strip("/") for part in (prefix, model_name, version, "model.tar.gz") if part.strip("/"))


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _is_not_found(error: ClientError) -> bool:
    # SageMaker's Describe* calls report a missing resource as a ValidationException whose
    # message starts "Could not find"; there is no dedicated error code.
    message = error.response.get("Error", {}).get("Message", "")
    return _error_code(error) in {"ValidationException", "ResourceNotFound"} and "Could not find" in message


def upload_archive(s3: Any, archive: ModelArchive, bucket: str, prefix: str = DEFAULT_KEY_PREFIX) -> str:
    """Upload the archive unless the same bytes are already there; return its s3:// URL.

    The object records the archive's SHA-256 in its metadata. An object of the same version with
    another hash raises DeploymentError instead of being replaced.
    """
    key = archive_key(prefix, archive.name, archive.version)
    url = f"s3://{bucket}/{key}"
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _error_code(error) not in {"404", "NoSuchKey", "NotFound"}:
            raise DeploymentError(f"cannot read {url}: {error}") from error
        head = None

    if head is not None:
        existing = head.get("Metadata", {}).get("sha256")
        if existing == archive.sha256:
            logger.info("archive already uploaded", extra={"url": url})
            return url
        raise DeploymentError(
            f"{url} already contains a different archive (sha256 {existing}) for version {archive.version}; "
            "train a new version instead of replacing a deployed one"
        )

    s3.upload_file(
        str(archive.path),
        bucket,
        key,
        ExtraArgs={"Metadata": {"sha256": archive.sha256}, "ContentType": "application/gzip"},
    )
    logger.info("archive uploaded", extra={"url": url})
    return url


def ensure_model(
    sagemaker: Any, *, name: str, model_data_url: str, image_uri: str, role_arn: str, region: str, tags: list[dict[str, str]]
) -> bool:
    """Create the SageMaker model unless it exists with the same image and data; return True if created."""
    container = {
        "Image": image_uri,
        "ModelDataUrl": model_data_url,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": region,
        },
    }
    try:
        existing = sagemaker.describe_model(ModelName=name)
    except ClientError as error:
        if not _is_not_found(error):
            raise DeploymentError(f"cannot describe SageMaker model {name}: {error}") from error
        sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=role_arn, Tags=tags)
        logger.info("model created", extra={"sagemaker_model": name})
        return True

    current = existing.get("PrimaryContainer", {})
    if current.get("ModelDataUrl") != model_data_url or current.get("Image") != image_uri:
        raise DeploymentError(
            f"SageMaker model {name} exists with image {current.get('Image')} and data {current.get('ModelDataUrl')}, "
            f"not {image_uri} and {model_data_url}; delete it or deploy a new version"
        )
    return False


def ensure_endpoint_config(
    sagemaker: Any, *, name: str, model_name: str, capacity: Capacity, tags: list[dict[str, str]]
) -> bool:
    """Create the endpoint configuration unless it exists; return True if created."""
    try:
        existing = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    except ClientError as error:
        if not _is_not_found(error):
            raise DeploymentError(f"cannot describe endpoint configuration {name}: {error}") from error
        sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=[capacity.production_variant(model_name)], Tags=tags
        )
        logger.info("endpoint configuration created", extra={"endpoint_config": name})
        return True

    models = [variant.get("ModelName") for variant in existing.get("ProductionVariants", [])]
    if models != [model_name]:
        raise DeploymentError(f"endpoint configuration {name} serves {models}, not {model_name}; delete it and run again")
    return False


def ensure_endpoint(sagemaker: Any, *, name: str, config_name: str, tags: list[dict[str, str]]) -> str:
    """Create the endpoint, or point it at `config_name`; return "created", "updated" or "unchanged"."""
    try:
        existing = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if not _is_not_found(error):
            raise DeploymentError(f"cannot describe endpoint {name}: {error}") from error
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tags)
        logger.info("endpoint created", extra={"endpoint": name, "endpoint_config": config_name})
        return "created"

    if existing.get("EndpointConfigName") == config_name:
        return "unchanged"
    status = existing.get("EndpointStatus")
    if status not in UPDATABLE_STATES:
        raise DeploymentError(
            f"endpoint {name} is {status}; wait until it is InService (or delete it if it Failed) and run again"
        )
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=config_name)
    logger.info("endpoint update started", extra={"endpoint": name, "endpoint_config": config_name})
    return "updated"


def wait_for_endpoint(sagemaker: Any, name: str, *, delay_seconds: int = 30, max_attempts: int = 120) -> str:
    """Wait until the endpoint is InService; raise DeploymentError with its failure reason if not."""
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": delay_seconds, "MaxAttempts": max_attempts}
        )
    except WaiterError as error:
        reason = error.last_response.get("FailureReason") or error.last_response.get("EndpointStatus") or str(error)
        raise DeploymentError(f"endpoint {name} did not reach InService: {reason}") from error
    return "InService"


def deploy_model_data(
    sagemaker: Any,
    *,
    model_name: str,
    version: str,
    model_data_url: str,
    role_arn: str,
    region: str,
    image_uri: str | None = None,
    capacity: Capacity | None = None,
    endpoint_name: str | None = None,
    wait: bool = False,
) -> Deployment:
    """Serve an archive already in S3 as `version` of `model_name` on the model's endpoint.

    This is also the rollback path: pass the S3 URL that the registry recorded for an earlier version.
    """
    capacity = capacity or RealtimeCapacity()
    image_uri = image_uri or sklearn_image_uri(region)
    endpoint_name = endpoint_name or default_endpoint_name(model_name)
    sagemaker_model = model_resource_name(model_name, version)
    config_name = endpoint_config_name(model_name, version, capacity)
    tags = [{"Key": "servicedesk:model", "Value": model_name}, {"Key": "servicedesk:version", "Value": version}]

    created_model = ensure_model(
        sagemaker, name=sagemaker_model, model_data_url=model_data_url, image_uri=image_uri,
        role_arn=role_arn, region=region, tags=tags,
    )
    created_config = ensure_endpoint_config(sagemaker, name=config_name, model_name=sagemaker_model, capacity=capacity, tags=tags)
    action = ensure_endpoint(sagemaker, name=endpoint_name, config_name=config_name, tags=tags)
    status = wait_for_endpoint(sagemaker, endpoint_name) if wait else None

    return Deployment(
        model_name=model_name,
        version=version,
        sagemaker_model_name=sagemaker_model,
        endpoint_config_name=config_name,
        endpoint_name=endpoint_name,
        model_data_url=model_data_url,
        endpoint_action=action,
        created_model=created_model,
        created_endpoint_config=created_config,
        endpoint_status=status,
    )


def deploy_archive(
    sagemaker: Any,
    s3: Any,
    archive: ModelArchive,
    *,
    bucket: str,
    role_arn: str,
    region: str,
    prefix: str = DEFAULT_KEY_PREFIX,
    image_uri: str | None = None,
    capacity: Capacity | None = None,
    endpoint_name: str | None = None,
    wait: bool = False,
) -> Deployment:
    """Upload a model archive and serve it on the model's endpoint."""
    model_data_url = upload_archive(s3, archive, bucket, prefix)
    return deploy_model_data(
        sagemaker,
        model_name=archive.name,
        version=archive.version,
        model_data_url=model_data_url,
        role_arn=role_arn,
        region=region,
        image_uri=image_uri,
        capacity=capacity,
        endpoint_name=endpoint_name,
        wait=wait,
    )
