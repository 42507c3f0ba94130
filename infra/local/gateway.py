"""Chalice's local API Gateway, made to respond as the deployed API Gateway does.

- Cognito check: `chalice local` and Chalice's test client decode the payload of a Cognito
  route's Authorization header without verifying it, copy its claims into the request when it
  has a `cognito:username`, and raise on a header that is not a JWT. With
  CALLER_SOURCE=dev_tokens the function verifies the token itself and ignores those claims, so
  Cognito routes pass through untouched and every other authorizer is left to Chalice.
- API keys: routes with `api_key_required` (the /partner routes) need an `x-api-key` header
  with one of the keys the local stack wrote (infra/local/api_keys.py).
- Errors that API Gateway returns itself (no route for the path or method, a missing or unknown
  API key) get the body of the GatewayResponses of infra/functions.yaml, filled as API
  Gateway fills them.

NOTE: deployed, API Gateway runs the Cognito authorizer before it checks the API key, so a
request with neither gets 401. Locally the function checks the token after the gateway
checks the key, so the same request gets 403.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import chalice.local
import chalice.test
from chalice.app import CognitoUserPoolAuthorizer

FUNCTIONS_TEMPLATE = Path(__file__).resolve().parents[1] / "functions.yaml"
# API Gateway's own error text ($context.error.message) for the responses emulated here.
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
    "INVALID_API_KEY": "Forbidden",
}
# The x-amzn-ErrorType header API Gateway sends with them.
GATEWAY_ERROR_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "INVALID_API_KEY": "ForbiddenException",
}
_DEFAULT_STATUS = {"DEFAULT_4XX": 400, "DEFAULT_5XX": 500}


class GatewayResponseError(chalice.local.LocalGatewayException):
    """An error that the gateway returns itself, with the status and body of its gateway response."""

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(headers, body)
        self.CODE = status_code


@lru_cache(maxsize=1)
def gateway_responses() -> dict[str, dict[str, Any]]:
    """Return the GatewayResponses of the API in infra/functions.yaml, by response type."""
    from infra.package import load_template

    template = load_template(FUNCTIONS_TEMPLATE)
    return template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


def render_gateway_response(response_type: str, request_id: str, gateway_error: str) -> tuple[int, bytes]:
    """Fill a gateway response's JSON template as API Gateway does, and return its status and body.

    `$context.error.messageString` is the error text as a quoted JSON string, and
    `$context.requestId` the request id.
    """
    response = gateway_responses()[response_type]
    body = response["ResponseTemplates"]["application/json"]
    body = body.replace("$context.error.messageString", json.dumps(gateway_error))
    body = body.replace("$context.requestId", request_id)
    status = int(response.get("StatusCode", _DEFAULT_STATUS.get(response_type, 400)))
    return status, body.encode("utf-8")


def gateway_error(response_type: str, request_id: str | None = None) -> GatewayResponseError:
    request_id = request_id or str(uuid.uuid4())
    status, body = render_gateway_response(response_type, request_id, GATEWAY_ERRORS[response_type])
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": GATEWAY_ERROR_TYPES[response_type],
    }
    return GatewayResponseError(status, headers, body)


class DevTokenGatewayAuthorizer(chalice.local.LocalGatewayAuthorizer):
    # The partner API keys the gateway accepts. None turns the key check off.
    api_keys: frozenset[str] | None = None

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        # API Gateway gives every request an id, which logs and error bodies carry; chalice
        # local gives none.
        request_context = lambda_event.setdefault("requestContext", {})
        request_id = request_context.setdefault("requestId", str(uuid.uuid4()))
        route = self._route_for_event(lambda_event)
        if route is None:
            # The path has routes, but none for this method, and API Gateway responds as for
            # an unknown path.
            raise gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        if route.api_key_required and self.api_keys is not None:
            key = (lambda_event.get("headers") or {}).get("x-api-key")
            if key not in self.api_keys:
                raise gateway_error("INVALID_API_KEY", request_id)
        if isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return lambda_event, lambda_context
        return super().authorize(raw_path, lambda_event, lambda_context)


class TypedErrorGateway(chalice.local.LocalGateway):
    """LocalGateway that responds to a path without routes with the MISSING_AUTHENTICATION_TOKEN response."""

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except chalice.local.ForbiddenError as error:
            # chalice.local raises ForbiddenError only when no route matches the path: the
            # authorizer above raises GatewayResponseError instead.
            raise gateway_error("MISSING_AUTHENTICATION_TOKEN") from error


def install(api_keys: frozenset[str] | None = None) -> None:
    """Use the classes above in every local gateway this process creates from now on.

    NOTE: chalice.local creates its gateway inside each request handler, so the classes are
    replaced on the module; chalice 1.34 offers no hook for it.
    """
    DevTokenGatewayAuthorizer.api_keys = api_keys
    chalice.local.LocalGatewayAuthorizer = DevTokenGatewayAuthorizer
    chalice.local.LocalGateway = TypedErrorGateway


@contextlib.contextmanager
def installed(api_keys: frozenset[str] | None = None) -> Iterator[None]:
    """Use the classes above for the local gateways and test clients created inside this block.

    Without `api_keys`, no API key is checked.
    """
    originals = (chalice.local.LocalGatewayAuthorizer, chalice.local.LocalGateway, chalice.test.LocalGateway)
    previous_keys = DevTokenGatewayAuthorizer.api_keys
    DevTokenGatewayAuthorizer.api_keys = api_keys
    chalice.local.LocalGatewayAuthorizer = DevTokenGatewayAuthorizer
    chalice.local.LocalGateway = TypedErrorGateway
    chalice.test.LocalGateway = TypedErrorGateway
    try:
        yield
    finally:
        chalice.local.LocalGatewayAuthorizer, chalice.local.LocalGateway, chalice.test.LocalGateway = originals
        DevTokenGatewayAuthorizer.api_keys = previous_keys
