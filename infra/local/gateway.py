"""Chalice's local API Gateway with the Cognito check left to the development tokens.

`chalice local` and Chalice's test client decode the payload of a Cognito route's
Authorization header without verifying it, copy its claims into the request when it has a
`cognito:username`, and raise on a header that is not a JWT. With CALLER_SOURCE=dev_tokens the
function verifies the token itself and ignores those claims, so this authorizer passes Cognito
routes through untouched and leaves every other authorizer to Chalice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import chalice.local
from chalice.app import CognitoUserPoolAuthorizer


class DevTokenGatewayAuthorizer(chalice.local.LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        # API Gateway gives every request an id, which logs and error bodies carry; chalice
        # local gives none.
        lambda_event.setdefault("requestContext", {}).setdefault("requestId", str(uuid.uuid4()))
        route = self._route_for_event(lambda_event)
        if route is not None and isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return lambda_event, lambda_context
        return super().authorize(raw_path, lambda_event, lambda_context)


def install() -> None:
    """Use DevTokenGatewayAuthorizer in every local gateway this process creates from now on.

    NOTE: chalice.local creates its gateway inside each request handler, so the class is
    replaced on the module; chalice 1.34 offers no hook for it. Locally nothing checks the
    x-api-key header of the /partner routes either: the template tests check that
    API Gateway requires it.
    """
    chalice.local.LocalGatewayAuthorizer = DevTokenGatewayAuthorizer


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Use DevTokenGatewayAuthorizer for the local gateways created inside this block."""
    original = chalice.local.LocalGatewayAuthorizer
    chalice.local.LocalGatewayAuthorizer = DevTokenGatewayAuthorizer
    try:
        yield
    finally:
        chalice.local.LocalGatewayAuthorizer = original
