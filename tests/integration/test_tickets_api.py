"""The tickets API through Chalice's test client, on moto with the deployed resources."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import Api, received_details

KOREAN_TITLE = "VPN 접속이 안 됩니다 😢"
KOREAN_DESCRIPTION = "재택근무 중인데 오전 9시부터 VPN 연결이 끊깁니다. 확인 부탁드립니다."


def test_create_ticket_round_trips_hangul(api: Api) -> None:
    response = api.call(
        "post",
        "/tickets",
        {
            "title": KOREAN_TITLE,
            "description": KOREAN_DESCRIPTION,
            "requester_id": "kim.minji",
            "customer_id": "hanbit",
            "channel": "email",
            "category": "network",
        },
    )

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert KOREAN_TITLE.encode("utf-8") in response.body
    ticket = response.json
    assert response.headers["Location"] == f"/tickets/{ticket['ticket_id']}"
    assert response.headers["ETag"] == '"1"'
    assert ticket["status"] == "new"
    assert ticket["priority"] == "medium"
    assert ticket["queue"] == "triage-review"
    assert ticket["triage"]["abstained"] is True
    assert ticket["category"] == "network"
    assert ticket["message_count"] == 1

    fetched = api.call("get", f"/tickets/{ticket['ticket_id']}")
    assert fetched.status_code == 200
    assert fetched.json["title"] == KOREAN_TITLE
    assert fetched.json["description"] == KOREAN_DESCRIPTION


def test_create_ticket_scores_opening_text(api: Api, sentiment_endpoint) -> None:
    ticket = api.create_ticket(title="Printer", description="The printer is jammed")

    assert ticket["last_sentiment"]["label"] == "neutral"
    assert ticket["last_sentiment"]["model_version"] == "keyword-test"
    assert sentiment_endpoint.requests[-1] == {"texts": ["Printer\nThe printer is jammed"]}


def test_triage_routes_new_ticket(api: Api) -> None:
    ticket = api.create_ticket(title="프린터 용지 걸림", description="3층 프린터가 멈췄습니다.")

    assert ticket["category"] == "hardware"
    assert ticket["queue"] == "hardware"
    assert ticket["triage"]["model_version"] == "keyword-test"
    assert ticket["triage"]["confidence"] == 0.9


def test_escalation_overrides_triage_queue(api: Api) -> None:
    ticket = api.create_ticket(title="프린터", description="최악입니다. 정말 화가 납니다.")

    assert ticket["category"] == "hardware"
    assert ticket["queue"] == "senior"


def test_triage_outage_keeps_default_queue(api: Api, monkeypatch) -> None:
    from functions import wiring
    from functions.domain.errors import DependencyError

    class Broken:
        name = "triage"

        def invoke(self, payload):
            raise DependencyError("endpoint down")

    sentiment = wiring.model_endpoint("sentiment")
    wiring.ticket_service.cache_clear()
    monkeypatch.setattr(wiring, "model_endpoint", lambda name: Broken() if name == "triage" else sentiment)

    ticket = api.create_ticket(title="프린터")

    assert ticket["queue"] == "general"
    assert ticket["triage"] is None
    wiring.ticket_service.cache_clear()


def test_idempotency_key_replays_first_ticket(api: Api) -> None:
    body = {"title": "메일 발송 실패", "requester_id": "r1", "customer_id": "c1", "channel": "email"}
    headers = {"Idempotency-Key": "create-7f1c"}

    first = api.call("post", "/tickets", body, headers)
    second = api.call("post", "/tickets", body, headers)

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json["ticket_id"] == first.json["ticket_id"]
    listed = api.call("get", "/tickets")
    assert [ticket["ticket_id"] for ticket in listed.json["items"]] == [first.json["ticket_id"]]


def test_idempotency_key_reused_with_other_body(api: Api) -> None:
    headers = {"Idempotency-Key": "create-reused"}
    api.call("post", "/tickets", {"title": "A", "requester_id": "r1", "customer_id": "c1", "channel": "chat"}, headers)

    response = api.call(
        "post", "/tickets", {"title": "B", "requester_id": "r1", "customer_id": "c1", "channel": "chat"}, headers
    )

    assert response.status_code == 409
    assert response.json["code"] == "idempotency_conflict"
    assert len(api.call("get", "/tickets").json["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requester_id": "r1", "customer_id": "c1", "channel": "email"}, "title"),
        ({"title": "x", "requester_id": "r1", "customer_id": "c1", "channel": "fax"}, "channel"),
        ({"title": "x", "requester_id": "r 1", "customer_id": "c1", "channel": "email"}, "requester_id"),
        ({"title": "x", "requester_id": "r1", "customer_id": "c1", "channel": "email", "owner": "me"}, "owner"),
        ({"title": "x" * 201, "requester_id": "r1", "customer_id": "c1", "channel": "email"}, "title"),
        ({"title": "bell\x07", "requester_id": "r1", "customer_id": "c1", "channel": "email"}, "title"),
        ({"title": "x", "requester_id": "r1", "customer_id": "c1", "channel": "email", "priority": "urgent"}, "priority"),
    ],
)
def test_create_ticket_rejects_invalid_field(api: Api, body: dict, field: str) -> None:
    response = api.call("post", "/tickets", body)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_input"
    assert response.json["details"]["field"] == field
    assert field in response.json["message"]


def test_error_message_follows_accept_language(api: Api) -> None:
    korean = api.call("get", "/tickets/01UNKNOWN", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    english = api.call("get", "/tickets/01UNKNOWN", headers={"Accept-Language": "en-US"})

    assert korean.status_code == 404
    assert korean.json["code"] == "not_found"
    assert "찾을 수 없습니다" in korean.json["message"]
    assert korean.headers["Content-Language"] == "ko"
    assert english.json["message"].startswith("ticket '01UNKNOWN' was not found")


def test_oversized_body_is_413(api: Api) -> None:
    body = {"title": "x", "description": "가" * 30_000, "requester_id": "r1", "customer_id": "c1", "channel": "email"}

    response = api.call("post", "/tickets", body)

    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"
    assert response.json["details"]["limit"] == 65536


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=euc-kr"])
def test_wrong_media_type_is_415(api: Api, content_type: str) -> None:
    response = api.call("post", "/tickets", b"{}", headers={"Content-Type": content_type})

    assert response.status_code == 415
    assert response.json["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b"", "{\"title\": \"\xed\x95\x9c".encode("latin-1") + b"\xff\"}"]
)
def test_malformed_body_is_400(api: Api, raw: bytes) -> None:
    response = api.call("post", "/tickets", raw)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_json"


def test_missing_caller_is_401(client) -> None:
    response = client.http.get("/tickets", headers={"Content-Type": "application/json"})

    assert response.status_code == 401
    assert json.loads(response.body)["code"] == "unauthorized"


def test_other_tenant_cannot_read_ticket(client, api: Api) -> None:
    ticket = api.create_ticket()
    intruder = Api(client, "someone-else")

    assert intruder.call("get", f"/tickets/{ticket['ticket_id']}").status_code == 404
    assert intruder.call("get", f"/tickets/{ticket['ticket_id']}/messages").status_code == 404
    assert intruder.call("get", "/tickets").json["items"] == []


def test_page_walk_across_status_index(api: Api) -> None:
    created = {api.create_ticket(title=f"문의 {index}")["ticket_id"] for index in range(7)}
    api.create_ticket(title="other customer", customer_id="customer-2")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "/tickets?status=new&customer_id=customer-1&limit=3" + (f"&cursor={cursor}" if cursor else "")
        response = api.call("get", query)
        assert response.status_code == 200
        seen.extend(ticket["ticket_id"] for ticket in response.json["items"])
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break

    assert set(seen) == created
    assert len(seen) == len(created)
    assert pages >= 3
    assert seen == sorted(seen, reverse=True)


def test_cursor_of_other_tenant_is_rejected(client, api: Api) -> None:
    for index in range(3):
        api.create_ticket(title=f"t{index}")
    cursor = api.call("get", "/tickets?limit=1").json["next_cursor"]

    response = Api(client, "another-tenant").call("get", f"/tickets?limit=1&cursor={cursor}")

    assert response.status_code == 400
    assert response.json["details"]["field"] == "cursor"


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=open", "status"), ("priority=urgent", "priority"), ("limit=0", "limit"), ("limit=1001", "limit"),
     ("cursor=%25%25%25", "cursor"), ("customer_id=a%20b", "customer_id")],
)
def test_list_rejects_bad_query(api: Api, query: str, field: str) -> None:
    response = api.call("get", f"/tickets?{query}")

    assert response.status_code == 400
    assert response.json["details"]["field"] == field


def test_list_filters_by_assignee_and_priority(api: Api) -> None:
    ticket = api.create_ticket(priority="high")
    api.create_ticket(priority="low")
    api.call("patch", f"/tickets/{ticket['ticket_id']}", {"assignee_id": "agent-7"}, {"If-Match": '"1"'})

    by_assignee = api.call("get", "/tickets?assignee_id=agent-7").json["items"]
    by_priority = api.call("get", "/tickets?priority=high").json["items"]

    assert [item["ticket_id"] for item in by_assignee] == [ticket["ticket_id"]]
    assert by_assignee[0]["status"] == "assigned"
    assert [item["ticket_id"] for item in by_priority] == [ticket["ticket_id"]]


def test_patch_follows_lifecycle(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}"

    assigned = api.call("patch", path, {"status": "assigned", "assignee_id": "agent-1", "version": 1})
    working = api.call("patch", path, {"status": "in_progress"}, {"If-Match": assigned.headers["ETag"]})
    resolved = api.call("patch", path, {"status": "resolved"}, {"If-Match": working.headers["ETag"]})

    assert [r.status_code for r in (assigned, working, resolved)] == [200, 200, 200]
    assert resolved.json["status"] == "resolved"
    assert resolved.json["version"] == 4


def test_invalid_transition_is_409(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}"
    api.call("patch", path, {"status": "closed", "version": 1})

    response = api.call("patch", path, {"status": "in_progress", "version": 2})

    assert response.status_code == 409
    assert response.json["code"] == "invalid_transition"
    assert response.json["details"]["allowed"] == ["reopened"]
    assert api.call("get", path).json["status"] == "closed"



def test_closed_ticket_rejects_field_changes(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}"
    api.call("patch", path, {"status": "closed", "version": 1})

    response = api.call("patch", path, {"priority": "high", "assignee_id": "agent-1", "version": 2})
    korean = api.call("patch", path, {"priority": "high", "version": 2}, {"Accept-Language": "ko-KR"})
    reopened = api.call("patch", path, {"status": "reopened", "priority": "high", "version": 2})

    assert response.status_code == 409
    assert response.json["code"] == "ticket_closed"
    assert response.json["details"]["fields"] == ["assignee_id", "priority"]
    assert "다시 열어" in korean.json["message"]
    assert reopened.status_code == 200
    assert reopened.json["priority"] == "high"


def test_null_assignee_unassigns_ticket(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}"
    api.call("patch", path, {"assignee_id": "agent-1", "version": 1})

    unassigned = api.call("patch", path, {"assignee_id": None, "version": 2})
    untouched = api.call("patch", path, {"priority": "low", "version": 3})

    assert unassigned.status_code == 200
    assert unassigned.json["assignee_id"] is None
    assert unassigned.json["status"] == "new"
    assert untouched.json["assignee_id"] is None


def test_unassigning_working_ticket_is_400(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}"
    api.call("patch", path, {"status": "in_progress", "assignee_id": "agent-1", "version": 1})

    response = api.call("patch", path, {"assignee_id": None, "version": 2})

    assert response.status_code == 400
    assert response.json["details"]["field"] == "assignee_id"
    assert api.call("get", path).json["assignee_id"] == "agent-1"

def test_stale_version_is_409_and_changes_nothing(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}"
    api.call("patch", path, {"priority": "high", "version": 1})

    response = api.call("patch", path, {"priority": "low"}, {"If-Match": '"1"'})

    assert response.status_code == 409
    assert response.json["details"]["current_version"] == 2
    stored = api.call("get", path).json
    assert stored["priority"] == "high"
    assert stored["version"] == 2


def test_patch_needs_a_version(api: Api) -> None:
    ticket = api.create_ticket()

    response = api.call("patch", f"/tickets/{ticket['ticket_id']}", {"priority": "high"})

    assert response.status_code == 400
    assert response.json["details"]["field"] == "version"


def test_concurrent_updates_one_conflicts(api: Api, tenant: str) -> None:
    from functions import wiring
    from functions.domain.errors import VersionConflictError
    from functions.models.caller import Caller
    from functions.models.tickets import UpdateTicketRequest

    ticket = api.create_ticket()
    caller = Caller(tenant_id=tenant, user_id="supervisor-1", role="supervisor")
    service = wiring.ticket_service()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def update(priority: str) -> None:
        barrier.wait()
        try:
            service.update_ticket(caller, ticket["ticket_id"], UpdateTicketRequest(priority=priority), 1)
            outcomes.append("ok")
        except VersionConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=update, args=(priority,)) for priority in ("high", "low")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "ok"]
    assert api.call("get", f"/tickets/{ticket['ticket_id']}").json["version"] == 2


def test_conversation_spans_channels(api: Api) -> None:
    ticket = api.create_ticket(channel="chat", description="채팅으로 먼저 문의드립니다.")
    path = f"/tickets/{ticket['ticket_id']}/messages"

    by_phone = api.call("post", path, {"body": "전화로 이어서 말씀드립니다.", "channel": "phone_transcript", "author_id": "requester-1"})
    by_agent = api.call(
        "post", path, {"body": "확인했습니다. 원격 점검하겠습니다.", "channel": "email", "author_type": "agent", "author_id": "supervisor-1"}
    )
    listed = api.call("get", path)

    assert by_phone.status_code == 201
    assert by_agent.status_code == 201
    assert [m["channel"] for m in listed.json["items"]] == ["chat", "phone_transcript", "email"]
    assert listed.json["items"][2]["sentiment"] is None
    assert api.call("get", f"/tickets/{ticket['ticket_id']}").json["message_count"] == 3


def test_negative_message_escalates_ticket(api: Api, aws: dict[str, str]) -> None:
    ticket = api.create_ticket(priority="low")
    response = api.call(
        "post",
        f"/tickets/{ticket['ticket_id']}/messages",
        {"body": "정말 최악의 서비스입니다. 화가 납니다.", "channel": "chat", "author_id": "requester-1"},
    )

    escalated = response.json["ticket"]
    assert escalated["escalated"] is True
    assert escalated["escalation_reasons"] == ["negative_sentiment"]
    assert escalated["queue"] == "senior"
    assert escalated["priority"] == "high"

    details = received_details(aws["EscalationsQueueUrl"])
    assert any(detail["ticket_id"] == ticket["ticket_id"] and detail["reasons"] == ["negative_sentiment"] for detail in details)


def test_message_idempotency_key(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}/messages"
    body = {"body": "추가 정보입니다.", "channel": "email", "author_id": "requester-1"}

    first = api.call("post", path, body, {"Idempotency-Key": "msg-1"})
    second = api.call("post", path, body, {"Idempotency-Key": "msg-1"})

    assert first.json["message"]["message_id"] == second.json["message"]["message_id"]
    assert len(api.call("get", path).json["items"]) == 2


def test_blank_message_is_rejected(api: Api) -> None:
    ticket = api.create_ticket()
    path = f"/tickets/{ticket['ticket_id']}/messages"

    response = api.call("post", path, {"body": "   \n\t ", "channel": "chat", "author_id": "requester-1"})

    assert response.status_code == 400
    assert response.json["details"]["field"] == "body"
    assert len(api.call("get", path).json["items"]) == 1


def test_tickets_filter_by_any_queue_label(api: Api) -> None:
    ticket = api.create_ticket()
    patched = api.call("patch", f"/tickets/{ticket['ticket_id']}", {"queue": "한글 큐", "version": ticket["version"]})
    assert patched.status_code == 200, patched.body

    listed = api.call("get", "/tickets?queue=%ED%95%9C%EA%B8%80%20%ED%81%90")

    assert listed.status_code == 200, listed.body
    assert [item["ticket_id"] for item in listed.json["items"]] == [ticket["ticket_id"]]
    assert api.call("get", "/tickets?queue=a%3Bb").status_code == 400


def test_message_to_missing_ticket_is_404(api: Api) -> None:
    response = api.call("post", "/tickets/NOPE/messages", {"body": "hi", "channel": "chat", "author_id": "r1"})

    assert response.status_code == 404
