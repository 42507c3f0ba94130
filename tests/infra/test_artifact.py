"""The deployment artifact imports and serves on its own, without the work tree or the venv."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import package
from tests.infra.conftest import PackagedApp

pytestmark = pytest.mark.package

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("artifact_probe.py")
REGION = "ap-northeast-2"
MOTO_ACCOUNT_ID = "123456789012"
CLAIMS = {"sub": "agent-7", "custom:tenant_id": "hanbit", "custom:role": "agent"}
ANGRY_EMAIL = {
    "tenant_id": "hanbit",
    "message_id": "mail-0001",
    "channel": "email",
    "thread_key": "thread-0001",
    "customer_id": "customer-1",
    "requester_id": "kim.minji",
    "subject": "환불 요청",
    "body": "세 번째 문의입니다. 아직도 해결이 안 되어 정말 화가 납니다.",
}


@pytest.fixture(scope="module")
def code_dir(packaged: PackagedApp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(packaged.deployment_zip) as archive:
        archive.extractall(target)
    return target


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server in its own process on loopback, with infra/resources.yaml deployed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(endpoint, server)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def wait_until_listening(endpoint: str, server: subprocess.Popen[bytes], timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {server.returncode}")
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise TimeoutError(f"moto_server did not answer on {endpoint} within {timeout_seconds} s")


def aws_environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


def run_in_venv(endpoint: str, script: str) -> Any:
    """Run a script with the venv's boto3 against the moto server and return its JSON output.

    It runs in its own process, so that no in-process moto mock of another test can catch the calls.
    """
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={"PATH": os.environ["PATH"], **aws_environment(endpoint)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stack_outputs(moto_server: str) -> dict[str, str]:
    return run_in_venv(
        moto_server,
        "import json, boto3\n"
        "from infra.provision import deploy_resources\n"
        "print(json.dumps(deploy_resources(boto3.client('cloudformation'), 'servicedesk-artifact')))\n",
    )


@pytest.fixture(scope="module")
def sentiment_answer(moto_server: str) -> None:
    """Queue the sentiment endpoint's next response in moto's SageMaker runtime: one negative text."""
    body = {
        "model": "sentiment",
        "model_version": "canned",
        "predictions": [{"label": "negative", "score": 0.97, "negative": 0.97, "language": "ko"}],
    }
    request = urllib.request.Request(
        f"{moto_server}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(
            {
                "account_id": MOTO_ACCOUNT_ID,
                "region": REGION,
                "results": [{"Body": json.dumps(body), "ContentType": "application/json"}],
            }
        ).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def function_environment(packaged: PackagedApp, logical_id: str, outputs: dict[str, str]) -> dict[str, str]:
    """Return a function's environment from the template, with references resolved from the stack outputs."""
    # Each referenced resource has an output named after it with one of these suffixes, and each
    # referenced parameter an output of its own name.
    resolved = {
        name.removesuffix(suffix): value
        for name, value in outputs.items()
        for suffix in ("Name", "Url", "Arn")
        if name.endswith(suffix)
    }
    resolved.update(outputs)
    resolved["EventBus"] = outputs["EventBusName"]
    environment = {}
    variables = packaged.template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    for name, value in variables.items():
        if isinstance(value, dict):
            target = value.get("Ref") or value["Fn::GetAtt"][0]
            environment[name] = resolved[target]
        else:
            environment[name] = value
    return environment


def proxy_event(method: str, path: str, resource: str, path_parameters: dict[str, str], claims: dict[str, str] | None) -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda receives it from the deployed API."""
    headers = {"Accept": "application/json", "Accept-Language": "en"}
    request_context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/api{path}",
        "stage": "api",
        "requestId": "probe-request",
        "identity": {"sourceIp": "127.0.0.1"},
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": None,
        "isBase64Encoded": False,
    }


def sqs_event(bodies: dict[str, str]) -> dict[str, Any]:
    records = []
    for message_id, body in bodies.items():
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:servicedesk-intake",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


@pytest.fixture(scope="module")
def probe_results(
    packaged: PackagedApp,
    code_dir: Path,
    moto_server: str,
    stack_outputs: dict[str, str],
    sentiment_answer: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Run artifact_probe.py on the unpacked code in a fresh, isolated interpreter."""
    work_dir = tmp_path_factory.mktemp("probe")
    resources = packaged.template["Resources"]
    spec = {
        "code_dir": str(code_dir),
        "result_file": str(work_dir / "results.json"),
        "handlers": {logical_id: resources[logical_id]["Properties"]["Handler"] for logical_id in ("APIHandler", "HandleIntake")},
        "requests": {
            "anonymous": proxy_event("GET", "/tickets/unknown", "/tickets/{ticket_id}", {"ticket_id": "unknown"}, None),
            "signed_in": proxy_event("GET", "/tickets/unknown", "/tickets/{ticket_id}", {"ticket_id": "unknown"}, CLAIMS),
        },
        "sqs_event": sqs_event(
            {
                "valid": json.dumps(ANGRY_EMAIL, ensure_ascii=False),
                "not-json": "{oops",
                "no-fields": json.dumps({"channel": "email"}),
            }
        ),
    }
    spec_file = work_dir / "spec.json"
    spec_file.write_text(json.dumps(spec), "utf-8")
    environment = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        # No X-Ray daemon runs here; Lambda provides one when tracing is active.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **aws_environment(moto_server),
        **function_environment(packaged, "APIHandler", stack_outputs),
    }

    # -I drops PYTHONPATH, the user site and the script's folder; -S drops site-packages.
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(PROBE), str(spec_file)],
        cwd=code_dir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads((work_dir / "results.json").read_text("utf-8"))


def response_body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


def test_imports_come_from_artifact(probe_results: dict[str, Any], code_dir: Path) -> None:
    assert probe_results["foreign_modules"] == {}
    assert not any(entry.startswith(str(PROJECT_DIR)) for entry in probe_results["sys_path"])
    assert probe_results["sys_path"][0] == str(code_dir)
    for name in ("app", "functions", "pydantic", "pydantic_core", "aws_lambda_powertools", "boto3", "chalice"):
        assert name in probe_results["loaded"], name
    for name in package.FORBIDDEN_TOP_LEVEL:
        assert name not in probe_results["loaded"], name


def test_anonymous_request_gets_typed_401(probe_results: dict[str, Any]) -> None:
    response = probe_results["responses"]["anonymous"]
    body = response_body(response)

    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert body["code"] == "unauthorized"
    assert body["request_id"] == "probe-request"
    assert "custom:tenant_id" in body["details"]["problem"]


def test_unknown_ticket_gets_typed_404(probe_results: dict[str, Any]) -> None:
    response = probe_results["responses"]["signed_in"]
    body = response_body(response)

    assert response["statusCode"] == 404, body
    assert body["code"] == "not_found"
    assert body["request_id"] == "probe-request"


def test_intake_reports_only_unreadable_messages(probe_results: dict[str, Any]) -> None:
    failures = probe_results["intake"]["batchItemFailures"]

    assert sorted(failure["itemIdentifier"] for failure in failures) == ["no-fields", "not-json"]


def test_intake_escalates_through_aws_services(probe_results: dict[str, Any], moto_server: str, stack_outputs: dict[str, str]) -> None:
    # The valid message went through DynamoDB, SageMaker runtime (the queued negative response)
    # and EventBridge, whose rule delivers TicketEscalated events to the escalations queue.
    events = run_in_venv(
        moto_server,
        "import json, boto3\n"
        f"url = {stack_outputs['EscalationsQueueUrl']!r}\n"
        "messages = boto3.client('sqs').receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', [])\n"
        "print(json.dumps([json.loads(message['Body']) for message in messages]))\n",
    )

    assert [event["detail-type"] for event in events] == ["TicketEscalated"]
    assert events[0]["detail"]["tenant_id"] == "hanbit"
    assert events[0]["detail"]["negative_score"] == 0.97


def test_intake_handler_gets_middleware(probe_results: dict[str, Any]) -> None:
    assert probe_results["intake_middleware_count"] > 0


def test_deployment_zip_leaves_out_model_libraries(packaged: PackagedApp) -> None:
    with zipfile.ZipFile(packaged.deployment_zip) as archive:
        top_level = package.top_level_names(archive)

    assert "functions" in top_level
    assert not top_level & set(package.FORBIDDEN_TOP_LEVEL)
    assert not {"tests", "infra", "ml", "events", "benchmarks", "cli"} & top_level
