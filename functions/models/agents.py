"""Agents: skills, channels with their capacity, working hours and presence."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from functions.models.tickets import MAX_SAFE_INTEGER, Channel, Identifier, Label, ShortText

# Most tickets one agent may hold at once on one channel.
MAX_CHANNEL_CAPACITY = 100
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, for example ko or en.")]


class Presence(StrEnum):
    ONLINE = "online"
    BUSY = "busy"
    AWAY = "away"


class Skill(BaseModel):
    """An agent's ability in a ticket category, a language, or both, at a level from 1 (junior) to 5 (expert)."""

    model_config = ConfigDict(extra="forbid")

    category: Label | None = None
    language: Language | None = None
    level: int = Field(default=3, ge=1, le=5)

    @model_validator(mode="after")
    def _needs_subject(self) -> Skill:
        if self.category is None and self.language is None:
            raise ValueError("a skill needs a category, a language or both")
        return self


def _without_offset(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a working-hours time is local to time_zone, so give it without an offset or Z, like 09:00")
    return value


# JSON Schema's "time" format requires an offset, which these local times must not have.
LocalTime = Annotated[
    time,
    AfterValidator(_without_offset),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "description": "Local time of day in time_zone, HH:MM or HH:MM:SS, without an offset.",
        }
    ),
]


class WorkingHours(BaseModel):
    """Weekly working hours in the agent's time zone; `end` at 00:00 means midnight at the end of the day."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(default="Asia/Seoul", max_length=64, description="IANA time zone name.")
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], min_length=1, max_length=7)
    start: LocalTime = time(9, 0)
    end: LocalTime = time(18, 0)

    @field_validator("weekdays")
    @classmethod
    def _valid_weekdays(cls, weekdays: list[int]) -> list[int]:
        if any(day < 0 or day > 6 for day in weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return sorted(set(weekdays))

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end != time(0) and self.end <= self.start:
            raise ValueError("end must be later than start, or 00:00 for midnight")
        return self


Capacity = dict[Channel, Annotated[int, Field(ge=0, le=MAX_CHANNEL_CAPACITY)]]


class RegisterAgentRequest(BaseModel):
    """Body of POST /agents."""

    model_config = ConfigDict(extra="forbid")

    agent_id: Identifier = Field(description="The agent's user id, as in their access token.")
    display_name: ShortText
    queues: list[Label] = Field(min_length=1, max_length=50)
    skills: list[Skill] = Field(default_factory=list, max_length=50)
    capacity: Capacity = Field(min_length=1, description="Most open tickets per channel the agent serves.")
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    presence: Presence = Presence.AWAY


class UpdateAgentRequest(BaseModel):
    """Body of PATCH /agents/{id}; every field is optional, at least one must be given."""

    model_config = ConfigDict(extra="forbid")

    display_name: ShortText | None = None
    queues: list[Label] | None = Field(default=None, min_length=1, max_length=50)
    skills: list[Skill] | None = Field(default=None, max_length=50)
    capacity: Capacity | None = Field(default=None, min_length=1)
    working_hours: WorkingHours | None = None
    active: bool | None = Field(default=None, description="false stops routing to the agent and rebalances their work.")
    version: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER, description="Expected version; If-Match works too.")


class PresenceRequest(BaseModel):
    """Body of PUT /agents/{id}/presence."""

    model_config = ConfigDict(extra="forbid")

    presence: Presence


class Agent(BaseModel):
    """An agent as stored and returned by the API; `load` counts the tickets routed to them per channel."""

    agent_id: str
    tenant_id: str
    display_name: str
    queues: list[str]
    skills: list[Skill] = Field(default_factory=list)
    capacity: dict[Channel, int]
    load: dict[Channel, int] = Field(default_factory=dict)
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    presence: Presence = Presence.AWAY
    active: bool = True
    version: int = 1
    created_at: datetime
    updated_at: datetime

    def free_slots(self, channel: Channel) -> int:
        return self.capacity.get(channel, 0) - self.load.get(channel, 0)


class AgentList(BaseModel):
    items: list[Agent]
