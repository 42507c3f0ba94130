"""Model registry on DynamoDB: one item per model version, in the table of infra/model_registry.yaml.

Keys: PK `MODEL#<name>`, SK `VERSION#<version>`. A version is registered once (a conditional
put), then moves between the states registered, deployed and retired. Deploying a version to an
endpoint retires the version that the endpoint served before, in one transaction, so the
registry names at most one deployed version per endpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

REGISTERED = "registered"
DEPLOYED = "deployed"
RETIRED = "retired"
STATUSES = (REGISTERED, DEPLOYED, RETIRED)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class RegistryError(RuntimeError):
    """A registry request failed."""


class VersionAlreadyRegisteredError(RegistryError):
    """The version is in the registry already; versions are registered once."""


class VersionNotFoundError(RegistryError):
    """No such model version in the registry."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: str
    status: str
    artifact_url: str
    archive_sha256: str
    data_fingerprint: str | None
    metrics: dict[str, Any]
    created_at: str
    trained_at: str | None = None
    endpoint_name: str | None = None
    deployed_at: str | None = None
    retired_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def model_key(name: str, version: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"MODEL#{name}"}, "SK": {"S": f"VERSION#{version}"}}


def _to_dynamodb_value(value: Any) -> Any:
    """Turn floats into Decimal, which DynamoDB numbers need; NaN and infinity become strings."""
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(key): _to_dynamodb_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamodb_value(item) for item in value]
    return value


def _from_dynamodb_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamodb_value(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamodb_value(item) for item in value]
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ModelRegistry:
    """Register, list and promote model versions in one DynamoDB table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def register(
        self,
        *,
        name: str,
        version: str,
        artifact_url: str,
        archive_sha256: str,
        metadata: dict[str, Any],
    ) -> ModelVersion:
        """Record a new version from its metadata.json; raise VersionAlreadyRegisteredError if it exists."""
        record = ModelVersion(
            name=name,
            version=version,
            status=REGISTERED,
            artifact_url=artifact_url,
            archive_sha256=archive_sha256,
            data_fingerprint=metadata.get("data_fingerprint"),
            metrics=metadata.get("metrics") or {},
            created_at=_now(),
            trained_at=metadata.get("trained_at"),
        )
        attributes = _to_dynamodb_value(record.as_dict())
        item = {**model_key(name, version), **{key: _serializer.serialize(value) for key, value in attributes.items()}}
        try:
            self._client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VersionAlreadyRegisteredError(
                    f"{name} version {version} is registered already; train a new version to register another artifact"
                ) from error
            raise RegistryError(f"cannot register {name} version {version} in {self.table_name}: {error}") from error
        return record

    def get(self, name: str, version: str) -> ModelVersion:
        """Return one version; raise VersionNotFoundError if it is not registered."""
        try:
            response = self._client.get_item(TableName=self.table_name, Key=model_key(name, version), ConsistentRead=True)
        except ClientError as error:
            raise RegistryError(f"cannot read {name} version {version} from {self.table_name}: {error}") from error
        if "Item" not in response:
            raise VersionNotFoundError(f"{name} version {version} is not registered in {self.table_name}")
        return _record(response["Item"])

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Return every registered version of a model, newest registration first."""
        records: list[ModelVersion] = []
        request = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :version)",
            "ExpressionAttributeValues": {":pk": {"S": f"MODEL#{name}"}, ":version": {"S": "VERSION#"}},
            "ConsistentRead": True,
        }
        while True:
            try:
                response = self._client.query(**request)
            except ClientError as error:
                raise RegistryError(f"cannot list versions of {name} in {self.table_name}: {error}") from error
            records.extend(_record(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(records, key=lambda record: (record.created_at, record.version), reverse=True)

    def latest(self, name: str, status: str | None = None) -> ModelVersion | None:
        """Return the most recently registered version, optionally only among those in `status`."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        for record in self.list_versions(name):
            if status is None or record.status == status:
                return record
        return None

    def mark_deployed(self, name: str, version: str, endpoint_name: str) -> ModelVersion:
        """Mark a version deployed on an endpoint and retire the version the endpoint served before.

        A version records one endpoint, the last one it was deployed to. Marking a version that is
        deployed on this endpoint already changes nothing.
        """
        versions = self.list_versions(name)
        current = next((record for record in versions if record.version == version), None)
        if current is not None and current.status == DEPLOYED and current.endpoint_name == endpoint_name:
            return current

        now = _now()
        previous = [
            record
            for record in versions
            if record.status == DEPLOYED and record.endpoint_name == endpoint_name and record.version != version
        ]
        items = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": model_key(name, version),
                    "UpdateExpression": "SET #status = :deployed, endpoint_name = :endpoint, deployed_at = :now REMOVE retired_at",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":deployed": {"S": DEPLOYED},
                        ":endpoint": {"S": endpoint_name},
                        ":now": {"S": now},
                    },
                }
            }
        ]
        for record in previous:
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": model_key(name, record.version),
                        "UpdateExpression": "SET #status = :retired, retired_at = :now",
                        "ConditionExpression": "#status = :deployed AND endpoint_name = :endpoint",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":retired": {"S": RETIRED},
                            ":deployed": {"S": DEPLOYED},
                            ":endpoint": {"S": endpoint_name},
                            ":now": {"S": now},
                        },
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise VersionNotFoundError(f"{name} version {version} is not registered in {self.table_name}; register it first") from error
            raise RegistryError(
                f"cannot mark {name} version {version} deployed on {endpoint_name}: {error}; "
                "another deployment may have changed the registry, so run again"
            ) from error
        return self.get(name, version)

    def mark_retired(self, name: str, version: str) -> ModelVersion:
        """Mark a version retired, for example after its endpoint was deleted."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=model_key(name, version),
                UpdateExpression="SET #status = :retired, retired_at = :now",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":retired": {"S": RETIRED}, ":now": {"S": _now()}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise VersionNotFoundError(f"{name} version {version} is not registered in {self.table_name}") from error
            raise RegistryError(f"cannot retire {name} version {version}: {error}") from error
        return self.get(name, version)


_FIELDS = set(ModelVersion.__dataclass_fields__)


def _record(item: dict[str, Any]) -> ModelVersion:
    values = {key: _from_dynamodb_value(_deserializer.deserialize(value)) for key, value in item.items() if key in _FIELDS}
    values.setdefault("metrics", {})
    values.setdefault("data_fingerprint", None)
    return ModelVersion(**values)
