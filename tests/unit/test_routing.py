"""Routing decisions: candidate filters, scores, reasons and load bookkeeping, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from functions.domain.routing import (
    ROUTING_WEIGHTS,
    CustomerContext,
    LoadChange,
    choose_agent,
    customer_context,
    is_working,
    load_changes,
    NO_FIT_REASONS,
    NO_FIT_REASONS_KO,
    REASON_CODES_KO,
    MAX_UNASSIGNED_AGENTS,
    routed_decision,
    slot_holder,
    unassigned_decision,
    waiting_decision,
)
from functions.models.agents import Agent, Presence, Skill, WorkingHours
from functions.models.tickets import Channel, Priority, RoutingDecision, Sentiment, SentimentLabel, Ticket, TicketStatus

# Wednesday 4 March 2026, 11:00 in Seoul.
NOW = datetime(2026, 3, 4, 2, tzinfo=UTC)
ALWAYS = WorkingHours(weekdays=list(range(7)), start=time(0), end=time(0))


def make_agent(agent_id: str, **fields: Any) -> Agent:
    values: dict[str, Any] = {
        "agent_id": agent_id,
        "tenant_id": "acme",
        "display_name": agent_id,
        "queues": ["hardware"],
        "skills": [Skill(category="hardware", level=3), Skill(language="ko", level=4)],
        "capacity": {Channel.CHAT: 4},
        "load": {Channel.CHAT: 0},
        "working_hours": ALWAYS,
        "presence": Presence.ONLINE,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return Agent(**values)


def make_ticket(**fields: Any) -> Ticket:
    values: dict[str, Any] = {
        "ticket_id": "ticket-1",
        "tenant_id": "acme",
        "title": "프린터 고장",
        "requester_id": "requester-1",
        "customer_id": "customer-1",
        "channel": Channel.CHAT,
        "category": "hardware",
        "priority": Priority.MEDIUM,
        "status": TicketStatus.NEW,
        "queue": "hardware",
        "last_sentiment": Sentiment(
            label=SentimentLabel.NEUTRAL, score=0.9, negative=0.1, language="ko", model="m", model_version="1"
        ),
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return Ticket(**values)


def test_best_skill_wins() -> None:
    junior = make_agent("junior", skills=[Skill(category="hardware", level=1), Skill(language="ko", level=4)])
    expert = make_agent("expert", skills=[Skill(category="hardware", level=5), Skill(language="ko", level=4)])

    choice = choose_agent(make_ticket(), [junior, expert], CustomerContext(), NOW)

    assert [candidate.agent.agent_id for candidate in choice.candidates] == ["expert", "junior"]
    assert "category_skill" in choice.candidates[0].reason_codes


def test_score_adds_weights() -> None:
    agent = make_agent("kim")

    (candidate,) = choose_agent(make_ticket(), [agent], CustomerContext(), NOW).candidates

    expected = (
        ROUTING_WEIGHTS["category_skill"] * 3 / 5
        + ROUTING_WEIGHTS["language_skill"] * 4 / 5
        + ROUTING_WEIGHTS["spare_capacity"] * 1.0
    )
    assert candidate.score == pytest.approx(expected)
    assert candidate.reason_codes == ("queue_member", "category_skill", "language_skill", "spare_capacity")


def test_lower_load_wins_between_equals() -> None:
    busy = make_agent("busy", load={Channel.CHAT: 3})
    free = make_agent("free")

    choice = choose_agent(make_ticket(), [busy, free], CustomerContext(), NOW)

    assert choice.candidates[0].agent.agent_id == "free"


def test_ties_break_by_agent_id() -> None:
    choice = choose_agent(make_ticket(), [make_agent("b"), make_agent("a")], CustomerContext(), NOW)

    assert [candidate.agent.agent_id for candidate in choice.candidates] == ["a", "b"]


def test_urgent_ticket_prefers_expert() -> None:
    generalist = make_agent("generalist", skills=[Skill(category="hardware", level=3), Skill(language="ko", level=2)])
    senior = make_agent("senior", skills=[Skill(category="hardware", level=2), Skill(language="ko", level=5)])
    urgent = make_ticket(priority=Priority.CRITICAL)

    calm = choose_agent(make_ticket(), [generalist, senior], CustomerContext(), NOW)
    rushed = choose_agent(urgent, [generalist, senior], CustomerContext(), NOW)

    assert rushed.candidates[0].agent.agent_id == "senior"
    assert "urgent_expert" in rushed.candidates[0].reason_codes
    assert "urgent_expert" not in calm.candidates[0].reason_codes


def test_premium_customer_and_preferred_channel_count() -> None:
    phone = make_agent("phone", capacity={Channel.CHAT: 4, Channel.PHONE_TRANSCRIPT: 2})
    chat_only = make_agent("chat")
    context = CustomerContext(tier="vip", preferred_channel=Channel.PHONE_TRANSCRIPT)

    (first, second) = choose_agent(make_ticket(), [chat_only, phone], context, NOW).candidates

    assert first.agent.agent_id == "phone"
    assert "preferred_channel" in first.reason_codes
    assert "premium_expert" in first.reason_codes
    assert "premium_expert" in second.reason_codes


def test_previous_agent_affinity() -> None:
    kim = make_agent("kim")
    lee = make_agent("lee", skills=[Skill(category="hardware", level=4), Skill(language="ko", level=4)])

    choice = choose_agent(make_ticket(), [kim, lee], CustomerContext(previous_agents=frozenset({"kim"})), NOW)

    assert choice.candidates[0].agent.agent_id == "kim"
    assert "previous_agent" in choice.candidates[0].reason_codes


@pytest.mark.parametrize(
    ("agent_fields", "code"),
    [
        ({"queues": ["network"]}, "no_agent_in_queue"),
        ({"active": False}, "no_agent_in_queue"),
        ({"presence": Presence.BUSY}, "no_agent_online"),
        ({"working_hours": WorkingHours(weekdays=[5, 6])}, "outside_working_hours"),
        ({"capacity": {Channel.EMAIL: 3}}, "channel_not_served"),
        ({"load": {Channel.CHAT: 4}}, "no_capacity"),
        ({"skills": [Skill(category="hardware", level=5), Skill(language="en", level=5)]}, "language_not_served"),
    ],
)
def test_no_fit_names_first_failing_filter(agent_fields: dict[str, Any], code: str) -> None:
    choice = choose_agent(make_ticket(), [make_agent("kim", **agent_fields)], CustomerContext(), NOW)

    assert choice.candidates == []
    assert choice.no_fit_code == code
    assert "hardware" in (choice.no_fit_reason or "")


def test_mixed_language_served_by_either() -> None:
    mixed = make_ticket(
        last_sentiment=Sentiment(label=SentimentLabel.NEUTRAL, score=0.9, negative=0.1, language="mixed", model="m", model_version="1")
    )
    english = make_agent("english", skills=[Skill(language="en", level=3)])

    assert choose_agent(mixed, [english], CustomerContext(), NOW).candidates


def test_excluded_agent_is_skipped() -> None:
    choice = choose_agent(make_ticket(), [make_agent("kim")], CustomerContext(), NOW, exclude=frozenset({"kim"}))

    assert choice.no_fit_code == "no_agent_in_queue"


def test_working_hours_follow_agent_time_zone() -> None:
    # 02:00 UTC is 11:00 in Seoul and 21:00 the day before in New York.
    seoul_agent = make_agent("seoul", working_hours=WorkingHours(time_zone="Asia/Seoul"))
    new_york_agent = make_agent("ny", working_hours=WorkingHours(time_zone="America/New_York"))

    assert is_working(seoul_agent, NOW) is True
    assert is_working(new_york_agent, NOW) is False


def test_routed_decision_names_agent_and_facts() -> None:
    (candidate,) = choose_agent(make_ticket(), [make_agent("kim")], CustomerContext(), NOW).candidates

    decision = routed_decision(make_ticket(), candidate, NOW)

    assert decision.agent_id == "kim"
    assert decision.reason_codes == list(candidate.reason_codes)
    assert "category skill" in decision.reason
    assert decision.reason_ko is not None
    assert decision.reason_ko.startswith("hardware 큐의 kim 상담원에게 배정")
    assert REASON_CODES_KO["category_skill"] in decision.reason_ko


def test_every_reason_has_korean_text() -> None:
    codes = {"queue_member", "category_skill", "language_skill", "spare_capacity", "urgent_expert"}
    codes |= {"premium_expert", "preferred_channel", "open_ticket_agent", "previous_agent"}

    assert set(REASON_CODES_KO) == codes
    assert set(NO_FIT_REASONS) <= set(NO_FIT_REASONS_KO)


def test_waiting_decision_explains_in_korean() -> None:
    decision = waiting_decision(make_ticket(), "no_capacity", "every available agent is at capacity", NOW)

    assert decision.reason_codes == ["waiting", "no_capacity"]
    assert decision.reason_ko == "hardware 큐에서 대기 중: hardware 큐의 상담원이 모두 chat 채널 처리 한도에 도달했습니다"


def test_unassigned_decision_remembers_agents() -> None:
    first = unassigned_decision(make_ticket(), "kim", NOW)
    again = unassigned_decision(make_ticket(routing=first), "lee", NOW)
    back = unassigned_decision(make_ticket(routing=again), "kim", NOW)

    assert first.reason_codes == ["waiting", "unassigned"]
    assert first.unassigned_agent_ids == ["kim"]
    assert again.unassigned_agent_ids == ["kim", "lee"]
    assert back.unassigned_agent_ids == ["lee", "kim"]
    assert "kim 상담원의 배정이 해제되어" in first.reason_ko


def test_unassigned_agents_are_capped() -> None:
    ticket = make_ticket()
    for number in range(MAX_UNASSIGNED_AGENTS + 5):
        ticket = make_ticket(routing=unassigned_decision(ticket, f"agent-{number}", NOW))

    remembered = ticket.routing.unassigned_agent_ids if ticket.routing else []
    assert len(remembered) == MAX_UNASSIGNED_AGENTS
    assert remembered[-1] == f"agent-{MAX_UNASSIGNED_AGENTS + 4}"


def test_later_decisions_keep_unassigned_agents() -> None:
    waiting = make_ticket(routing=unassigned_decision(make_ticket(), "kim", NOW))
    (candidate,) = choose_agent(waiting, [make_agent("lee")], CustomerContext(), NOW).candidates

    assert routed_decision(waiting, candidate, NOW).unassigned_agent_ids == ["kim"]
    assert waiting_decision(waiting, "no_capacity", "full", NOW).unassigned_agent_ids == ["kim"]


def routed(agent_id: str | None, **fields: Any) -> Ticket:
    routing = RoutingDecision(agent_id=agent_id, queue="hardware", reason="r", decided_at=NOW)
    return make_ticket(routing=routing, assignee_id=agent_id, status=TicketStatus.ASSIGNED, **fields)


def test_slot_held_only_in_holding_status() -> None:
    assert slot_holder(routed("kim")) == ("kim", Channel.CHAT)
    assert slot_holder(routed("kim").model_copy(update={"status": TicketStatus.RESOLVED})) is None
    assert slot_holder(routed("kim").model_copy(update={"assignee_id": "someone-else"})) is None


def test_load_changes_move_slot() -> None:
    before = routed("kim")
    after = routed("lee")

    assert load_changes(None, before, enforce_capacity=True) == [LoadChange("kim", Channel.CHAT, 1, enforce_capacity=True)]
    assert load_changes(before, after) == [LoadChange("kim", Channel.CHAT, -1), LoadChange("lee", Channel.CHAT, 1)]
    assert load_changes(before, before.model_copy(update={"status": TicketStatus.CLOSED})) == [LoadChange("kim", Channel.CHAT, -1)]
    assert load_changes(before, before.model_copy(update={"status": TicketStatus.IN_PROGRESS})) == []


def test_customer_context_from_history() -> None:
    open_ticket = routed("kim").model_copy(update={"ticket_id": "earlier-open"})
    resolved = routed("lee").model_copy(update={"ticket_id": "earlier-resolved", "status": TicketStatus.RESOLVED})
    old = routed("park").model_copy(
        update={"ticket_id": "old", "status": TicketStatus.CLOSED, "updated_at": NOW - timedelta(days=400)}
    )

    context = customer_context("vip", "email", [open_ticket, resolved, old], "ticket-1", timedelta(days=90), NOW)

    assert context.open_ticket_agents == frozenset({"kim"})
    assert context.previous_agents == frozenset({"lee"})
    assert context.preferred_channel == Channel.EMAIL
    assert context.tier == "vip"
