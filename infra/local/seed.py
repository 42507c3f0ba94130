"""Sample customers and channel messages for a first local run, written for this project."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from functions import wiring
from functions.domain.agents import AgentExistsError
from functions.domain.ports import Customer
from functions.models.agents import Agent, Presence, Skill, WorkingHours
from functions.models.tickets import Channel

SAMPLE_DATA = Path(__file__).with_name("sample_data.json")
# Tenant of `servicedesk replay servicenow` (its --tenant default).
REPLAY_TENANT = "servicenow-replay"
# Queues every local tenant can route to without the triage model: the default queue, the
# review queue of abstained verdicts and the escalation queue.
BASE_QUEUES = ("general", "triage-review", "senior")
SEED_AGENT_COUNT = 6
# Open tickets per channel each seeded agent takes; the replay keeps about 8 incidents open at once.
SEED_CAPACITY = {Channel.EMAIL: 40, Channel.CHAT: 10, Channel.PHONE_TRANSCRIPT: 10, Channel.WEB_FORM: 40, Channel.MOBILE_APP: 10}


def seed(
    sqs: Any, intake_queue_url: str, sample_file: Path = SAMPLE_DATA, triage_dir: Path | None = None
) -> dict[str, int]:
    """Store the sample customers and agents, and queue the sample messages for the intake consumer.

    Agents go to the sample tenant and to the replay tenant. They work the base queues and,
    when a triage artifact is given, every queue it routes to, so each new ticket finds an agent.
    """
    data = json.loads(sample_file.read_text("utf-8"))
    tenant_id = data["tenant_id"]
    queues = sorted({*BASE_QUEUES, *triage_queues(triage_dir)})
    agents = 0
    for tenant in (tenant_id, REPLAY_TENANT):
        agents += register_agents(tenant, queues)

    repository = wiring.repository()
    for customer in data["customers"]:
        attributes = {key: value for key, value in customer.items() if key not in {"customer_id", "tier", "name"}}
        # A full profile, as PUT /customers/{id} stores it, so the 360 view shows when it was made.
        seeded_at = datetime.now(UTC).isoformat()
        attributes = {"company": customer["name"], "created_at": seeded_at, "updated_at": seeded_at, **attributes}
        repository.put_customer(
            tenant_id,
            Customer(customer_id=customer["customer_id"], tier=customer["tier"], name=customer["name"], attributes=attributes),
        )

    for message in data["messages"]:
        sqs.send_message(
            QueueUrl=intake_queue_url, MessageBody=json.dumps({"tenant_id": tenant_id, **message}, ensure_ascii=False)
        )
    return {"customers": len(data["customers"]), "agents": agents, "messages": len(data["messages"])}


def register_agents(tenant_id: str, queues: list[str], count: int = SEED_AGENT_COUNT) -> int:
    """Register `count` online agents of every queue for a tenant; return how many were new."""
    now = datetime.now(UTC)
    # Round the clock: the local stack and the replay run at any hour.
    always = WorkingHours(weekdays=list(range(7)), start=time(0), end=time(0))
    repository = wiring.agent_repository()
    registered = 0
    for number in range(1, count + 1):
        agent = Agent(
            agent_id=f"seed-agent-{number}",
            tenant_id=tenant_id,
            display_name=f"Seed agent {number}",
            queues=queues,
            # Levels vary so that scores differ; everyone speaks Korean and English.
            skills=[Skill(language="ko", level=2 + number % 4), Skill(language="en", level=2 + (number + 1) % 4)],
            capacity=SEED_CAPACITY,
            load={channel: 0 for channel in SEED_CAPACITY},
            working_hours=always,
            presence=Presence.ONLINE,
            created_at=now,
            updated_at=now,
        )
        try:
            repository.register_agent(agent, [])
        except AgentExistsError:
            continue
        registered += 1
    return registered


def triage_queues(triage_dir: Path | None) -> set[str]:
    """Return the queues the triage artifact routes to, or none without an artifact."""
    if triage_dir is None or not (triage_dir / "model.joblib").is_file():
        return set()
    from ml.triage.model import TriageModel

    queue_map = TriageModel.load(triage_dir).queue_map
    return {*queue_map.queues.values(), queue_map.default_queue, queue_map.review_queue}
