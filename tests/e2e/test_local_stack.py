"""The product as a user meets it: `python -m infra.local` serving HTTP on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests

from ml.common.datasets import dataset_path
from tests.e2e.conftest import PROJECT_ROOT, RunningStack, wait_for

pytestmark = pytest.mark.e2e


def new_tenant() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def test_every_component_logs_its_start(stack: RunningStack) -> None:
    log = "\n".join(stack.log)

    for expected in (
        "moto server listening",
        "resources deployed",
        "sentiment model ready",
        "sample data seeded",
        "API serving on",
        "consumer handle_intake polling servicedesk-intake",
        "schedule relay_outbox firing",
        "API callers need a development token: servicedesk token",
    ):
        assert expected in log


def test_seeded_messages_become_tickets(stack: RunningStack, http: requests.Session) -> None:
    def demo_tickets():
        items = http.get(f"{stack.api_url}/tickets?limit=100", headers=stack.headers("demo")).json()["items"]
        return items if len(items) == 6 else None

    tickets = {ticket["thread_key"]: ticket for ticket in wait_for(demo_tickets, timeout=120)}

    assert tickets["email-thread-7781"]["message_count"] == 2
    outage = tickets["call-20261204-031"]
    assert outage["escalated"] is True
    assert {"churn_risk", "repeated_failure", "outage"} <= set(outage["escalation_reasons"])
    assert outage["queue"] == "senior"
    assert tickets["app-session-99120"]["escalated"] is False


def test_seeded_customer_profile_is_complete(stack: RunningStack, http: requests.Session) -> None:
    view = http.get(f"{stack.api_url}/customers/hanbit-logistics/360", headers=stack.headers("demo"))

    assert view.status_code == 200
    profile = view.json()["profile"]
    assert profile["company"] == "한빛물류"
    assert profile["tier"] == "enterprise"
    assert int(profile["created_at"][:4]) >= 2026


def test_real_model_scores_korean_complaint(stack: RunningStack, http: requests.Session) -> None:
    tenant = new_tenant()
    response = http.post(
        f"{stack.api_url}/tickets",
        headers=stack.headers(tenant),
        data=json.dumps(
            {
                "title": "정말 최악입니다",
                "description": "몇 번을 말해도 고쳐지지 않고 너무 화가 납니다. 이런 서비스는 처음 봅니다.",
                "requester_id": "r1",
                "customer_id": "c1",
                "channel": "chat",
            },
            ensure_ascii=False,
        ).encode(),
    )

    ticket = response.json()
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert ticket["last_sentiment"]["label"] == "negative"
    assert ticket["last_sentiment"]["language"] == "ko"
    assert ticket["last_sentiment"]["negative"] > 0.5
    assert "repeated_failure" in ticket["escalation_reasons"]
    assert ticket["queue"] == "senior"


def test_concurrent_patches_over_http(stack: RunningStack, http: requests.Session) -> None:
    tenant = new_tenant()
    created = http.post(
        f"{stack.api_url}/tickets",
        headers=stack.headers(tenant),
        data=json.dumps({"title": "printer", "requester_id": "r1", "customer_id": "c1", "channel": "email"}),
    ).json()
    url = f"{stack.api_url}/tickets/{created['ticket_id']}"
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def patch(priority: str) -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.patch(
                url, headers=stack.headers(tenant, **{"If-Match": '"1"'}), data=json.dumps({"priority": priority})
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(priority,)) for priority in ("high", "low")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    assert http.get(url, headers=stack.headers(tenant)).json()["version"] == 2


def test_oversized_and_wrong_type_bodies(stack: RunningStack, http: requests.Session) -> None:
    headers = stack.headers(new_tenant(), **{"Accept-Language": "ko"})
    big = json.dumps({"title": "x", "description": "가" * 40_000, "requester_id": "r", "customer_id": "c", "channel": "chat"})

    too_large = http.post(f"{stack.api_url}/tickets", headers=headers, data=big.encode())
    wrong_type = http.post(f"{stack.api_url}/tickets", headers={**headers, "Content-Type": "text/xml"}, data=b"<a/>")

    assert too_large.status_code == 413
    assert too_large.json()["code"] == "payload_too_large"
    assert wrong_type.status_code == 415
    assert "지원하지 않습니다" in wrong_type.json()["message"]


def write_incident_log(path: Path) -> None:
    """Three incidents in the ServiceNow event log format, written for this test."""
    header = [
        "number", "incident_state", "active", "reassignment_count", "reopen_count", "sys_mod_count", "made_sla",
        "caller_id", "opened_by", "opened_at", "sys_updated_at", "contact_type", "location", "category",
        "subcategory", "u_symptom", "priority", "assignment_group", "assigned_to",
    ]
    rows = [
        ["INC900001", "New", "true", "0", "0", "0", "true", "Caller 1", "Opened by 1", "1/3/2016 09:00", "1/3/2016 09:00", "Phone", "Location 1", "Category 1", "Subcategory 1", "Symptom 1", "3 - Moderate", "?", "?"],
        ["INC900001", "Active", "true", "0", "0", "1", "true", "Caller 1", "Opened by 1", "1/3/2016 09:00", "1/3/2016 09:30", "Phone", "Location 1", "Category 1", "Subcategory 1", "Symptom 1", "3 - Moderate", "Group 7", "Resolver 3"],
        ["INC900001", "Awaiting User Info", "true", "0", "0", "2", "true", "Caller 1", "Opened by 1", "1/3/2016 09:00", "1/3/2016 10:00", "Phone", "Location 1", "Category 1", "Subcategory 1", "Symptom 1", "3 - Moderate", "Group 7", "Resolver 3"],
        ["INC900001", "Active", "true", "0", "0", "3", "true", "Caller 1", "Opened by 1", "1/3/2016 09:00", "1/3/2016 11:00", "Phone", "Location 1", "Category 1", "Subcategory 1", "Symptom 1", "2 - High", "Group 7", "Resolver 3"],
        ["INC900001", "Resolved", "true", "0", "0", "4", "true", "Caller 1", "Opened by 1", "1/3/2016 09:00", "1/3/2016 12:00", "Phone", "Location 1", "Category 1", "Subcategory 1", "Symptom 1", "2 - High", "Group 7", "Resolver 3"],
        ["INC900001", "Closed", "false", "0", "0", "5", "true", "Caller 1", "Opened by 1", "1/3/2016 09:00", "6/3/2016 12:00", "Phone", "Location 1", "Category 1", "Subcategory 1", "Symptom 1", "2 - High", "Group 7", "Resolver 3"],
        ["INC900002", "New", "true", "0", "0", "0", "false", "Caller 2", "Opened by 1", "2/3/2016 08:00", "2/3/2016 08:00", "Email", "Location 2", "Category 2", "?", "?", "1 - Critical", "Group 1", "?"],
        ["INC900002", "Resolved", "true", "0", "0", "1", "false", "Caller 2", "Opened by 1", "2/3/2016 08:00", "2/3/2016 09:00", "Email", "Location 2", "Category 2", "?", "?", "1 - Critical", "Group 1", "Resolver 9"],
        ["INC900002", "Active", "true", "1", "1", "2", "false", "Caller 2", "Opened by 1", "2/3/2016 08:00", "2/3/2016 10:00", "Email", "Location 2", "Category 2", "?", "?", "1 - Critical", "Group 1", "Resolver 9"],
        ["INC900003", "New", "true", "0", "0", "0", "true", "?", "Opened by 2", "3/3/2016 08:00", "3/3/2016 08:00", "Self service", "?", "?", "?", "?", "4 - Low", "?", "?"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def run_cli(stack: RunningStack, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, "-m", "cli.main", *arguments,
            "--api-url", stack.api_url, "--aws-endpoint", stack.aws_endpoint, "--secret-file", str(stack.secret_file),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_replay_servicenow_follows_events(stack: RunningStack, tmp_path: Path, http: requests.Session) -> None:
    log = tmp_path / "incidents.csv"
    write_incident_log(log)
    tenant = new_tenant()

    result = run_cli(stack, "replay", "servicenow", str(log), "--json", "--tenant", tenant)

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["errors"] == 0
    assert summary["tickets"] == 3
    assert summary["replies_queued"] == 1
    assert summary["latency_ms"]["p95"] >= summary["latency_ms"]["p50"] > 0
    tickets = {t["thread_key"]: t for t in http.get(f"{stack.api_url}/tickets", headers=stack.headers(tenant)).json()["items"]}
    assert tickets["INC900001"]["status"] == "closed"
    assert tickets["INC900001"]["message_count"] == 2
    assert tickets["INC900001"]["priority"] == "high"
    assert tickets["INC900001"]["assignee_id"] == "resolver-3"
    assert tickets["INC900002"]["status"] == "in_progress"
    assert tickets["INC900003"]["status"] == "new"

    again = run_cli(stack, "replay", "servicenow", str(log), "--json", "--tenant", tenant)
    assert json.loads(again.stdout)["errors"] == 0
    assert len(http.get(f"{stack.api_url}/tickets", headers=stack.headers(tenant)).json()["items"]) == 3


def test_replay_servicenow_shared_log_sample(stack: RunningStack) -> None:
    log = dataset_path("servicenow_incident_log", "incident_event_log_train.csv")
    if not log.is_file():
        pytest.skip("the ServiceNow incident log is not available")

    result = run_cli(stack, "replay", "servicenow", str(log), "--limit", "150", "--json", "--tenant", new_tenant())

    summary = json.loads(result.stdout)
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["tickets"] == 150
    assert summary["state_changes"] > 150


def test_interrupted_replay_prints_partial_summary(stack: RunningStack, tmp_path: Path, http: requests.Session) -> None:
    log = tmp_path / "incidents.csv"
    with log.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "incident_state", "sys_updated_at", "opened_at", "priority", "contact_type"])
        for number in range(400):
            for minute, state in enumerate(("New", "Active", "Resolved", "Closed")):
                writer.writerow([f"INC8{number:05d}", state, f"1/3/2016 09:{minute:02d}", "1/3/2016 09:00", "3 - Moderate", "Phone"])
    tenant = new_tenant()
    replay = subprocess.Popen(
        [
            sys.executable, "-m", "cli.main", "replay", "servicenow", str(log), "--json", "--tenant", tenant,
            "--api-url", stack.api_url, "--aws-endpoint", stack.aws_endpoint, "--secret-file", str(stack.secret_file),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def some_tickets():
        items = http.get(f"{stack.api_url}/tickets?limit=20", headers=stack.headers(tenant)).json()["items"]
        return items if len(items) >= 10 else None

    wait_for(some_tickets, timeout=120)
    replay.send_signal(signal.SIGINT)
    output, error_output = replay.communicate(timeout=300)

    summary = json.loads(output)
    assert summary["interrupted"] is True, error_output
    assert 10 <= summary["incidents"] < 400
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["tickets"] == summary["incidents"]
    assert "stopping" in error_output


def test_replay_messages_scores_each_row(stack: RunningStack, tmp_path: Path) -> None:
    corpus = tmp_path / "messages.tsv"
    corpus.write_text(
        "text\n비밀번호 초기화 부탁드립니다\n서버 장애로 전체 업무가 마비되었습니다\nThanks, it works now!\n\n",
        encoding="utf-8",
    )

    result = run_cli(stack, "replay", "messages", str(corpus), "--text-column", "text", "--json")

    summary = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert summary["messages_sent"] == 3
    assert summary["rows_skipped_empty"] == 1
    assert summary["tickets"] == 3
    assert summary["escalations"].get("outage") == 1
    assert sum(summary["sentiment"].values()) == 3


def test_api_rejects_missing_and_forged_tokens(stack: RunningStack, http: requests.Session) -> None:
    forged = stack.headers("demo")["Authorization"][:-4] + "AAAA"

    missing = http.get(f"{stack.api_url}/tickets", headers={"Accept-Language": "ko"})
    bad = http.get(f"{stack.api_url}/tickets", headers={"Authorization": forged})

    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    assert missing.json()["request_id"]
    assert bad.status_code == 401
    assert bad.json()["details"]["reason"] in {"bad_signature", "malformed"}


def test_token_command_mints_working_token(stack: RunningStack, http: requests.Session) -> None:
    minted = subprocess.run(
        [
            sys.executable, "-m", "cli.main", "token", "--tenant", "demo", "--user", "emp-1", "--role", "requester",
            "--ttl-minutes", "5", "--secret-file", str(stack.secret_file),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    response = http.get(f"{stack.api_url}/tickets", headers={"Authorization": f"Bearer {minted.stdout.strip()}"})

    assert minted.returncode == 0, minted.stderr
    assert response.status_code == 200
    assert all(ticket["requester_id"] == "emp-1" for ticket in response.json()["items"])
    assert stack.secret_file.stat().st_mode & 0o777 == 0o600
