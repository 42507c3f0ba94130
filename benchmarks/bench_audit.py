"""Benchmarks of the audit log on moto: the cost of an append next to a plain transaction,
appends under contention, and verification speed, which sizes the entries one
GET /audit/verify call can check inside API Gateway's 29 s.

`python -m benchmarks.bench_audit` writes benchmarks/results/audit.md. Rates are measured against
a baseline in the same process, so ratios carry over between machines better than raw times.
moto's absolute speed is far below DynamoDB's.
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULT_PATH = Path(__file__).resolve().parent / "results" / "audit.md"
SINGLE_APPENDS = 300
WRITERS = 4
APPENDS_PER_WRITER = 50
VERIFY_ENTRIES = 3000
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-2",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def record(tenant_id: str, number: int) -> Any:
    from functions.models.audit import AuditChange, AuditRecord
    from functions.models.caller import Role
    from functions.models.events import Actor

    return AuditRecord(
        tenant_id=tenant_id,
        timestamp="2025-03-04T05:06:07.000000Z",
        actor=Actor(user_id="supervisor-kim", role=Role.SUPERVISOR),
        action="ticket.updated",
        resource_type="ticket",
        resource_id=f"01JNF7YDH8GR6NT5ECPM4D{number:04d}",
        changes={"priority": AuditChange(old="medium", new="high"), "queue": AuditChange(old="general", new="하드웨어")},
        event_id=f"01JNF7YDH8GR6NT5ECPM4E{number:04d}",
    )


def plain_transactions(dynamodb: Any, table: str, count: int, prefix: str = "BASELINE") -> float:
    """Per second: two-item transactions (an item and a conditional put), the baseline."""
    started = time.perf_counter()
    for number in range(count):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": f"{prefix}#{number}"}, "SK": {"N": "1"}},
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"TableName": table, "Item": {"PK": {"S": f"{prefix}#{number}"}, "SK": {"N": "0"}}}},
            ]
        )
    return count / (time.perf_counter() - started)


def single_appends(log: Any, count: int) -> float:
    started = time.perf_counter()
    for number in range(count):
        log.append([record("bench-single", number)])
    return count / (time.perf_counter() - started)


def contended_appends(dynamodb: Any, table: str) -> dict[str, float]:
    from functions.adapters.audit import DynamoAuditLog

    retries: list[float] = []

    def sleep(seconds: float) -> None:
        retries.append(seconds)
        time.sleep(seconds)

    # One log per writer, as in separate Lambda containers, so that the writers race for the head.
    logs = [DynamoAuditLog(dynamodb, table, max_attempts=200, sleep=sleep) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        start.wait()
        for number in range(APPENDS_PER_WRITER):
            logs[writer].append([record("bench-contended", writer * 1000 + number)])

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    appends = WRITERS * APPENDS_PER_WRITER
    return {"per_second": appends / elapsed, "retries_per_append": len(retries) / appends, "head": logs[0].read_head("bench-contended").sequence}


def verification(log: Any) -> dict[str, float]:
    from functions.domain.audit import AuditService
    from functions.models.caller import Caller, Role

    for start in range(0, VERIFY_ENTRIES, 50):
        log.append([record("bench-verify", number) for number in range(start, start + 50)])
    service = AuditService(log, default_entries=VERIFY_ENTRIES, max_entries=VERIFY_ENTRIES, time_budget_seconds=25)
    caller = Caller(tenant_id="bench-verify", user_id="supervisor-kim", role=Role.SUPERVISOR)

    started = time.perf_counter()
    report = service.verify(caller, limit=VERIFY_ENTRIES)
    elapsed = time.perf_counter() - started
    assert report.intact and report.entries == VERIFY_ENTRIES, report

    from functions.domain.audit import entry_hash

    entries = [entry for page in log.entry_pages("bench-verify", 1, VERIFY_ENTRIES) for entry in page]
    hash_started = time.perf_counter()
    for entry in entries:
        entry_hash(entry)
    hash_elapsed = time.perf_counter() - hash_started
    return {"per_second": VERIFY_ENTRIES / elapsed, "hash_per_second": len(entries) / hash_elapsed}


@contextlib.contextmanager
def serialised_moto_requests() -> Iterator[None]:
    """Run one moto request at a time: moto's transactions are not atomic across threads, and
    DynamoDB's are (tests/conftest.py explains the same lock)."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    lock = threading.Lock()

    def process_request(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = process_request
    try:
        yield
    finally:
        BotocoreStubber.process_request = original


def main() -> int:
    from moto import mock_aws

    with mock.patch.dict(os.environ, ENVIRONMENT), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        import boto3

        from functions.adapters.audit import DynamoAuditLog
        from infra.provision import deploy_resources
        from infra.local import moto_speedups

        # As in the local stack: moto 5.2 otherwise copies the whole table for each transaction
        # item, so every rate here would fall as the table grows.
        moto_speedups.install()
        table = deploy_resources(boto3.client("cloudformation"), "bench-audit")["AuditTableName"]
        dynamodb = boto3.client("dynamodb")
        log = DynamoAuditLog(dynamodb, table)

        with serialised_moto_requests():
            plain_transactions(dynamodb, table, 20, prefix="WARMUP")
            baseline = plain_transactions(dynamodb, table, SINGLE_APPENDS)
            single = single_appends(log, SINGLE_APPENDS)
            contended = contended_appends(dynamodb, table)
            verified = verification(log)

    lines = [
        "## Audit log",
        "",
        f"Measured by `python -m benchmarks.bench_audit` on a {os.cpu_count()}-core machine "
        f"(Python {platform.python_version()}), against moto in process with one request at a time and "
        "the local stack's transaction speed-up (infra/local/moto_speedups.py).",
        "",
        "### Appends",
        "",
        "| path | per second | ratio to baseline |",
        "|---|---|---|",
        f"| two-item `TransactWriteItems` (baseline) | {baseline:.0f} | 1.00 |",
        f"| `append` of one entry: head `GetItem` + entry and head in one transaction | {single:.0f} | {single / baseline:.2f} |",
        f"| {WRITERS} writers on one tenant, {APPENDS_PER_WRITER} appends each | {contended['per_second']:.0f} | "
        f"{contended['per_second'] / baseline:.2f} |",
        "",
        f"Under contention: {contended['retries_per_append']:.2f} retries per append; head at "
        f"{contended['head']:.0f} of {WRITERS * APPENDS_PER_WRITER} appends, so no append was lost.",
        "An append makes two moto calls (the head `GetItem` and the transaction) where the baseline "
        "makes one, and moto's time dominates both; hashing costs the fraction shown below.",
        "",
        "### Verification",
        "",
        "| step | entries per second |",
        "|---|---|",
        f"| `GET /audit/verify` walk of {VERIFY_ENTRIES} entries (Query pages, hashing, checks) | {verified['per_second']:.0f} |",
        f"| hashing alone (RFC 8785 canonical JSON + SHA-256) | {verified['hash_per_second']:.0f} |",
        "",
        "At the walk's rate on moto, the default budget of 20 s (AUDIT_VERIFY_SECONDS) covers about "
        f"{verified['per_second'] * 20:.0f} entries; the time budget ends a call early when DynamoDB "
        "is slower, and the cursor continues it.",
        "",
    ]
    RESULT_PATH.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
