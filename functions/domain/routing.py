"""Skills-based routing: which agent gets a ticket, and why.

`choose_agent` is a pure function of the ticket, the agents and the customer's context. An
agent is a candidate when they are active, online, inside their working hours, work the
ticket's queue, serve its channel with a free slot, and speak its language when the sentiment
model detected one. Candidates are scored, the highest score wins, and ties go to the agent with
the most free slots and then to the lowest agent id, so the same input always gives the same
agent. The weights are the ROUTING_WEIGHTS below; docs/routing-and-sla.md explains them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from functions.domain.calendars import time_zone
from functions.models.agents import Agent, Presence
from functions.models.tickets import Channel, Priority, RoutingDecision, Ticket, TicketStatus

# Points each fact adds to a candidate's score.
ROUTING_WEIGHTS = {
    "category_skill": 30.0,  # times level / 5 of the agent's skill in the ticket's category
    "language_skill": 10.0,  # times level / 5 of the agent's skill in the ticket's language
    "spare_capacity": 20.0,  # times the free share of the agent's capacity on the ticket's channel
    "urgent_expert": 15.0,  # times best level / 5, for critical or high priority, escalated or negative tickets
    "premium_expert": 10.0,  # times best level / 5, for customers of a premium tier
    "preferred_channel": 5.0,  # the agent also serves the customer's preferred channel
    "previous_agent": 15.0,  # the agent handled one of the customer's earlier tickets
    "open_ticket_agent": 25.0,  # the agent holds another open ticket of the customer (a channel switch)
}
URGENT_PRIORITIES = frozenset({Priority.CRITICAL, Priority.HIGH})
PREMIUM_TIERS = frozenset({"enterprise", "vip"})
# Statuses in which a ticket holds one slot of its agent's capacity on its channel.
HOLDING_STATUSES = frozenset({TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.PENDING, TicketStatus.REOPENED})
# Languages of the sentiment model; "mixed" (Korean and English) is served by either.
MIXED_LANGUAGES = ("ko", "en")

# Why nobody was chosen, by the first filter that left no candidate.
NO_FIT_REASONS = {
    "no_agent_in_queue": "no active agent works queue {queue}",
    "no_agent_online": "no agent of queue {queue} is online",
    "outside_working_hours": "no online agent of queue {queue} is inside their working hours",
    "channel_not_served": "no available agent of queue {queue} serves channel {channel}",
    "no_capacity": "every available agent of queue {queue} is at capacity on channel {channel}",
    "language_not_served": "no available agent of queue {queue} speaks {language}",
}

# The same reasons in Korean, for `reason_ko`.
NO_FIT_REASONS_KO = {
    "no_agent_in_queue": "{queue} 큐를 맡은 활성 상담원이 없습니다",
    "no_agent_online": "{queue} 큐에 온라인 상담원이 없습니다",
    "outside_working_hours": "{queue} 큐의 온라인 상담원이 모두 근무 시간 밖입니다",
    "channel_not_served": "{queue} 큐에 {channel} 채널을 맡는 상담원이 없습니다",
    "no_capacity": "{queue} 큐의 상담원이 모두 {channel} 채널 처리 한도에 도달했습니다",
    "language_not_served": "{queue} 큐에 {language} 언어를 지원하는 상담원이 없습니다",
    "routing_contention": "배정하는 동안 고른 상담원의 처리 한도가 모두 찼습니다",
}
# Korean names of the facts in `reason_codes` of a routed ticket.
REASON_CODES_KO = {
    "queue_member": "큐 담당",
    "category_skill": "분류 전문성",
    "language_skill": "언어 역량",
    "spare_capacity": "여유 처리량",
    "urgent_expert": "긴급 건 숙련자",
    "premium_expert": "주요 고객 숙련자",
    "preferred_channel": "고객 선호 채널",
    "open_ticket_agent": "고객의 진행 중 티켓 담당자",
    "previous_agent": "고객의 이전 담당자",
}


@dataclass(frozen=True)
class CustomerContext:
    """Customer facts that routing scores: tier, preferred channel and the agents of their tickets."""

    tier: str | None = None
    preferred_channel: Channel | None = None
    previous_agents: frozenset[str] = frozenset()
    open_ticket_agents: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Candidate:
    agent: Agent
    score: float
    reason_codes: tuple[str, ...]


@dataclass(frozen=True)
class LoadChange:
    """A change of one agent's load counter on one channel, written with the ticket change.

    With `enforce_capacity` the write succeeds only while the agent is online and below
    capacity on that channel, so two routers cannot both take the agent's last slot.
    """

    agent_id: str
    channel: Channel
    delta: int
    enforce_capacity: bool = False


@dataclass(frozen=True)
class Choice:
    """Outcome of choose_agent: the ranked candidates (best first) or the reason nobody fits."""

    candidates: list[Candidate] = field(default_factory=list)
    no_fit_code: str | None = None
    no_fit_reason: str | None = None


def ticket_language(ticket: Ticket) -> str | None:
    """Return the language of the ticket's last scored requester message (ko, en or mixed), if known."""
    sentiment = ticket.last_sentiment
    if sentiment is None or sentiment.language not in {"ko", "en", "mixed"}:
        return None
    return sentiment.language


def is_working(agent: Agent, now: datetime) -> bool:
    """Return whether `now` falls inside the agent's weekly working hours in their time zone."""
    hours = agent.working_hours
    local = now.astimezone(time_zone(hours.time_zone))
    moment = local.time().replace(tzinfo=None)
    if local.weekday() not in hours.weekdays or moment < hours.start:
        return False
    return hours.end == time(0) or moment < hours.end


def is_urgent(ticket: Ticket) -> bool:
    negative = ticket.last_sentiment is not None and ticket.last_sentiment.label.value == "negative"
    return ticket.priority in URGENT_PRIORITIES or ticket.escalated or negative


def choose_agent(
    ticket: Ticket,
    agents: Sequence[Agent],
    customer: CustomerContext,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> Choice:
    """Rank the agents who can take the ticket now, or name the first filter that left none."""
    language = ticket_language(ticket)
    stages: list[tuple[str, list[Agent]]] = []
    pool = [agent for agent in agents if agent.active and agent.agent_id not in exclude and ticket.queue in agent.queues]
    stages.append(("no_agent_in_queue", pool))
    pool = [agent for agent in pool if agent.presence == Presence.ONLINE]
    stages.append(("no_agent_online", pool))
    pool = [agent for agent in pool if is_working(agent, now)]
    stages.append(("outside_working_hours", pool))
    pool = [agent for agent in pool if agent.capacity.get(ticket.channel, 0) > 0]
    stages.append(("channel_not_served", pool))
    pool = [agent for agent in pool if agent.free_slots(ticket.channel) > 0]
    stages.append(("no_capacity", pool))
    if language is not None:
        pool = [agent for agent in pool if _language_level(agent, language) > 0]
        stages.append(("language_not_served", pool))

    for code, remaining in stages:
        if not remaining:
            reason = NO_FIT_REASONS[code].format(queue=ticket.queue, channel=ticket.channel.value, language=language)
            return Choice(no_fit_code=code, no_fit_reason=reason)

    candidates = [score_agent(ticket, agent, customer, language) for agent in pool]
    candidates.sort(key=lambda candidate: (-candidate.score, -candidate.agent.free_slots(ticket.channel), candidate.agent.agent_id))
    return Choice(candidates=candidates)


def score_agent(ticket: Ticket, agent: Agent, customer: CustomerContext, language: str | None) -> Candidate:
    """Score one eligible agent for the ticket and list the facts that counted."""
    weights = ROUTING_WEIGHTS
    codes = ["queue_member"]
    score = 0.0

    category_level = max((skill.level for skill in agent.skills if skill.category and skill.category == ticket.category), default=0)
    if category_level:
        score += weights["category_skill"] * category_level / 5
        codes.append("category_skill")

    language_level = _language_level(agent, language) if language else 0
    if language_level:
        score += weights["language_skill"] * language_level / 5
        codes.append("language_skill")

    capacity = agent.capacity.get(ticket.channel, 0)
    free_share = agent.free_slots(ticket.channel) / capacity if capacity else 0.0
    score += weights["spare_capacity"] * free_share
    if free_share >= 0.5:
        codes.append("spare_capacity")

    best_level = max((skill.level for skill in agent.skills), default=1)
    if is_urgent(ticket):
        score += weights["urgent_expert"] * best_level / 5
        codes.append("urgent_expert")
    if (customer.tier or "").lower() in PREMIUM_TIERS:
        score += weights["premium_expert"] * best_level / 5
        codes.append("premium_expert")

    if customer.preferred_channel is not None and agent.capacity.get(customer.preferred_channel, 0) > 0:
        score += weights["preferred_channel"]
        codes.append("preferred_channel")
    if agent.agent_id in customer.open_ticket_agents:
        score += weights["open_ticket_agent"]
        codes.append("open_ticket_agent")
    elif agent.agent_id in customer.previous_agents:
        score += weights["previous_agent"]
        codes.append("previous_agent")

    return Candidate(agent=agent, score=round(score, 2), reason_codes=tuple(codes))


# A ticket remembers at most this many agents it was unassigned from.
MAX_UNASSIGNED_AGENTS = 20
UNASSIGNED_CODES = ("waiting", "unassigned")


def unassigned_agents(ticket: Ticket) -> list[str]:
    """Return the agents the ticket was unassigned from, whom routing leaves out."""
    return list(ticket.routing.unassigned_agent_ids) if ticket.routing is not None else []


def routed_decision(ticket: Ticket, candidate: Candidate, now: datetime) -> RoutingDecision:
    facts = ", ".join(code.replace("_", " ") for code in candidate.reason_codes)
    facts_ko = ", ".join(REASON_CODES_KO.get(code, code) for code in candidate.reason_codes)
    agent_id = candidate.agent.agent_id
    return RoutingDecision(
        agent_id=agent_id,
        queue=ticket.queue,
        reason_codes=list(candidate.reason_codes),
        reason=f"routed to {agent_id} in queue {ticket.queue} with score {candidate.score:.2f}: {facts}",
        reason_ko=f"{ticket.queue} 큐의 {agent_id} 상담원에게 배정 (점수 {candidate.score:.2f}): {facts_ko}",
        score=candidate.score,
        decided_at=now,
        unassigned_agent_ids=unassigned_agents(ticket),
    )


def waiting_decision(ticket: Ticket, code: str, reason: str, now: datetime) -> RoutingDecision:
    return RoutingDecision(
        agent_id=None,
        queue=ticket.queue,
        reason_codes=["waiting", code],
        reason=f"waiting in queue {ticket.queue}: {reason}",
        reason_ko=f"{ticket.queue} 큐에서 대기 중: {_no_fit_reason_ko(ticket, code)}",
        score=None,
        decided_at=now,
        unassigned_agent_ids=unassigned_agents(ticket),
    )


def unassigned_decision(ticket: Ticket, agent_id: str, now: datetime) -> RoutingDecision:
    """Return the decision for a ticket unassigned from an agent: it waits for another agent."""
    earlier = [agent for agent in unassigned_agents(ticket) if agent != agent_id]
    return RoutingDecision(
        agent_id=None,
        queue=ticket.queue,
        reason_codes=list(UNASSIGNED_CODES),
        reason=f"waiting in queue {ticket.queue}: unassigned from {agent_id}, so routing chooses another agent",
        reason_ko=f"{ticket.queue} 큐에서 대기 중: {agent_id} 상담원의 배정이 해제되어 다른 상담원을 찾습니다",
        score=None,
        decided_at=now,
        unassigned_agent_ids=[*earlier, agent_id][-MAX_UNASSIGNED_AGENTS:],
    )


def _no_fit_reason_ko(ticket: Ticket, code: str) -> str:
    template = NO_FIT_REASONS_KO.get(code, code)
    return template.format(queue=ticket.queue, channel=ticket.channel.value, language=ticket_language(ticket))


def slot_holder(ticket: Ticket) -> tuple[str, Channel] | None:
    """Return (agent id, channel) of the capacity slot the ticket holds, or None.

    A ticket holds a slot while it is in a holding status with the agent that routing or a
    person assigned through routing recorded, so a slot is counted once per ticket.
    """
    routing = ticket.routing
    if routing is None or routing.agent_id is None or routing.agent_id != ticket.assignee_id:
        return None
    if ticket.status not in HOLDING_STATUSES:
        return None
    return routing.agent_id, ticket.channel


def load_changes(before: Ticket | None, after: Ticket, enforce_capacity: bool = False) -> list[LoadChange]:
    """Return the counter changes that keep agents' load equal to the slots their tickets hold."""
    old = slot_holder(before) if before is not None else None
    new = slot_holder(after)
    if old == new:
        return []
    changes = []
    if old is not None:
        changes.append(LoadChange(old[0], old[1], -1))
    if new is not None:
        changes.append(LoadChange(new[0], new[1], 1, enforce_capacity=enforce_capacity))
    return changes


def customer_context(
    tier: str | None, preferred_channel: str | None, history: Sequence[Ticket], ticket_id: str, lookback: timedelta, now: datetime
) -> CustomerContext:
    """Build the routing context from the customer's profile and their recent tickets (newest first)."""
    previous: set[str] = set()
    holding: set[str] = set()
    for earlier in history:
        if earlier.ticket_id == ticket_id or earlier.assignee_id is None:
            continue
        if earlier.status in HOLDING_STATUSES:
            holding.add(earlier.assignee_id)
        elif now - earlier.updated_at <= lookback:
            previous.add(earlier.assignee_id)
    channel = None
    if preferred_channel in {member.value for member in Channel}:
        channel = Channel(preferred_channel)
    return CustomerContext(
        tier=tier, preferred_channel=channel, previous_agents=frozenset(previous), open_ticket_agents=frozenset(holding)
    )


def _language_level(agent: Agent, language: str) -> int:
    wanted = MIXED_LANGUAGES if language == "mixed" else (language,)
    return max((skill.level for skill in agent.skills if skill.language in wanted), default=0)
