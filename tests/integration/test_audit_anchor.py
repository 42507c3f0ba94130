"""Audit chain anchors in the S3 bucket with Object Lock: the scheduled job, and GET /audit/verify
catching a rewrite of the whole audit table, on moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions import wiring
from functions.adapters.audit import entry_from_item, entry_item
from functions.adapters.audit_anchors import anchor_key
from functions.domain.audit import chain_records
from functions.models.audit import GENESIS_HASH, AuditRecord, ChainHead
from functions.models.events import Actor
from infra.local.lambda_runtime import invoke, scheduled_event
from tests.conftest import Api
from tests.integration.test_audit_log import entry_key, stored_entries


@pytest.fixture
def supervisor(client: Any, tenant: str) -> Api:
    return Api(client, tenant, user_id="supervisor-kim", role="supervisor")


def grow_chain(api: Api, tickets: int) -> None:
    for number in range(tickets):
        api.create_ticket(title=f"모니터 고장 {number}")


def run_anchor_job() -> dict[str, int]:
    from app import app

    return invoke(app, "anchor_audit_chains", scheduled_event("anchor-audit-chains"))


def verify(api: Api) -> dict[str, Any]:
    response = api.call("get", "/audit/verify")
    assert response.status_code == 200, response.body
    return response.json


def rewrite_whole_chain(aws: dict[str, str], tenant: str, keep: int) -> None:
    """Rewrite the first `keep` entries and the head into a consistent chain that differs from
    entry 1 on, and delete the rest, as someone with full write access to the table could."""
    dynamodb = boto3.client("dynamodb")
    table = aws["AuditTableName"]
    stored = [entry_from_item(item) for item in stored_entries(dynamodb, table, tenant)]
    forged_records = [
        AuditRecord(**{**entry.model_dump(include=set(AuditRecord.model_fields)), "actor": Actor(user_id="intruder", role="admin")})
        for entry in stored[:keep]
    ]
    forged = chain_records(ChainHead(sequence=0, hash=GENESIS_HASH), forged_records)
    for entry in stored[keep:]:
        dynamodb.delete_item(TableName=table, Key=entry_key(tenant, entry.sequence))
    for entry in forged:
        dynamodb.put_item(TableName=table, Item=entry_item(entry))
    head = wiring.audit_log().read_head(tenant)
    dynamodb.update_item(
        TableName=table,
        Key=entry_key(tenant, 0),
        UpdateExpression="SET #sequence = :sequence, #hash = :hash",
        ExpressionAttributeNames={"#sequence": "sequence", "#hash": "hash"},
        ExpressionAttributeValues={":sequence": {"N": str(forged[-1].sequence)}, ":hash": {"S": forged[-1].hash}},
    )
    assert head.sequence >= forged[-1].sequence


def test_job_anchors_head(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 2)
    head = wiring.audit_log().read_head(tenant)

    result = run_anchor_job()

    assert result["anchored"] >= 1
    assert result["mismatched"] == 0
    stored = boto3.client("s3").get_object(Bucket=aws["AuditAnchorBucketName"], Key=anchor_key(tenant))
    anchor = json.loads(stored["Body"].read())
    assert anchor["tenant_id"] == tenant
    assert anchor["sequence"] == head.sequence
    assert anchor["hash"] == head.hash
    assert stored["ObjectLockMode"] == "GOVERNANCE"
    assert "ObjectLockRetainUntilDate" in stored
    report = verify(supervisor)
    assert report["intact"] is True
    assert report["anchor"]["sequence"] == head.sequence
    assert report["anchor"]["hash"] == head.hash


def test_unchanged_chain_not_anchored_again(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 1)
    run_anchor_job()
    s3 = boto3.client("s3")
    bucket = aws["AuditAnchorBucketName"]

    run_anchor_job()
    versions_unchanged = s3.list_object_versions(Bucket=bucket, Prefix=anchor_key(tenant))["Versions"]
    grow_chain(supervisor, 1)
    run_anchor_job()
    versions_grown = s3.list_object_versions(Bucket=bucket, Prefix=anchor_key(tenant))["Versions"]

    assert len(versions_unchanged) == 1
    assert len(versions_grown) == 2


def test_anchor_versions_cannot_be_deleted(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 1)
    run_anchor_job()
    s3 = boto3.client("s3")
    bucket = aws["AuditAnchorBucketName"]
    [version] = s3.list_object_versions(Bucket=bucket, Prefix=anchor_key(tenant))["Versions"]

    with pytest.raises(ClientError) as denied:
        s3.delete_object(Bucket=bucket, Key=anchor_key(tenant), VersionId=version["VersionId"])

    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key=anchor_key(tenant), VersionId=version["VersionId"])["Body"].read()


def test_whole_table_rewrite_detected(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 2)
    run_anchor_job()
    anchored = wiring.audit_log().read_head(tenant)
    grow_chain(supervisor, 1)

    rewrite_whole_chain(aws, tenant, keep=wiring.audit_log().read_head(tenant).sequence)
    report = verify(supervisor)

    # The rewritten chain is consistent in itself: every entry and the head check out.
    assert report["entries"] == report["head"]["sequence"]
    assert report["intact"] is False
    assert report["first_broken"]["reason"] == "anchor mismatch"
    assert report["first_broken"]["sequence"] == anchored.sequence
    assert anchored.hash in report["first_broken"]["detail"]
    assert report["anchor"]["hash"] == anchored.hash


def test_rewrite_is_never_anchored(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 2)
    run_anchor_job()
    anchored = wiring.audit_log().read_head(tenant)
    grow_chain(supervisor, 1)
    rewrite_whole_chain(aws, tenant, keep=wiring.audit_log().read_head(tenant).sequence)

    result = run_anchor_job()
    report = verify(supervisor)

    assert result["mismatched"] >= 1
    assert wiring.anchor_store().latest(tenant).hash == anchored.hash
    assert report["first_broken"]["reason"] == "anchor mismatch"


def test_truncated_table_detected(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 3)
    run_anchor_job()
    anchored = wiring.audit_log().read_head(tenant)

    rewrite_whole_chain(aws, tenant, keep=1)
    report = verify(supervisor)

    assert report["intact"] is False
    assert report["head"]["sequence"] == 1
    assert report["first_broken"] == {
        "sequence": anchored.sequence,
        "reason": "anchor mismatch",
        "detail": report["first_broken"]["detail"],
    }
    assert f"ends at entry 1, but entry {anchored.sequence} was anchored" in report["first_broken"]["detail"]


def test_chain_without_anchor_reports_none(supervisor: Api) -> None:
    grow_chain(supervisor, 1)

    report = verify(supervisor)

    assert report["intact"] is True
    assert report["anchor"] is None


def test_changed_entry_after_anchor_stops_anchoring(supervisor: Api, tenant: str, aws: dict[str, str]) -> None:
    grow_chain(supervisor, 1)
    run_anchor_job()
    anchored = wiring.audit_log().read_head(tenant)
    grow_chain(supervisor, 1)
    dynamodb = boto3.client("dynamodb")
    # A change to an entry after the anchor, with its hash left as it was.
    dynamodb.update_item(
        TableName=aws["AuditTableName"],
        Key=entry_key(tenant, anchored.sequence + 1),
        UpdateExpression="SET #action = :action",
        ExpressionAttributeNames={"#action": "action"},
        ExpressionAttributeValues={":action": {"S": "ticket.deleted"}},
    )

    result = run_anchor_job()

    assert result["mismatched"] >= 1
    assert wiring.anchor_store().latest(tenant).sequence == anchored.sequence


def test_job_anchors_at_most_max_entries(
    supervisor: Api, tenant: str, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    grow_chain(supervisor, 3)
    head = wiring.audit_log().read_head(tenant)
    monkeypatch.setenv("AUDIT_ANCHOR_MAX_ENTRIES", "2")
    wiring.get_settings.cache_clear()
    wiring.anchor_job.cache_clear()

    run_anchor_job()
    first = wiring.anchor_store().latest(tenant)
    run_anchor_job()
    second = wiring.anchor_store().latest(tenant)
    wiring.get_settings.cache_clear()
    wiring.anchor_job.cache_clear()

    assert first.sequence == 2
    assert second.sequence == min(4, head.sequence)
    assert verify(supervisor)["intact"] is True
