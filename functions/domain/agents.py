"""Agent use cases: register and update agents, change presence, and keep routing in step.

Who may do what:

| role | may |
|---|---|
| admin, supervisor | register, update, read and list the tenant's agents; set anyone's presence |
| agent | read their own record and set their own presence |
| others | nothing |

Routing follows every change: an agent who comes online or gains capacity takes waiting
tickets, and an agent who goes away or is deactivated has their open work rebalanced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from functions.domain.access import Denial, enforce
from functions.domain.audit import audit_timestamp
from functions.domain.calendars import time_zone
from functions.domain.errors import DependencyError, DomainError, InvalidInputError
from functions.domain.ids import new_id
from functions.domain.router import Router
from functions.models.agents import Agent, Presence, PresenceRequest, RegisterAgentRequest, UpdateAgentRequest
from functions.models.audit import AuditChange, AuditRecord
from functions.models.caller import Caller, Role
from functions.models.events import Actor

logger = logging.getLogger(f"servicedesk.{__name__}")

AGENT_MANAGER_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


class AgentExistsError(DomainError):
    code = "agent_exists"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id} is already registered", agent_id=agent_id)


class AgentVersionConflictError(DomainError):
    code = "agent_version_conflict"

    def __init__(self, agent_id: str, expected: int, current: int | None) -> None:
        super().__init__(
            f"agent {agent_id} is at version {current}, not {expected}",
            agent_id=agent_id,
            expected_version=expected,
            current_version=current,
        )


class AgentStore(Protocol):
    def register_agent(self, agent: Agent, records: Sequence[AuditRecord]) -> None:
        """Store a new agent with its audit records; raise AgentExistsError when the id is taken."""

    def update_agent(self, agent: Agent, expected_version: int, records: Sequence[AuditRecord]) -> Agent:
        """Store every field but the load counters if the version matches; return the stored agent.

        Raises AgentVersionConflictError when the version changed meanwhile.
        """

    def get_agent(self, tenant_id: str, agent_id: str) -> Agent: ...

    def list_agents(self, tenant_id: str) -> list[Agent]: ...


def manage_denial(caller: Caller) -> Denial | None:
    if caller.role in AGENT_MANAGER_ROLES:
        return None
    return Denial("agent_management_not_allowed", "only administrators and supervisors manage agents.")


def read_denial(caller: Caller, agent_id: str) -> Denial | None:
    if caller.role in AGENT_MANAGER_ROLES or (caller.role == Role.AGENT and caller.user_id == agent_id):
        return None
    return Denial("not_own_agent_record", "agents read only their own record; supervisors read every agent.")


def presence_denial(caller: Caller, agent_id: str) -> Denial | None:
    if caller.role in AGENT_MANAGER_ROLES or (caller.role == Role.AGENT and caller.user_id == agent_id):
        return None
    return Denial("not_own_presence", "agents set only their own presence; supervisors set anyone's.")


class AgentService:
    """Agent registration, updates and presence, with routing following each change."""

    def __init__(
        self, store: AgentStore, router: Router | None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._router = router
        self._clock = clock

    def register(self, caller: Caller, request: RegisterAgentRequest) -> Agent:
        enforce(manage_denial(caller), caller, "register_agent")
        now = self._clock()
        agent = Agent(
            agent_id=request.agent_id,
            tenant_id=caller.tenant_id,
            display_name=request.display_name,
            queues=request.queues,
            skills=request.skills,
            capacity=request.capacity,
            load={channel: 0 for channel in request.capacity},
            working_hours=request.working_hours,
            presence=request.presence,
            created_at=now,
            updated_at=now,
        )
        _check_time_zone(agent)
        self._store.register_agent(agent, [self._record(caller, agent, "agent.registered", None, now)])
        logger.info("agent registered", extra={"tenant_id": caller.tenant_id, "agent_id": agent.agent_id})
        self._follow(None, agent)
        return agent

    def get(self, caller: Caller, agent_id: str) -> Agent:
        enforce(read_denial(caller, agent_id), caller, "read_agent")
        return self._store.get_agent(caller.tenant_id, agent_id)

    def list(self, caller: Caller) -> list[Agent]:
        enforce(manage_denial(caller), caller, "list_agents")
        return sorted(self._store.list_agents(caller.tenant_id), key=lambda agent: agent.agent_id)

    def update(self, caller: Caller, agent_id: str, request: UpdateAgentRequest, expected_version: int | None) -> Agent:
        enforce(manage_denial(caller), caller, "update_agent")
        if expected_version is None:
            raise InvalidInputError(
                "the expected version is missing: send an If-Match header or a version field",
                problem_ko="기대하는 버전이 없습니다. If-Match 헤더나 version 필드로 보내 주세요.",
                field="version",
            )
        changes = request.model_dump(exclude_none=True, exclude={"version"})
        if not changes:
            raise InvalidInputError(
                "the request changes nothing: send at least one field",
                problem_ko="바꿀 내용이 없습니다. 필드를 하나 이상 보내 주세요.",
                field="body",
            )
        current = self._store.get_agent(caller.tenant_id, agent_id)
        if current.version != expected_version:
            raise AgentVersionConflictError(agent_id, expected_version, current.version)
        return self._save(caller, current, changes, "agent.updated")

    def set_presence(self, caller: Caller, agent_id: str, request: PresenceRequest) -> Agent:
        """Change presence; retried on a concurrent change because presence overrides any version."""
        enforce(presence_denial(caller, agent_id), caller, "set_presence")
        for _ in range(3):
            current = self._store.get_agent(caller.tenant_id, agent_id)
            if current.presence == request.presence:
                return current
            try:
                return self._save(caller, current, {"presence": request.presence}, "agent.presence_changed")
            except AgentVersionConflictError:
                continue
        raise AgentVersionConflictError(agent_id, current.version, None)

    # Internals.

    def _save(self, caller: Caller, current: Agent, values: dict[str, Any], action: str) -> Agent:
        now = self._clock()
        candidate = current.model_copy(update={**values, "version": current.version + 1, "updated_at": now})
        agent = Agent.model_validate(candidate.model_dump())
        _check_time_zone(agent)
        stored = self._store.update_agent(agent, current.version, [self._record(caller, agent, action, current, now)])
        logger.info("agent updated", extra={"tenant_id": caller.tenant_id, "agent_id": agent.agent_id, "action": action})
        self._follow(current, stored)
        return stored

    def _follow(self, before: Agent | None, after: Agent) -> None:
        """Rebalance or route waiting tickets after a change; failures are left to the next change or job run."""
        if self._router is None:
            return
        available = after.active and after.presence == Presence.ONLINE
        was_available = before is not None and before.active and before.presence == Presence.ONLINE
        went_away = before is not None and (not after.active or after.presence == Presence.AWAY) and (
            before.active and before.presence != Presence.AWAY
        )
        more_room = before is not None and any(
            after.capacity.get(channel, 0) > count for channel, count in before.capacity.items()
        )
        try:
            if went_away:
                self._router.rebalance(after.tenant_id, after.agent_id)
            elif available and (not was_available or more_room or before is None or after.queues != before.queues):
                self._router.route_waiting(after.tenant_id)
        except DependencyError as error:
            logger.warning(
                "routing after an agent change failed",
                extra={"tenant_id": after.tenant_id, "agent_id": after.agent_id, "error": str(error)},
            )

    def _record(self, caller: Caller, agent: Agent, action: str, before: Agent | None, now: datetime) -> AuditRecord:
        fields = ("display_name", "queues", "skills", "capacity", "working_hours", "presence", "active")
        changes: dict[str, AuditChange] = {}
        for name in fields:
            new = _audit_text(getattr(agent, name))
            old = _audit_text(getattr(before, name)) if before is not None else None
            if new != old:
                changes[name] = AuditChange(old=old, new=new)
        return AuditRecord(
            tenant_id=agent.tenant_id,
            timestamp=audit_timestamp(now),
            actor=Actor(user_id=caller.user_id, role=caller.role),
            action=action,
            resource_type="agent",
            resource_id=agent.agent_id,
            changes=changes,
            event_id=new_id(),
        )


def _audit_text(value: Any) -> str:
    """Render a field for the audit log: JSON for models, lists and maps, the value of enums, else str."""
    if hasattr(value, "model_dump_json"):
        return value.model_dump_json()
    if isinstance(value, list | dict):
        return json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
    return str(getattr(value, "value", value))


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(getattr(key, "value", key)): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return getattr(value, "value", value)


def _check_time_zone(agent: Agent) -> None:
    time_zone(agent.working_hours.time_zone)
