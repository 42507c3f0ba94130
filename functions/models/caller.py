"""The identity behind a request."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from functions.models.tickets import Identifier


class Role(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    PARTNER = "partner"
    SYSTEM = "system"


class Caller(BaseModel):
    """Tenant, user and role of a request's caller; every data access is scoped by the tenant."""

    tenant_id: Identifier
    user_id: Identifier
    role: Role
