"""S3 storage of audit chain anchors: one object per tenant, a new version per anchor.

The bucket (infra/resources.yaml) has versioning and a default Object Lock retention, so each
anchor version stays unchanged and undeletable for the retention period, whatever the
service's roles can do to the audit table.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from functions.domain.errors import DependencyError
from functions.models.audit import ChainAnchor

ANCHOR_PREFIX = "audit-anchors/"
# Codes S3 returns for a key without any version: NoSuchKey with s3:ListBucket, AccessDenied
# without it, which the policy avoids by granting ListBucket on the prefix.
_MISSING_CODES = frozenset({"NoSuchKey", "404"})


def anchor_key(tenant_id: str) -> str:
    return f"{ANCHOR_PREFIX}{tenant_id}.json"


class S3AnchorStore:
    """AnchorStore on one S3 bucket with Object Lock."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def latest(self, tenant_id: str) -> ChainAnchor | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=anchor_key(tenant_id))
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING_CODES:
                return None
            raise DependencyError(f"S3 get_object of the audit anchor failed: {error.response['Error']['Code']}") from error
        body = response["Body"].read()
        try:
            anchor = ChainAnchor.model_validate_json(body)
        except ValidationError as error:
            raise DependencyError(
                f"the audit anchor of tenant {tenant_id} in s3://{self._bucket} is malformed; "
                "inspect its versions with `aws s3api list-object-versions`"
            ) from error
        if anchor.tenant_id != tenant_id:
            raise DependencyError(f"the audit anchor stored for tenant {tenant_id} names tenant {anchor.tenant_id}")
        return anchor

    def write(self, anchor: ChainAnchor) -> None:
        body = json.dumps(anchor.model_dump(mode="json"), separators=(",", ":"), sort_keys=True).encode("utf-8")
        try:
            # The bucket's default retention locks the new version; with Object Lock, S3 requires
            # an integrity checksum on every PutObject, which the SDK adds.
            self._client.put_object(
                Bucket=self._bucket,
                Key=anchor_key(anchor.tenant_id),
                Body=body,
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as error:
            raise DependencyError(f"S3 put_object of the audit anchor failed: {error.response['Error']['Code']}") from error
