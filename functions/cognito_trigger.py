"""Cognito pre token generation trigger (event version V3_0): the claims the API reads.

People: a user's tenant and an agent's queues are the custom attributes `tenant_id` and
`queues`, which only administrators can write. The role is the user's group (requester, agent,
supervisor, admin), the highest when there are several, so that changing a role is a group
change in Cognito. The trigger writes `custom:role` into the ID and access tokens and drops a
`custom:role` attribute a user might carry, so the group decides.

Partner systems: a machine-to-machine access token (client credentials grant) gets
`custom:tenant_id` from the PARTNER_CLIENT_TENANTS setting (app client id to tenant) and
`custom:role` = partner. A client missing from it gets no tenant, so the API rejects its requests with 401.

functions/api/auth.py reads these claims; docs/security.md describes the user pool.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(f"servicedesk.{__name__}")

TENANT_CLAIM = "custom:tenant_id"
ROLE_CLAIM = "custom:role"
QUEUES_CLAIM = "custom:queues"
# User pool groups from lowest to highest privilege. A user in several groups gets the last one.
ROLE_GROUPS = ("requester", "agent", "supervisor", "admin")
PARTNER_ROLE = "partner"
CLIENT_CREDENTIALS_TRIGGER = "TokenGeneration_ClientCredentials"
# The API's id pattern for tenants (functions/models/caller.py accepts the same characters).
_TENANT_PATTERN = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


class TriggerConfigError(ValueError):
    """PARTNER_CLIENT_TENANTS is not a JSON object of client ids to tenant ids."""


def parse_partner_tenants(raw: str) -> dict[str, str]:
    """Read PARTNER_CLIENT_TENANTS, a JSON object of app client ids to tenant ids; an empty value means none."""
    if not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as error:
        raise TriggerConfigError(f"PARTNER_CLIENT_TENANTS is not JSON: {error.msg}") from error
    if not isinstance(mapping, dict):
        raise TriggerConfigError('PARTNER_CLIENT_TENANTS must be a JSON object, for example {"<client id>": "acme"}')
    for client_id, tenant_id in mapping.items():
        if not isinstance(tenant_id, str) or not _TENANT_PATTERN.match(tenant_id):
            raise TriggerConfigError(f"PARTNER_CLIENT_TENANTS maps client {client_id} to an invalid tenant id")
    return mapping


def role_from_groups(groups: list[str]) -> str | None:
    """Return the highest role among the user's groups, or None when the user is in none."""
    ranked = [ROLE_GROUPS.index(group) for group in groups if group in ROLE_GROUPS]
    return ROLE_GROUPS[max(ranked)] if ranked else None


def token_claims(event: Mapping[str, Any], partner_tenants: Mapping[str, str]) -> dict[str, Any]:
    """Return the `response` of a V3_0 pre token generation event: the claims to add or suppress.

    A user without a role group or a tenant gets no role or tenant claim, so the API rejects
    the token with 401 claims_missing.
    """
    if event.get("triggerSource") == CLIENT_CREDENTIALS_TRIGGER:
        client_id = (event.get("callerContext") or {}).get("clientId", "")
        tenant_id = partner_tenants.get(client_id)
        claims = {TENANT_CLAIM: tenant_id, ROLE_CLAIM: PARTNER_ROLE} if tenant_id else {}
        return {"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {"claimsToAddOrOverride": claims}}}

    request = event.get("request") or {}
    attributes = request.get("userAttributes") or {}
    groups = (request.get("groupConfiguration") or {}).get("groupsToOverride") or []
    claims: dict[str, str] = {}
    role = role_from_groups(list(groups))
    if role is not None:
        claims[ROLE_CLAIM] = role
    tenant_id = attributes.get(TENANT_CLAIM, "")
    if _TENANT_PATTERN.match(tenant_id):
        claims[TENANT_CLAIM] = tenant_id
    if role == "agent" and attributes.get(QUEUES_CLAIM):
        claims[QUEUES_CLAIM] = attributes[QUEUES_CLAIM]
    # Attributes the trigger did not set must not reach the token, so that only the group
    # decides the role and only agents carry queues.
    suppressed = [name for name in (ROLE_CLAIM, TENANT_CLAIM, QUEUES_CLAIM) if name not in claims]
    token = {"claimsToAddOrOverride": claims, "claimsToSuppress": suppressed}
    return {
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": token,
            "accessTokenGeneration": {"claimsToAddOrOverride": claims},
        }
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point that Cognito invokes before it issues tokens."""
    partner_tenants = parse_partner_tenants(os.environ.get("PARTNER_CLIENT_TENANTS", ""))
    event["response"] = token_claims(event, partner_tenants)
    granted = event["response"]["claimsAndScopeOverrideDetails"]
    if not any(part.get("claimsToAddOrOverride") for part in granted.values()):
        # Ids only: the user or client will get 401 from the API and an operator needs to know why.
        logger.warning(
            "token issued without tenant or role claims",
            extra={"trigger": event.get("triggerSource"), "user_pool_id": event.get("userPoolId")},
        )
    return event
