"""The identity behind a request."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from functions.models.tickets import Identifier, Label


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    PARTNER = "partner"
    SYSTEM = "system"


class Caller(BaseModel):
    """Tenant, user and role of a request's caller; every data access is scoped by the tenant."""

    model_config = ConfigDict(frozen=True)

    tenant_id: Identifier
    user_id: Identifier
    role: Role
    # Queues an agent works; from the `queues` claim (Cognito custom attribute custom:queues).
    queues: frozenset[Label] = Field(default=frozenset(), max_length=50)
