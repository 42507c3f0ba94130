"""Caller identity from verified credentials: the claims of API Gateway's Cognito authorizer, or
the HS256 development tokens of the local stack.

Both produce the same Caller, so the role and tenant rules run unchanged on a developer machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from chalice import CognitoUserPoolAuthorizer
from pydantic import ValidationError

from functions.models.caller import Caller

DEV_TOKEN_ALGORITHM = "HS256"
# Claims every development token must carry; `queues` is optional and only agents need it.
REQUIRED_DEV_TOKEN_CLAIMS = ("tenant", "sub", "role", "iat", "exp", "iss")
# Maximum lifetime of a development token, from its iat to its exp. `servicedesk token` mints none longer.
MAX_DEV_TOKEN_LIFETIME = timedelta(hours=24)
# Clock difference tolerated between the machine that minted a token and the one verifying it.
CLOCK_LEEWAY_SECONDS = 30
# Longer Authorization headers are rejected before any decoding work.
MAX_AUTHORIZATION_BYTES = 8192

# API Gateway's Cognito authorizer on every route. Chalice needs a literal ARN here, so the
# packaged template replaces it with the UserPoolArn parameter (infra/functions.yaml).
# infra/package.py fails when this placeholder is left in the template.
PLACEHOLDER_USER_POOL_ARN = "arn:aws:cognito-idp:ap-northeast-2:000000000000:userpool/ap-northeast-2_PLACEHOLDER"
AUTHORIZER_NAME = "ServiceDeskUsers"
# OAuth scope of partner systems' machine tokens (client credentials grant). A method with
# scopes accepts access tokens that carry one of them; methods without scopes accept ID tokens.
PARTNER_SCOPE = "servicedesk/partner"
user_authorizer = CognitoUserPoolAuthorizer(AUTHORIZER_NAME, provider_arns=[PLACEHOLDER_USER_POOL_ARN])
partner_authorizer = user_authorizer.with_scopes([PARTNER_SCOPE])

# Claims of the Cognito user pool. `custom:queues` is a custom attribute of agents.
TENANT_CLAIM = "custom:tenant_id"
USER_CLAIM = "sub"
ROLE_CLAIM = "custom:role"
QUEUES_CLAIM = "custom:queues"


class AuthenticationError(Exception):
    """Credentials are missing or invalid.

    `code` is the API error code (unauthorized, token_expired or token_invalid) and `reason` a
    short word for logs and clients. Neither ever contains the token.
    """

    def __init__(self, code: str, reason: str, problem: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.problem = problem


def parse_queues(value: Any) -> frozenset[str]:
    """Split a comma-separated queue list (the form a Cognito string attribute allows)."""
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        raise ValueError("queues must be a comma-separated string")
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def caller_from_authorizer_claims(claims: Mapping[str, Any]) -> Caller:
    """Build the caller from the claims that API Gateway's Cognito authorizer verified."""
    missing = [name for name in (TENANT_CLAIM, USER_CLAIM, ROLE_CLAIM) if not claims.get(name)]
    if missing:
        raise AuthenticationError(
            "unauthorized",
            "claims_missing",
            f"the verified token lacks the claims {', '.join(missing)}; sign in with a user of this "
            "service desk's user pool.",
        )
    try:
        return Caller(
            tenant_id=claims[TENANT_CLAIM],
            user_id=claims[USER_CLAIM],
            role=claims[ROLE_CLAIM],
            queues=parse_queues(claims.get(QUEUES_CLAIM)),
        )
    except (ValidationError, ValueError) as error:
        raise AuthenticationError(
            "unauthorized", "claims_invalid", "the tenant, user, role or queues claim of the token is malformed."
        ) from error


def bearer_token(authorization: str | None) -> str:
    """Return the token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        raise AuthenticationError("unauthorized", "missing", "send the header Authorization: Bearer <token>.")
    if len(authorization.encode("utf-8", "replace")) > MAX_AUTHORIZATION_BYTES:
        raise AuthenticationError("token_invalid", "malformed", "the Authorization header is too long.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("token_invalid", "malformed", "use the Bearer scheme: Authorization: Bearer <token>.")
    return token.strip()


def caller_from_dev_token(authorization: str | None, secret: str, issuer: str) -> Caller:
    """Verify a development token (signature, expiry, issuer, claims) and build its caller."""
    token = bearer_token(authorization)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[DEV_TOKEN_ALGORITHM],
            issuer=issuer,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": list(REQUIRED_DEV_TOKEN_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as error:
        raise AuthenticationError("token_expired", "expired", "mint a new token.") from error
    except jwt.InvalidSignatureError as error:
        raise AuthenticationError("token_invalid", "bad_signature", "the signature does not match.") from error
    except jwt.InvalidIssuerError as error:
        raise AuthenticationError("token_invalid", "wrong_issuer", f"the issuer must be {issuer}.") from error
    except jwt.MissingRequiredClaimError as error:
        raise AuthenticationError("token_invalid", "claims_missing", f"the claim {error.claim} is missing.") from error
    except jwt.ImmatureSignatureError as error:
        raise AuthenticationError("token_invalid", "not_yet_valid", "the token's iat or nbf is in the future.") from error
    except jwt.InvalidTokenError as error:
        raise AuthenticationError("token_invalid", "malformed", "the token is not a valid HS256 JWT.") from error
    lifetime = claims["exp"] - claims["iat"]
    if not isinstance(lifetime, (int, float)) or lifetime > MAX_DEV_TOKEN_LIFETIME.total_seconds():
        hours = int(MAX_DEV_TOKEN_LIFETIME.total_seconds() // 3600)
        raise AuthenticationError("token_invalid", "lifetime_too_long", f"a token may live at most {hours} hours: mint a new one.")

    try:
        return Caller(
            tenant_id=claims["tenant"],
            user_id=claims["sub"],
            role=claims["role"],
            queues=parse_queues(claims.get("queues")),
        )
    except (ValidationError, ValueError) as error:
        raise AuthenticationError(
            "token_invalid", "claims_invalid", "the tenant, sub, role or queues claim is malformed."
        ) from error


def mint_dev_token(
    secret: str,
    issuer: str,
    tenant_id: str,
    user_id: str,
    role: str,
    ttl: timedelta,
    queues: Iterable[str] = (),
    now: datetime | None = None,
) -> str:
    """Sign a development token for the local stack; the claims are validated like a request's."""
    caller = Caller(tenant_id=tenant_id, user_id=user_id, role=role, queues=frozenset(queues))
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": caller.user_id,
        "tenant": caller.tenant_id,
        "role": caller.role.value,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + ttl).timestamp()),
    }
    if caller.queues:
        claims["queues"] = ",".join(sorted(caller.queues))
    return jwt.encode(claims, secret, algorithm=DEV_TOKEN_ALGORITHM)
