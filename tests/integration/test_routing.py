"""Agents API and routing on moto: assignment on ticket create, waiting, freeing, rebalancing."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conftest import Api

# Round the clock, so the tests do not depend on the hour they run at.
ALWAYS = {"time_zone": "Asia/Seoul", "weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "00:00:00"}
PRINTER_TICKET = {"title": "프린터 고장", "description": "3층 프린터가 인쇄를 못 합니다.", "channel": "chat"}


def agent_body(agent_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "display_name": f"Agent {agent_id}",
        "queues": ["hardware"],
        "skills": [{"category": "hardware", "level": 3}, {"language": "ko", "level": 5}],
        "capacity": {"chat": 2, "email": 5},
        "working_hours": ALWAYS,
        "presence": "online",
        **fields,
    }


def register(api: Api, agent_id: str, **fields: Any) -> dict[str, Any]:
    response = api.call("post", "/agents", agent_body(agent_id, **fields))
    assert response.status_code == 201, response.body
    return response.json


def agent(api: Api, agent_id: str) -> dict[str, Any]:
    return api.call("get", f"/agents/{agent_id}").json


def ticket(api: Api, ticket_id: str) -> dict[str, Any]:
    return api.call("get", f"/tickets/{ticket_id}").json


def set_status(api: Api, item: dict[str, Any], status: str) -> dict[str, Any]:
    current = ticket(api, item["ticket_id"])
    response = api.call("patch", f"/tickets/{item['ticket_id']}", {"status": status, "version": current["version"]})
    assert response.status_code == 200, response.body
    return response.json


# Agents API.


def test_register_agent_returns_zero_load(api: Api) -> None:
    created = register(api, "agent-kim")

    assert created["load"] == {"chat": 0, "email": 0}
    assert created["version"] == 1
    assert api.call("get", "/agents").json["items"][0]["agent_id"] == "agent-kim"


def test_register_agent_twice_conflicts(api: Api) -> None:
    register(api, "agent-kim")

    response = api.call("post", "/agents", agent_body("agent-kim"))

    assert response.status_code == 409
    assert response.json["code"] == "agent_exists"


def test_register_agent_rejects_bad_time_zone(api: Api) -> None:
    response = api.call("post", "/agents", agent_body("agent-kim", working_hours={**ALWAYS, "time_zone": "Mars/Base"}))

    assert response.status_code == 400
    assert response.json["details"]["field"] == "time_zone"



def test_working_hours_reject_time_offsets(api: Api) -> None:
    register(api, "agent-kim")

    created = api.call("post", "/agents", agent_body("agent-lee", working_hours={**ALWAYS, "start": "09:00Z"}))
    updated = api.call(
        "patch", "/agents/agent-kim", {"working_hours": {"end": "00:00:01.0Z"}, "version": 1}
    )

    assert created.status_code == 400
    assert updated.status_code == 400
    assert "offset" in updated.json["details"]["problem"] or "offset" in updated.json["message"]

def test_register_agent_rejects_skill_without_subject(api: Api) -> None:
    response = api.call("post", "/agents", agent_body("agent-kim", skills=[{"level": 3}]))

    assert response.status_code == 400


def test_update_agent_needs_current_version(api: Api) -> None:
    register(api, "agent-kim")

    stale = api.call("patch", "/agents/agent-kim", {"display_name": "Kim", "version": 7})
    missing = api.call("patch", "/agents/agent-kim", {"display_name": "Kim"})
    fresh = api.call("patch", "/agents/agent-kim", {"display_name": "Kim"}, headers={"If-Match": '"1"'})

    assert stale.status_code == 409
    assert stale.json["code"] == "agent_version_conflict"
    assert missing.status_code == 400
    assert fresh.status_code == 200
    assert fresh.json["display_name"] == "Kim"
    assert fresh.headers["ETag"] == '"2"'


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 201), ("supervisor", 201), ("agent", 403), ("requester", 403)]
)
def test_register_agent_roles(client: Any, tenant: str, role: str, status: int) -> None:
    caller = Api(client, tenant, user_id="caller-1", role=role)

    response = caller.call("post", "/agents", agent_body("agent-new"))

    assert response.status_code == status, response.body


def test_agent_sets_own_presence_only(client: Any, tenant: str) -> None:
    supervisor = Api(client, tenant)
    register(supervisor, "agent-kim")
    register(supervisor, "agent-lee")
    kim = Api(client, tenant, user_id="agent-kim", role="agent", queues=("hardware",))

    own = kim.call("put", "/agents/agent-kim/presence", {"presence": "busy"})
    other = kim.call("put", "/agents/agent-lee/presence", {"presence": "away"})
    read_other = kim.call("get", "/agents/agent-lee")
    listing = kim.call("get", "/agents")

    assert own.status_code == 200
    assert own.json["presence"] == "busy"
    assert other.status_code == 403
    assert read_other.status_code == 403
    assert listing.status_code == 403


def test_agents_routes_need_token(client: Any) -> None:
    response = client.http.get("/agents")

    assert response.status_code == 401


def test_agent_changes_are_audited(api: Api) -> None:
    register(api, "agent-kim")
    api.call("put", "/agents/agent-kim/presence", {"presence": "away"})

    entries = api.call("get", "/audit?resource_id=agent-kim").json["items"]

    actions = [entry["action"] for entry in entries]
    assert "agent.registered" in actions
    assert "agent.presence_changed" in actions


# Routing.


def test_new_ticket_routed_with_reason(api: Api) -> None:
    register(api, "agent-kim")

    created = api.create_ticket(**PRINTER_TICKET)

    assert created["assignee_id"] == "agent-kim"
    assert created["status"] == "assigned"
    routing = created["routing"]
    assert routing["agent_id"] == "agent-kim"
    assert routing["queue"] == "hardware"
    assert "category_skill" in routing["reason_codes"]
    assert "language_skill" in routing["reason_codes"]
    assert routing["score"] > 0
    assert "agent-kim" in routing["reason"]
    assert agent(api, "agent-kim")["load"]["chat"] == 1


def test_routing_prefers_category_expert(api: Api) -> None:
    register(api, "agent-kim", skills=[{"category": "hardware", "level": 1}, {"language": "ko", "level": 3}])
    register(api, "agent-lee", skills=[{"category": "hardware", "level": 5}, {"language": "ko", "level": 3}])

    created = api.create_ticket(**PRINTER_TICKET)

    assert created["assignee_id"] == "agent-lee"


def test_opening_decision_is_in_created_entry(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)

    entries = api.call("get", f"/audit?resource_id={created['ticket_id']}").json["items"]

    (opened,) = [entry for entry in entries if entry["action"] == "ticket.created"]
    assert opened["changes"]["assignee_id"]["new"] == "agent-kim"
    assert "category_skill" in opened["changes"]["routing_reason_codes"]["new"]


def test_later_routing_is_audited(api: Api) -> None:
    register(api, "agent-kim", presence="away")
    created = api.create_ticket(**PRINTER_TICKET)
    api.call("put", "/agents/agent-kim/presence", {"presence": "online"})

    entries = api.call("get", f"/audit?resource_id={created['ticket_id']}").json["items"]

    routed = [entry for entry in entries if entry["action"] == "ticket.routed"]
    assert len(routed) == 1
    assert routed[0]["actor"] == {"user_id": "router", "role": "system"}
    assert routed[0]["changes"]["assignee_id"]["new"] == "agent-kim"


def test_ticket_waits_without_agent(api: Api) -> None:
    created = api.create_ticket(**PRINTER_TICKET)

    assert created["assignee_id"] is None
    assert created["status"] == "new"
    assert created["routing"]["agent_id"] is None
    assert created["routing"]["reason_codes"] == ["waiting", "no_agent_in_queue"]
    assert "hardware" in created["routing"]["reason"]


def test_waiting_ticket_routed_when_agent_comes_online(api: Api) -> None:
    register(api, "agent-kim", presence="away")
    created = api.create_ticket(**PRINTER_TICKET)
    assert created["routing"]["reason_codes"] == ["waiting", "no_agent_online"]

    api.call("put", "/agents/agent-kim/presence", {"presence": "online"})

    routed = ticket(api, created["ticket_id"])
    assert routed["assignee_id"] == "agent-kim"
    assert routed["status"] == "assigned"


def test_waiting_ticket_routed_when_slot_frees(api: Api) -> None:
    register(api, "agent-kim", capacity={"chat": 1})
    first = api.create_ticket(**PRINTER_TICKET)
    second = api.create_ticket(**PRINTER_TICKET)
    assert first["assignee_id"] == "agent-kim"
    assert second["routing"]["reason_codes"] == ["waiting", "no_capacity"]

    set_status(api, first, "resolved")

    assert ticket(api, second["ticket_id"])["assignee_id"] == "agent-kim"
    assert agent(api, "agent-kim")["load"]["chat"] == 1


def test_capacity_increase_routes_waiting(api: Api) -> None:
    register(api, "agent-kim", capacity={"chat": 1})
    api.create_ticket(**PRINTER_TICKET)
    second = api.create_ticket(**PRINTER_TICKET)

    response = api.call("patch", "/agents/agent-kim", {"capacity": {"chat": 2}, "version": 1})

    assert response.status_code == 200
    assert ticket(api, second["ticket_id"])["assignee_id"] == "agent-kim"
    assert agent(api, "agent-kim")["load"]["chat"] == 2


def test_agent_away_rebalances_work(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)
    register(api, "agent-lee")
    assert created["assignee_id"] == "agent-kim"

    api.call("put", "/agents/agent-kim/presence", {"presence": "away"})

    moved = ticket(api, created["ticket_id"])
    assert moved["assignee_id"] == "agent-lee"
    assert agent(api, "agent-kim")["load"]["chat"] == 0
    assert agent(api, "agent-lee")["load"]["chat"] == 1


def test_agent_away_without_replacement_releases(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)

    api.call("put", "/agents/agent-kim/presence", {"presence": "away"})

    released = ticket(api, created["ticket_id"])
    assert released["assignee_id"] is None
    assert released["status"] == "new"
    assert released["routing"]["reason_codes"][:2] == ["waiting", "agent_away"]
    assert agent(api, "agent-kim")["load"]["chat"] == 0


def unassign(api: Api, item: dict[str, Any]) -> dict[str, Any]:
    current = ticket(api, item["ticket_id"])
    response = api.call("patch", f"/tickets/{item['ticket_id']}", {"assignee_id": None, "version": current["version"]})
    assert response.status_code == 200, response.body
    return response.json


def test_unassigned_ticket_goes_to_another_agent(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)
    register(api, "agent-lee")
    assert created["assignee_id"] == "agent-kim"

    moved = unassign(api, created)

    assert moved["assignee_id"] == "agent-lee"
    assert moved["routing"]["unassigned_agent_ids"] == ["agent-kim"]
    assert agent(api, "agent-kim")["load"]["chat"] == 0
    assert agent(api, "agent-lee")["load"]["chat"] == 1


def test_unassigned_ticket_waits_for_another_agent(api: Api) -> None:
    register(api, "agent-kim", capacity={"chat": 1})
    created = api.create_ticket(**PRINTER_TICKET)
    other = api.create_ticket(**PRINTER_TICKET)
    assert other["assignee_id"] is None

    waiting = unassign(api, created)

    assert waiting["assignee_id"] is None
    assert waiting["status"] == "new"
    assert waiting["routing"]["reason_codes"] == ["waiting", "unassigned"]
    assert "agent-kim" in waiting["routing"]["reason_ko"]
    assert ticket(api, other["ticket_id"])["assignee_id"] == "agent-kim"
    register(api, "agent-lee")
    assert ticket(api, created["ticket_id"])["assignee_id"] == "agent-lee"


def test_person_can_assign_unassigned_agent_again(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)
    waiting = unassign(api, created)

    response = api.call("patch", f"/tickets/{created['ticket_id']}", {"assignee_id": "agent-kim", "version": waiting["version"]})

    assert response.status_code == 200, response.body
    assert response.json["assignee_id"] == "agent-kim"
    assert response.json["routing"]["reason_codes"] == ["manual_assignment"]
    assert agent(api, "agent-kim")["load"]["chat"] == 1


def test_resolve_and_reopen_keep_load_in_step(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)

    resolved = set_status(api, created, "resolved")
    assert agent(api, "agent-kim")["load"]["chat"] == 0
    reopened = set_status(api, resolved, "reopened")

    assert reopened["reopened_count"] == 1
    assert reopened["resolved_at"] is None
    assert agent(api, "agent-kim")["load"]["chat"] == 1


def test_manual_assignment_counts_load(api: Api) -> None:
    register(api, "agent-kim")
    register(api, "agent-lee")
    created = api.create_ticket(**PRINTER_TICKET)
    holder = created["assignee_id"]
    other = "agent-lee" if holder == "agent-kim" else "agent-kim"

    response = api.call("patch", f"/tickets/{created['ticket_id']}", {"assignee_id": other, "version": created["version"]})

    assert response.status_code == 200
    assert response.json["routing"]["reason_codes"] == ["manual_assignment"]
    assert agent(api, holder)["load"]["chat"] == 0
    assert agent(api, other)["load"]["chat"] == 1


def test_channel_switch_keeps_agent(api: Api, client: Any, tenant: str) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET, thread_key="conversation-7")
    register(api, "agent-lee", skills=[{"category": "hardware", "level": 5}, {"language": "ko", "level": 5}])

    response = api.call(
        "post",
        f"/tickets/{created['ticket_id']}/messages",
        {"body": "전화로 다시 연락드립니다. 아직도 안 됩니다.", "channel": "phone_transcript", "author_id": "requester-1"},
    )

    assert response.status_code == 201
    assert response.json["ticket"]["assignee_id"] == "agent-kim"
    second = api.create_ticket(**{**PRINTER_TICKET, "channel": "email"})
    assert second["assignee_id"] == "agent-kim"
    assert "open_ticket_agent" in second["routing"]["reason_codes"]


def test_agent_message_sets_first_response(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)
    kim = Api(api.client, created["tenant_id"], user_id="agent-kim", role="agent", queues=("hardware",))

    kim.call(
        "post",
        f"/tickets/{created['ticket_id']}/messages",
        {"body": "확인하겠습니다.", "channel": "chat", "author_type": "agent", "author_id": "agent-kim"},
    )

    assert ticket(api, created["ticket_id"])["first_response_at"] is not None


def test_concurrent_routing_respects_capacity(api: Api) -> None:
    register(api, "agent-kim", capacity={"chat": 3})
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def open_ticket() -> None:
        try:
            results.append(api.create_ticket(**PRINTER_TICKET))
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=open_ticket) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assigned = [item for item in results if item["assignee_id"] == "agent-kim"]
    assert len(assigned) == 3
    assert agent(api, "agent-kim")["load"]["chat"] == 3


def test_new_ticket_gets_sla_clock(api: Api) -> None:
    created = api.create_ticket(**PRINTER_TICKET)

    clock = created["sla"]
    assert clock["policy_id"] == "standard-medium"
    assert clock["calendar_id"] == "kr-business"
    assert clock["time_zone"] == "Asia/Seoul"
    assert clock["first_response_due_at"] < clock["resolution_due_at"]


def test_pending_pauses_sla_clock(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)

    pending = set_status(api, created, "pending")
    assert pending["sla"]["paused_since"] is not None
    resumed = set_status(api, pending, "in_progress")

    assert resumed["sla"]["paused_since"] is None
    assert resumed["first_response_at"] is not None


def test_deactivated_agent_work_rebalanced(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)
    register(api, "agent-lee")

    response = api.call("patch", "/agents/agent-kim", {"active": False, "version": 1})

    assert response.status_code == 200
    assert ticket(api, created["ticket_id"])["assignee_id"] == "agent-lee"
    assert agent(api, "agent-kim")["load"]["chat"] == 0


def test_pending_ticket_stays_when_agent_leaves(api: Api) -> None:
    register(api, "agent-kim")
    created = api.create_ticket(**PRINTER_TICKET)
    set_status(api, created, "pending")

    api.call("put", "/agents/agent-kim/presence", {"presence": "away"})

    kept = ticket(api, created["ticket_id"])
    assert kept["assignee_id"] == "agent-kim"
    assert kept["status"] == "pending"
    assert agent(api, "agent-kim")["load"]["chat"] == 1


def test_channel_message_ticket_routed(api: Api, tenant: str) -> None:
    from functions import wiring
    from functions.models.intake import ChannelMessage
    from functions.models.tickets import Channel

    register(api, "agent-kim")
    inbound = ChannelMessage(
        tenant_id=tenant,
        message_id="gateway-1",
        channel="chat",
        thread_key="chat-thread-1",
        customer_id="customer-1",
        requester_id="requester-1",
        body="프린터가 고장났어요.",
    )

    first = wiring.ticket_service().ingest_channel_message(inbound)
    switched = wiring.ticket_service().ingest_channel_message(
        inbound.model_copy(update={"message_id": "gateway-2", "channel": Channel.EMAIL, "body": "이메일로 다시 보냅니다."})
    )

    assert first.created_ticket is True
    assert first.ticket.assignee_id == "agent-kim"
    assert first.ticket.version == 1
    assert switched.ticket.ticket_id == first.ticket.ticket_id
    assert switched.ticket.assignee_id == "agent-kim"
