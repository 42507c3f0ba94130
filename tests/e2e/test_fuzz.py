"""Property-based fuzzing of the HTTP API from docs/openapi.yaml against the local stack.

Schemathesis generates requests for every documented operation, valid ones and invalid ones,
and checks each response: no 5xx, a documented status code, content type and headers, and a
body that matches the documented schema. The number of examples is bounded (FUZZ_EXAMPLES,
FUZZ_NEGATIVE_EXAMPLES per operation) so that one run takes minutes, not hours.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
FUZZ_TENANT = "t-fuzz"
# Examples per operation; raise them through the environment for a longer run.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ_NEGATIVE_EXAMPLES = int(os.environ.get("FUZZ_NEGATIVE_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def auth_headers(stack: RunningStack) -> dict[str, str]:
    """Return the headers that authenticate the fuzzer as a supervisor of its own tenant.

    The one place to change when the API's authentication changes. It takes the stack
    fixture's credentials (a signed development token) without its Content-Type, because each
    generated request sets its own.
    """
    headers = stack.headers(FUZZ_TENANT, user="fuzz-supervisor", role="supervisor")
    return {name: value for name, value in headers.items() if name.lower() != "content-type"}


@pytest.fixture(scope="module")
def api_schema(stack: RunningStack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_path(str(OPENAPI_PATH))


@pytest.fixture(scope="module")
def seeded_ticket_id(stack: RunningStack) -> str:
    """A ticket of the fuzz tenant, so that path parameters also reach existing tickets."""
    response = requests.post(
        f"{stack.api_url}/tickets",
        json={"title": "fuzz seed", "requester_id": "requester-1", "customer_id": "customer-1", "channel": "web_form"},
        headers={**auth_headers(stack), "Content-Type": "application/json; charset=utf-8"},
        timeout=30,
    )
    assert response.status_code == 201, f"the fuzzer cannot authenticate or create a ticket: {response.text}"
    return response.json()["ticket_id"]


def operation_ids() -> list[str]:
    schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
    return sorted(result.ok().label for result in schema.get_all_operations())


@pytest.mark.parametrize("operation_label", operation_ids())
def test_operation_never_fails_or_breaks_schema(
    api_schema: schemathesis.BaseSchema, stack: RunningStack, seeded_ticket_id: str, operation_label: str
) -> None:
    operation = next(
        result.ok() for result in api_schema.get_all_operations() if result.ok().label == operation_label
    )
    headers = auth_headers(stack)
    path_parameters = {"ticket_id": seeded_ticket_id} if "{ticket_id}" in operation.path else None
    positive = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path_parameters),
    )
    negative = operation.as_strategy(GenerationMode.NEGATIVE)

    with requests.Session() as session:

        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=stack.api_url, session=session, headers=headers, checks=CHECKS)

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=positive)
        def fuzz_valid(case: schemathesis.Case) -> None:
            call(case)

        @settings(
            max_examples=FUZZ_NEGATIVE_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=negative)
        def fuzz_invalid(case: schemathesis.Case) -> None:
            call(case)

        try:
            fuzz_valid()
            fuzz_invalid()
        except BaseException:
            # The stack's own log contains the traceback of a 5xx, or why the stack exited.
            state = "exited" if stack.process.poll() is not None else "running"
            print(f"local stack {state}; last lines of its log:\n" + "\n".join(stack.log[-80:]))
            raise
