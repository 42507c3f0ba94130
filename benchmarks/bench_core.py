"""Benchmarks of the ticket service itself: cold import cost, DynamoDB calls per operation, and
intake throughput on moto.

`python -m benchmarks.bench_core` writes benchmarks/results/core.md. Every number is a ratio
or a count measured against a baseline in the same process, so it carries over between
machines better than a raw time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULT_PATH = Path(__file__).resolve().parent / "results" / "core.md"
IMPORT_RUNS = 9
INTAKE_MESSAGES = 300
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-2",
    "CALLER_SOURCE": "dev_tokens",
    "DEV_TOKEN_SECRET": "benchmark-secret-for-development-tokens-0123",
    "MODEL_BACKEND": "local",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "TRIAGE_ENABLED": "false",
}


def import_seconds(statement: str, **environment: str) -> float:
    """Median wall time of a fresh interpreter that runs one import statement."""
    timings = []
    for _ in range(IMPORT_RUNS):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", statement], cwd=PROJECT_ROOT, check=True, env={**os.environ, **ENVIRONMENT, **environment}
        )
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def measure_imports() -> dict[str, float]:
    empty = import_seconds("pass")
    baseline = import_seconds("import boto3, chalice") - empty
    app = import_seconds("import app") - empty
    # As in a Lambda container with active tracing: the X-Ray SDK is loaded too.
    traced = import_seconds("import app", AWS_LAMBDA_FUNCTION_NAME="bench", POWERTOOLS_TRACE_DISABLED="false") - empty
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, app; print(sorted(m for m in ('sklearn','pandas','sagemaker','numpy','scipy') if m in sys.modules))"],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True, env={**os.environ, **ENVIRONMENT},
    ).stdout.strip()
    return {
        "baseline_s": baseline,
        "app_s": app,
        "ratio": app / baseline,
        "traced_s": traced,
        "traced_ratio": traced / baseline,
        "heavy_modules": heavy,
    }


class KeywordEndpoint:
    name = "sentiment"

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": "sentiment",
            "model_version": "bench",
            "predictions": [{"label": "neutral", "score": 0.9, "negative": 0.05, "language": "ko"} for _ in payload["texts"]],
        }


def measure_with_moto() -> tuple[dict[str, Counter], dict[str, float]]:
    from moto import mock_aws

    from functions import wiring
    from infra.local import moto_speedups

    # moto copies the whole table for every transaction; the local stack's cheaper rollback
    # keeps this measurement about the service rather than the emulator.
    moto_speedups.install()
    with mock.patch.dict(os.environ, ENVIRONMENT), mock_aws(), mock.patch.object(
        wiring, "model_endpoint", lambda name: KeywordEndpoint()
    ):
        import boto3

        from functions.adapters.clients import client
        from infra.provision import deploy_resources, environment_for

        os.environ.update(environment_for(deploy_resources(boto3.client("cloudformation"), "bench")))
        wiring.reset()

        calls: Counter = Counter()
        dynamodb = client("dynamodb")
        dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.update([model.name]))

        from chalice.test import Client

        from app import app
        from infra.local.lambda_runtime import invoke, sqs_event

        per_operation: dict[str, Counter] = {}
        from datetime import timedelta

        from functions.api.auth import mint_dev_token
        from infra.local import gateway

        token = mint_dev_token(
            ENVIRONMENT["DEV_TOKEN_SECRET"], "servicedesk-local", "bench", "u", "supervisor", timedelta(hours=1)
        )
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

        def count(name: str, action) -> Any:
            calls.clear()
            result = action()
            per_operation[name] = Counter(calls)
            return result

        with gateway.installed(), Client(app) as http:
            body = json.dumps({"title": "노트북 고장", "description": "화면이 안 켜집니다", "requester_id": "r", "customer_id": "c", "channel": "email"}).encode()
            created = count("POST /tickets", lambda: http.http.post("/tickets", headers=headers, body=body))
            ticket = json.loads(created.body)
            count("POST /tickets with Idempotency-Key", lambda: http.http.post("/tickets", headers={**headers, "Idempotency-Key": "k1"}, body=body))
            count("GET /tickets/{id}", lambda: http.http.get(f"/tickets/{ticket['ticket_id']}", headers=headers))
            count("GET /tickets?status=new", lambda: http.http.get("/tickets?status=new", headers=headers))
            count(
                "PATCH /tickets/{id}",
                lambda: http.http.patch(f"/tickets/{ticket['ticket_id']}", headers={**headers, "If-Match": '"1"'}, body=b'{"priority":"high"}'),
            )
            message = json.dumps({"body": "추가 문의", "channel": "chat", "author_id": "r"}).encode()
            count("POST /tickets/{id}/messages", lambda: http.http.post(f"/tickets/{ticket['ticket_id']}/messages", headers=headers, body=message))
            count("GET /tickets/{id}/messages", lambda: http.http.get(f"/tickets/{ticket['ticket_id']}/messages", headers=headers))

        queue_arn = "arn:aws:sqs:ap-northeast-2:123456789012:servicedesk-intake"

        def intake_batch(start: int, size: int, thread: str | None = None) -> dict[str, Any]:
            messages = []
            for number in range(start, start + size):
                body = {
                    "tenant_id": "bench", "message_id": f"m-{number}", "channel": "chat",
                    "thread_key": thread or f"thread-{number}", "customer_id": "c", "requester_id": "r",
                    "body": "프린터가 고장났습니다. 확인 부탁드립니다.",
                }
                messages.append({"MessageId": f"sqs-{number}", "ReceiptHandle": "r", "Body": json.dumps(body, ensure_ascii=False)})
            return sqs_event(queue_arn, messages)

        count("intake: message opening a ticket", lambda: invoke(app, "handle_intake", intake_batch(10_000, 1)))
        count("intake: message joining a thread", lambda: invoke(app, "handle_intake", intake_batch(10_001, 1, "thread-10000")))

        started = time.perf_counter()
        for start in range(0, INTAKE_MESSAGES, 10):
            invoke(app, "handle_intake", intake_batch(start, 10))
        intake_seconds = time.perf_counter() - started

        table = os.environ["TABLE_NAME"]
        started = time.perf_counter()
        for number in range(INTAKE_MESSAGES):
            dynamodb.put_item(TableName=table, Item={"PK": {"S": f"raw#{number}"}, "SK": {"S": "x"}, "body": {"S": "프린터"}})
        raw_seconds = time.perf_counter() - started
    wiring.reset()

    throughput = {
        "intake_per_second": INTAKE_MESSAGES / intake_seconds,
        "put_item_per_second": INTAKE_MESSAGES / raw_seconds,
        "ratio": raw_seconds / intake_seconds,
    }
    return per_operation, throughput


def run() -> str:
    imports = measure_imports()
    per_operation, throughput = measure_with_moto()

    lines = [
        "## Ticket service",
        "",
        f"Measured by `python -m benchmarks.bench_core` on a 2-core machine (Python {sys.version.split()[0]}).",
        "",
        "### Cold import",
        "",
        f"Median of {IMPORT_RUNS} fresh interpreters, minus an empty interpreter's start.",
        "",
        "| import | seconds | ratio |",
        "|---|---|---|",
        f"| `import boto3, chalice` (baseline) | {imports['baseline_s']:.3f} | 1.00 |",
        f"| `import app` (every handler, Powertools, pydantic models) | {imports['app_s']:.3f} | {imports['ratio']:.2f} |",
        f"| `import app` in Lambda with tracing (adds the X-Ray SDK) | {imports['traced_s']:.3f} | {imports['traced_ratio']:.2f} |",
        "",
        f"Heavy libraries loaded by `import app`: {imports['heavy_modules']} (scikit-learn, pandas, SageMaker SDK, numpy and scipy must stay out).",
        "",
        "### DynamoDB calls per operation",
        "",
        "Counted with botocore `before-call` events on moto; the idempotency store is the second table.",
        "",
        "| operation | calls | by API |",
        "|---|---|---|",
    ]
    for name, calls in per_operation.items():
        detail = ", ".join(f"{api} {count}" for api, count in sorted(calls.items()))
        lines.append(f"| {name} | {sum(calls.values())} | {detail} |")
    lines += [
        "",
        "### Intake throughput on moto",
        "",
        f"{INTAKE_MESSAGES} channel messages, each opening a ticket, in batches of 10 through the consumer "
        "(triage off, sentiment answered by a constant stand-in so that only the service and DynamoDB are timed, "
        "and moto's transaction rollback replaced by the local stack's item-level one), "
        f"against {INTAKE_MESSAGES} plain `put_item` calls in the same process.",
        "",
        "| path | per second | ratio to put_item |",
        "|---|---|---|",
        f"| raw `put_item` loop (baseline) | {throughput['put_item_per_second']:.0f} | 1.00 |",
        f"| intake consumer | {throughput['intake_per_second']:.1f} | {throughput['ratio']:.3f} |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    section = run()
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(section, "utf-8")
    print(section)
