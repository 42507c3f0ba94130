"""The SLA breach job on moto: index query, forecast, escalation before the breach, breach flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Api

PRINTER_TICKET = {"title": "프린터 고장", "description": "3층 프린터가 인쇄를 못 합니다.", "channel": "chat"}


class ResolutionEndpoint:
    """Stand-in for the resolution model that follows its JSON contract with a fixed p50."""

    name = "resolution"

    def __init__(self, hours: float) -> None:
        self.hours = hours
        self.requests: list[dict[str, Any]] = []

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(payload)
        predictions = [
            {"resolution_hours_p50": self.hours, "resolution_hours_p90": self.hours * 3, "sla_breach_probability": 0.5}
            for _ in payload["tickets"]
        ]
        return {"model": "resolution", "model_version": "test", "predictions": predictions}


@pytest.fixture(autouse=True)
def resolution_endpoint(sentiment_endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> ResolutionEndpoint:
    """Serve the resolution model from ResolutionEndpoint, next to the keyword sentiment and triage fakes."""
    from functions import wiring

    endpoint = ResolutionEndpoint(hours=2)
    others = wiring.model_endpoint
    monkeypatch.setattr(wiring, "model_endpoint", lambda name: endpoint if name == "resolution" else others(name))
    wiring.breach_monitor.cache_clear()
    yield endpoint
    wiring.breach_monitor.cache_clear()


def vip_customer(tenant: str, customer_id: str = "customer-vip") -> str:
    from functions import wiring
    from functions.domain.ports import Customer

    wiring.repository().put_customer(tenant, Customer(customer_id=customer_id, tier="vip"))
    return customer_id


def monitor(now: datetime, endpoint: Any = None, route: bool = False) -> Any:
    from functions import wiring
    from functions.adapters.dynamodb import SLA_SHARDS
    from functions.domain.breach import BreachMonitor, BreachSettings, HandlingTimePredictor

    return BreachMonitor(
        tickets=wiring.repository(),
        predictor=HandlingTimePredictor(endpoint),
        publisher=wiring.publisher(),
        settings=BreachSettings(
            shards=SLA_SHARDS,
            lookahead=timedelta(hours=24),
            escalation_lead=timedelta(minutes=60),
            max_tickets=400,
            senior_queue="senior",
        ),
        clock=lambda: now,
        router=wiring.router() if route else None,
    )


def ticket(api: Api, ticket_id: str) -> dict[str, Any]:
    return api.call("get", f"/tickets/{ticket_id}").json


def test_scheduled_handler_escalates_before_breach(api: Api, client: Any, tenant: str) -> None:
    # premium-critical runs round the clock with a 15-minute first response, inside the 60-minute lead.
    created = api.create_ticket(**PRINTER_TICKET, priority="critical", customer_id=vip_customer(tenant))
    assert created["sla"]["policy_id"] == "premium-critical"

    result = client.lambda_.invoke("predict_sla_breaches", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))

    assert result.payload["escalated"] >= 1
    escalated = ticket(api, created["ticket_id"])
    assert escalated["escalated"] is True
    assert "sla_breach_predicted" in escalated["escalation_reasons"]
    assert escalated["queue"] == "senior"
    assert escalated["priority"] == "critical"
    assert escalated["sla"]["escalated_for_breach_at"] is not None
    assert escalated["sla"]["predicted_by"] == "resolution_model"


def test_escalation_happens_once(api: Api, tenant: str) -> None:
    created = api.create_ticket(**PRINTER_TICKET, priority="critical", customer_id=vip_customer(tenant))
    now = datetime.now(UTC)

    monitor(now).run()
    once = ticket(api, created["ticket_id"])
    monitor(now + timedelta(minutes=5)).run()
    twice = ticket(api, created["ticket_id"])

    assert once["escalation_reasons"].count("sla_breach_predicted") == 1
    assert twice["escalation_reasons"].count("sla_breach_predicted") == 1
    assert twice["sla"]["escalated_for_breach_at"] == once["sla"]["escalated_for_breach_at"]


def test_breach_job_is_audited(api: Api, tenant: str) -> None:
    created = api.create_ticket(**PRINTER_TICKET, priority="critical", customer_id=vip_customer(tenant))

    monitor(datetime.now(UTC)).run()

    entries = api.call("get", f"/audit?resource_id={created['ticket_id']}").json["items"]
    actions = [entry["action"] for entry in entries]
    assert "ticket.sla_breach_predicted" in actions
    assert "ticket.escalated" in actions


def test_model_forecast_used_and_breach_marked(api: Api, tenant: str) -> None:
    created = api.create_ticket(**PRINTER_TICKET, priority="critical", customer_id=vip_customer(tenant))
    endpoint = ResolutionEndpoint(hours=100)
    later = datetime.fromisoformat(created["sla"]["resolution_due_at"]) + timedelta(minutes=1)

    monitor(later, endpoint).run()

    clock = ticket(api, created["ticket_id"])["sla"]
    assert clock["predicted_by"] == "resolution_model"
    assert clock["first_response_breached"] is True
    assert clock["resolution_breached"] is True
    assert clock["breach_risk"] == 1.0
    sent = next(item for request in endpoint.requests for item in request["tickets"] if item["ticket_id"] == created["ticket_id"])
    assert sent["priority"] == 1


def test_ticket_on_track_is_not_escalated(api: Api, tenant: str) -> None:
    # standard-medium: 4 business hours to respond, so the due time is beyond the 60-minute lead.
    created = api.create_ticket(**PRINTER_TICKET)
    opened = datetime.fromisoformat(created["created_at"])

    monitor(opened + timedelta(minutes=1), ResolutionEndpoint(hours=1)).run()

    current = ticket(api, created["ticket_id"])
    assert current["escalated"] is False
    assert current["sla"]["first_response_breached"] is False


def test_pending_ticket_leaves_the_index(api: Api, tenant: str) -> None:
    from functions import wiring

    created = api.create_ticket(**PRINTER_TICKET, priority="critical", customer_id=vip_customer(tenant))
    api.call(
        "patch",
        f"/tickets/{created['ticket_id']}",
        {"status": "pending", "version": created["version"]},
    )
    far = datetime.now(UTC) + timedelta(days=30)

    due = []
    for shard in range(4):
        page, _ = wiring.repository().sla_due_tickets(shard, far, None, 100)
        due.extend(item.ticket_id for item in page)

    assert created["ticket_id"] not in due


def test_predictor_falls_back_to_median() -> None:
    from functions.domain.breach import PRIORITY_MEDIAN_HOURS, HandlingTimePredictor
    from functions.domain.errors import DependencyError
    from functions.models.tickets import Priority

    class Broken:
        name = "resolution"

        def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
            raise DependencyError("endpoint down")

    from tests.unit.test_routing import make_ticket

    predictions = HandlingTimePredictor(Broken()).predict([make_ticket(priority=Priority.HIGH)])

    assert predictions == [(PRIORITY_MEDIAN_HOURS[Priority.HIGH], "priority_median")]


def test_breach_job_routes_waiting_ticket(api: Api, tenant: str) -> None:
    from functions import wiring
    from functions.models.agents import Agent, Presence, Skill, WorkingHours
    from functions.models.tickets import Channel

    created = api.create_ticket(**PRINTER_TICKET, priority="critical", customer_id=vip_customer(tenant))
    assert created["assignee_id"] is None
    now = datetime.now(UTC)
    # Stored directly, so that no agent change routes the waiting ticket before the job does.
    wiring.agent_repository().register_agent(
        Agent(
            agent_id="agent-late",
            tenant_id=tenant,
            display_name="Late agent",
            queues=["hardware"],
            skills=[Skill(language="ko", level=3)],
            capacity={Channel.CHAT: 2},
            load={Channel.CHAT: 0},
            working_hours=WorkingHours(weekdays=list(range(7)), start="00:00", end="00:00"),
            presence=Presence.ONLINE,
            created_at=now,
            updated_at=now,
        ),
        [],
    )

    result = monitor(now, route=True).run()

    assert result["routed"] >= 1
    routed = ticket(api, created["ticket_id"])
    assert routed["assignee_id"] == "agent-late"
    assert routed["escalated"] is True
