"""Deployment to SageMaker, the model registry and training-job launch, on moto.

The archives come from a sentiment model trained on the shipped corpus only (a few seconds),
twice, so there are two versions to move the endpoint between.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from ml.deploy import commands
from ml.deploy.package import build_model_archive
from ml.deploy.registry import (
    DEPLOYED,
    REGISTERED,
    RETIRED,
    ModelRegistry,
    VersionAlreadyRegisteredError,
    VersionNotFoundError,
)
from ml.deploy.sagemaker import (
    DeploymentError,
    RealtimeCapacity,
    ServerlessCapacity,
    deploy_archive,
    sklearn_image_uri,
    upload_archive,
)

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/servicedesk-sagemaker"
TEMPLATE = Path(__file__).resolve().parents[3] / "infra" / "model_registry.yaml"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two sentiment artifacts with different versions (versions are UTC seconds plus a fingerprint)."""
    from ml.sentiment import train

    folders = []
    for index in range(2):
        if folders:
            time.sleep(1.1)
        target = tmp_path_factory.mktemp(f"sentiment-{index}") / "model"
        train.main(["--model-dir", str(target), "--no-public-data", "--morphemes", "off"])
        folders.append(target)
    return folders


@pytest.fixture(scope="module")
def archives(artifacts: list[Path], tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    output = tmp_path_factory.mktemp("archives")
    built = [build_model_archive(folder, output) for folder in artifacts]
    assert built[0].version != built[1].version
    return built


@pytest.fixture
def bucket(aws: dict[str, str], request: pytest.FixtureRequest) -> str:
    name = "models-" + request.node.name.replace("_", "-").lower()[:40]
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


@pytest.fixture
def sagemaker(aws: dict[str, str]) -> Any:
    """Return a SageMaker client and delete the test's models, configurations and endpoints afterwards.

    Every test deploys the same model versions into one moto account, so none may see another's.
    """
    client = boto3.client("sagemaker", region_name=REGION)
    emulate_update_endpoint(client)
    yield client
    delete_sentiment_resources(client)


def delete_sentiment_resources(client: Any) -> None:
    for endpoint in client.list_endpoints()["Endpoints"]:
        if "sentiment" in endpoint["EndpointName"]:
            client.delete_endpoint(EndpointName=endpoint["EndpointName"])
    for config in client.list_endpoint_configs()["EndpointConfigs"]:
        if "sentiment" in config["EndpointConfigName"]:
            client.delete_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
    for model in client.list_models()["Models"]:
        if "sentiment" in model["ModelName"]:
            client.delete_model(ModelName=model["ModelName"])


@pytest.fixture
def registry_table(aws: dict[str, str], request: pytest.FixtureRequest) -> str:
    """Deploy infra/model_registry.yaml into moto under a table name of this test alone."""
    stack = "registry-" + request.node.name.replace("_", "-")[:60]
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=TEMPLATE.read_text("utf-8"),
        Parameters=[{"ParameterKey": "TableName", "ParameterValue": stack}],
    )
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return {output["OutputKey"]: output["OutputValue"] for output in outputs}["ModelRegistryTableName"]


def emulate_update_endpoint(client: Any) -> list[dict[str, Any]]:
    """Emulate UpdateEndpoint by pointing moto's endpoint at the new configuration; return the requests.

    NOTE: moto 5.2 has no UpdateEndpoint (it raises NotImplementedError). This hook records the
    exact request and applies it to moto's endpoint record, so that DescribeEndpoint shows the
    change as SageMaker does once the update completes. It replaces nothing else.
    """
    from moto.sagemaker.models import sagemaker_backends

    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(dict(params))

    def apply(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = requests[-1]
        backend = sagemaker_backends[ACCOUNT][REGION]
        endpoint = backend.endpoints[request["EndpointName"]]
        config = backend.endpoint_configs[request["EndpointConfigName"]]
        endpoint.endpoint_config_name = config.endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        return AWSResponse(None, 200, {}, None), {"EndpointArn": endpoint.arn}

    client.meta.events.register("provide-client-params.sagemaker.UpdateEndpoint", record)
    client.meta.events.register("before-call.sagemaker.UpdateEndpoint", apply)
    client.update_requests = requests
    return requests


def deploy(sagemaker: Any, archive: Any, bucket: str, **options: Any):
    return deploy_archive(
        sagemaker, boto3.client("s3", region_name=REGION), archive,
        bucket=bucket, role_arn=ROLE_ARN, region=REGION, **options,
    )


# --- deploy ------------------------------------------------------------------------------------


def test_deploy_creates_model_config_endpoint(sagemaker, archives, bucket):
    archive = archives[0]

    deployment = deploy(sagemaker, archive, bucket)

    key = f"servicedesk/models/sentiment/{archive.version}/model.tar.gz"
    assert deployment.model_data_url == f"s3://{bucket}/{key}"
    assert deployment.endpoint_name == "servicedesk-sentiment"
    assert deployment.endpoint_action == "created"
    assert deployment.created_model is True
    assert deployment.created_endpoint_config is True

    stored = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == archive.path.read_bytes()
    assert stored["Metadata"] == {"sha256": archive.sha256}

    model = sagemaker.describe_model(ModelName=deployment.sagemaker_model_name)
    assert model["PrimaryContainer"]["Image"] == sklearn_image_uri(REGION)
    assert model["PrimaryContainer"]["ModelDataUrl"] == deployment.model_data_url
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert model["PrimaryContainer"]["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert model["ExecutionRoleArn"] == ROLE_ARN

    config = sagemaker.describe_endpoint_config(EndpointConfigName=deployment.endpoint_config_name)
    [variant] = config["ProductionVariants"]
    assert variant["ModelName"] == deployment.sagemaker_model_name
    assert variant["InstanceType"] == "ml.m5.large"
    assert variant["InitialInstanceCount"] == 1

    endpoint = sagemaker.describe_endpoint(EndpointName="servicedesk-sentiment")
    assert endpoint["EndpointConfigName"] == deployment.endpoint_config_name
    assert endpoint["EndpointStatus"] == "InService"


def test_redeploy_same_version_changes_nothing(sagemaker, archives, bucket):
    first = deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-idempotent")
    models_before = sagemaker.list_models()["Models"]

    again = deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-idempotent", wait=True)

    assert again.endpoint_action == "unchanged"
    assert again.created_model is False
    assert again.created_endpoint_config is False
    assert again.endpoint_config_name == first.endpoint_config_name
    assert again.endpoint_status == "InService"
    assert sagemaker.list_models()["Models"] == models_before
    assert sagemaker.update_requests == []


def test_new_version_updates_endpoint(sagemaker, archives, bucket):
    first = deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-update")

    second = deploy(sagemaker, archives[1], bucket, endpoint_name="sentiment-update")

    assert second.endpoint_action == "updated"
    assert second.created_model is True
    assert second.sagemaker_model_name != first.sagemaker_model_name
    assert sagemaker.update_requests == [
        {"EndpointName": "sentiment-update", "EndpointConfigName": second.endpoint_config_name}
    ]
    endpoint = sagemaker.describe_endpoint(EndpointName="sentiment-update")
    assert endpoint["EndpointConfigName"] == second.endpoint_config_name


def test_serverless_endpoint_config(sagemaker, archives, bucket):
    deployment = deploy(
        sagemaker, archives[0], bucket,
        endpoint_name="sentiment-serverless", capacity=ServerlessCapacity(memory_size_mb=3072, max_concurrency=4),
    )

    config = sagemaker.describe_endpoint_config(EndpointConfigName=deployment.endpoint_config_name)
    [variant] = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 4}
    assert "InstanceType" not in variant


def test_capacity_change_gets_new_config(sagemaker, archives, bucket):
    small = deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-capacity")

    large = deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-capacity", capacity=RealtimeCapacity("ml.c5.xlarge", 2))

    assert large.endpoint_config_name != small.endpoint_config_name
    assert large.created_model is False
    assert large.endpoint_action == "updated"


def test_different_archive_same_version_rejected(sagemaker, archives, bucket, tmp_path):
    s3 = boto3.client("s3", region_name=REGION)
    upload_archive(s3, archives[0], bucket)
    other = tmp_path / "other.tar.gz"
    other.write_bytes(archives[1].path.read_bytes())
    impostor = dataclasses.replace(archives[0], path=other, sha256=archives[1].sha256)

    with pytest.raises(DeploymentError, match="already contains a different archive"):
        upload_archive(s3, impostor, bucket)


def test_existing_model_with_other_data_rejected(sagemaker, archives, bucket):
    deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-conflict")

    with pytest.raises(DeploymentError, match="delete it or deploy a new version"):
        deploy_archive(
            sagemaker, boto3.client("s3", region_name=REGION), archives[0],
            bucket=bucket, prefix="elsewhere", role_arn=ROLE_ARN, region=REGION, endpoint_name="sentiment-conflict",
        )


def test_invoke_endpoint_returns_moto_canned_body(sagemaker, archives, bucket):
    deploy(sagemaker, archives[0], bucket, endpoint_name="sentiment-invoke")
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)

    response = runtime.invoke_endpoint(
        EndpointName="sentiment-invoke", ContentType="application/json", Body=json.dumps({"texts": ["hello"]})
    )

    # NOTE: moto's InvokeEndpoint returns a fixed body and never runs inference.py. The model's
    # request and response contract is tested by running the archive's own code on its model
    # files (tests/unit/ml/test_deploy.py) and by the endpoint adapter's tests.
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["Body"].read() == b"body"


# --- registry ----------------------------------------------------------------------------------


def test_registry_registers_version_once(registry_table, archives):
    registry = ModelRegistry(boto3.client("dynamodb", region_name=REGION), registry_table)
    archive = archives[0]

    record = registry.register(
        name="sentiment", version=archive.version, artifact_url="s3://b/k", archive_sha256=archive.sha256, metadata=archive.metadata
    )

    assert record.status == REGISTERED
    with pytest.raises(VersionAlreadyRegisteredError):
        registry.register(name="sentiment", version=archive.version, artifact_url="s3://b/other", archive_sha256="0" * 64, metadata={})
    stored = registry.get("sentiment", archive.version)
    assert stored.artifact_url == "s3://b/k"
    assert stored.archive_sha256 == archive.sha256
    assert stored.data_fingerprint == archive.metadata["data_fingerprint"]
    assert stored.metrics == archive.metadata["metrics"]
    assert stored.trained_at == archive.metadata["trained_at"]


def test_registry_item_keys(registry_table, archives):
    client = boto3.client("dynamodb", region_name=REGION)
    ModelRegistry(client, registry_table).register(
        name="sentiment", version="v1", artifact_url="s3://b/k", archive_sha256="a" * 64,
        metadata={"metrics": {"f1": 0.75}, "data_fingerprint": "f" * 64},
    )

    item = client.get_item(TableName=registry_table, Key={"PK": {"S": "MODEL#sentiment"}, "SK": {"S": "VERSION#v1"}})["Item"]

    assert item["status"] == {"S": "registered"}
    assert item["metrics"] == {"M": {"f1": {"N": "0.75"}}}
    assert item["data_fingerprint"] == {"S": "f" * 64}
    assert "created_at" in item


def test_registry_lists_latest_and_deploys(registry_table):
    registry = ModelRegistry(boto3.client("dynamodb", region_name=REGION), registry_table)
    for version in ("v1", "v2", "v3"):
        registry.register(name="triage", version=version, artifact_url=f"s3://b/{version}", archive_sha256="a" * 64, metadata={})
    registry.register(name="sentiment", version="other", artifact_url="s3://b/o", archive_sha256="b" * 64, metadata={})

    registry.mark_deployed("triage", "v1", "servicedesk-triage")
    deployed = registry.mark_deployed("triage", "v2", "servicedesk-triage")

    assert [record.version for record in registry.list_versions("triage")] == ["v3", "v2", "v1"]
    assert registry.latest("triage").version == "v3"
    assert registry.latest("triage", DEPLOYED).version == "v2"
    assert deployed.status == DEPLOYED
    assert deployed.endpoint_name == "servicedesk-triage"
    assert registry.get("triage", "v1").status == RETIRED
    assert registry.get("triage", "v3").status == REGISTERED
    assert registry.latest("demand") is None
    assert registry.mark_deployed("triage", "v2", "servicedesk-triage").deployed_at == deployed.deployed_at


def test_registry_rejects_unknown_version(registry_table):
    registry = ModelRegistry(boto3.client("dynamodb", region_name=REGION), registry_table)

    with pytest.raises(VersionNotFoundError):
        registry.mark_deployed("triage", "missing", "servicedesk-triage")
    with pytest.raises(VersionNotFoundError):
        registry.get("triage", "missing")
    with pytest.raises(VersionNotFoundError):
        registry.mark_retired("triage", "missing")


# --- command -----------------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    commands.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_command_deploys_registers_and_rolls_back(sagemaker, artifacts, bucket, registry_table, tmp_path, monkeypatch):
    session = boto3.Session(region_name=REGION)
    real_client = session.client

    def client(service: str, **kwargs: Any) -> Any:
        created = real_client(service, **kwargs)
        if service == "sagemaker":
            emulate_update_endpoint(created)
        return created

    monkeypatch.setattr(session, "client", client)
    common = ["--bucket", bucket, "--role-arn", ROLE_ARN, "--registry-table", registry_table,
              "--region", REGION, "--output-dir", str(tmp_path), "--endpoint-name", "sentiment-command"]

    first = commands.run(parse("sentiment", "--artifact-dir", str(artifacts[0]), *common), session=session)
    repeat = commands.run(parse("sentiment", "--artifact-dir", str(artifacts[0]), *common), session=session)
    second = commands.run(parse("sentiment", "--artifact-dir", str(artifacts[1]), "--serverless", *common), session=session)
    first_version = first["deployment"]["version"]
    rollback = commands.run(parse("sentiment", "--rollback-to", first_version, *common), session=session)

    assert first["deployment"]["endpoint_action"] == "created"
    assert first["registry"]["status"] == DEPLOYED
    assert "code/inference.py" in first["archive"]["members"]
    assert repeat["deployment"]["endpoint_action"] == "unchanged"
    assert repeat["archive"]["sha256"] == first["archive"]["sha256"]
    assert second["deployment"]["endpoint_action"] == "updated"
    assert rollback["deployment"]["endpoint_action"] == "updated"
    assert rollback["deployment"]["model_data_url"] == first["deployment"]["model_data_url"]
    assert rollback["deployment"]["endpoint_config_name"] == first["deployment"]["endpoint_config_name"]
    assert rollback["deployment"]["created_model"] is False

    endpoint = sagemaker.describe_endpoint(EndpointName="sentiment-command")
    assert endpoint["EndpointConfigName"] == rollback["deployment"]["endpoint_config_name"]
    registry = ModelRegistry(boto3.client("dynamodb", region_name=REGION), registry_table)
    assert registry.get("sentiment", first_version).status == DEPLOYED
    assert registry.get("sentiment", second["deployment"]["version"]).status == RETIRED


def test_command_rollback_needs_registry(aws):
    with pytest.raises(ValueError, match="needs --registry-table"):
        commands.run(parse("sentiment", "--bucket", "b", "--role-arn", ROLE_ARN, "--rollback-to", "v1"))


# --- training job ------------------------------------------------------------------------------


def test_training_job_request(aws, bucket, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker.session import Session

    from ml.deploy.training import launch_training_job

    boto_session = boto3.Session(region_name=REGION)
    client = boto_session.client("sagemaker")
    image = sklearn_image_uri(REGION)
    source = f"s3://{bucket}/training/servicedesk-demand-test/source/sourcedir.tar.gz"
    expected = {
        "TrainingJobName": "servicedesk-demand-test",
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            {
                "ChannelName": "incidents",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{bucket}/data/incidents/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/training"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "HyperParameters": {
            "window-days": "120",
            "sagemaker_program": '"ml/demand/train.py"',
            "sagemaker_submit_directory": json.dumps(source),
            "sagemaker_container_log_level": "20",
            "sagemaker_job_name": '"servicedesk-demand-test"',
            "sagemaker_region": json.dumps(REGION),
        },
        "Environment": {"PYTHONPATH": "/opt/ml/code"},
        "ProfilerConfig": {"DisableProfiler": True},
    }
    stubber = Stubber(client)
    stubber.add_response("create_training_job", {"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/x"}, expected)

    with stubber:
        launch = launch_training_job(
            "demand",
            role_arn=ROLE_ARN,
            inputs={"incidents": f"s3://{bucket}/data/incidents/"},
            output_path=f"s3://{bucket}/training",
            hyperparameters={"window-days": 120},
            instance_type="ml.m5.xlarge",
            max_run_seconds=1800,
            job_name="servicedesk-demand-test",
            sagemaker_session=Session(boto_session=boto_session, sagemaker_client=client, default_bucket=bucket),
        )
    stubber.assert_no_pending_responses()

    assert launch.job_name == "servicedesk-demand-test"
    uploaded = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=source.split(f"{bucket}/", 1)[1])
    with tarfile.open(fileobj=io.BytesIO(uploaded["Body"].read()), mode="r:gz") as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode().split()
    assert {"ml/__init__.py", "ml/demand/train.py", "ml/demand/inference.py", "ml/common/artifacts.py"} <= names
    assert requirements == ["holidays>=0.60,<1"]


@pytest.mark.parametrize(
    ("inputs", "output_path", "message"),
    [
        ({"train": "s3://b/x"}, "s3://b/out", "reads the channels incidents"),
        ({"incidents": "/local/path"}, "s3://b/out", "must be an s3:// URI"),
        ({"incidents": "s3://b/x"}, "/tmp/out", "output path must be an s3:// URI"),
    ],
)
def test_training_job_bad_input_rejected(inputs, output_path, message):
    from ml.deploy.training import launch_training_job

    with pytest.raises(ValueError, match=message):
        launch_training_job("demand", role_arn=ROLE_ARN, inputs=inputs, output_path=output_path)


def test_command_deploy_needs_bucket(aws):
    with pytest.raises(ValueError, match="--bucket is required"):
        commands.run(parse("sentiment", "--role-arn", ROLE_ARN))


def test_registry_template_lints_clean():
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    matches = lint(TEMPLATE.read_text("utf-8"), config=ManualArgs(regions=[REGION, "us-east-1"]))

    assert [f"{match.rule.id} line {match.linenumber}: {match.message}" for match in matches] == []
