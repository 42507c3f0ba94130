"""The audit log of the local stack: concurrent writers over HTTP leave one intact chain."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

WRITERS = 6


def test_concurrent_writers_keep_chain_intact(stack: RunningStack, http: requests.Session) -> None:
    tenant = f"e2e-audit-{uuid.uuid4().hex[:8]}"
    failures: list[str] = []
    barrier = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            created = session.post(
                f"{stack.api_url}/tickets",
                headers=stack.headers(tenant),
                data=json.dumps({"title": f"monitor {writer}", "requester_id": "r1", "customer_id": "c1", "channel": "email"}),
            )
            if created.status_code != 201:
                failures.append(f"POST {created.status_code} {created.text[:200]}")
                return
            url = f"{stack.api_url}/tickets/{created.json()['ticket_id']}"
            for version, change in enumerate(({"assignee_id": f"agent-{writer}"}, {"priority": "high"}), start=1):
                patched = session.patch(url, headers=stack.headers(tenant, **{"If-Match": f'"{version}"'}), data=json.dumps(change))
                if patched.status_code != 200:
                    failures.append(f"PATCH {patched.status_code} {patched.text[:200]}")

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    report = http.get(f"{stack.api_url}/audit/verify", headers=stack.headers(tenant)).json()
    assert report["intact"] is True, report
    assert report["entries"] == report["head"]["sequence"]
    # Per ticket at least: created, its first message, the assignment (status and fields), the priority.
    assert report["head"]["sequence"] >= WRITERS * 5
    listing = http.get(f"{stack.api_url}/audit?limit=100", headers=stack.headers(tenant)).json()
    assert {entry["actor"]["user_id"] for entry in listing["items"]} == {"supervisor-1"}
