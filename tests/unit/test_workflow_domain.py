"""Pure workflow rules: access plans, compensation, approval routing and the decision policy."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from functions.domain.errors import DependencyError
from functions.domain.workflows.approvals import MAX_DELEGATION_HOPS, Person, escalation_target, route_approval
from functions.domain.workflows.decisions import ApprovalFeatures, DecisionPolicy, decide, risk_of
from functions.domain.workflows.onboarding import (
    RoleTemplate,
    SystemAccess,
    compensation_plan,
    plan_access,
    workflow_id_for,
)
from functions.models.workflows import Employee

TODAY = date(2025, 3, 4)
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples" / "eventbridge-workflows"
SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"
TEMPLATE = RoleTemplate("engineer", (SystemAccess("wiki", "read"), SystemAccess("ci", "admin")), "laptop-dev")


class FixedEndpoint:
    name = "decisions"

    def __init__(self, probability: float | None) -> None:
        self.probability = probability

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.probability is None:
            raise DependencyError("endpoint down")
        return {"model_version": "decisions-test", "predictions": [{"approve_probability": self.probability}]}


def features(**overrides: Any) -> ApprovalFeatures:
    values = {
        "system": "ci", "level": "admin", "role": "engineer", "department": "engineering",
        "employee_type": "regular", "in_role_template": True, "privileged_count": 1,
    }
    return ApprovalFeatures(**{**values, **overrides})


def employee(employee_type: str = "regular") -> Employee:
    return Employee(employee_id="e-1", role="engineer", department="engineering", employee_type=employee_type, manager_id="m-1")


def test_workflow_id_stable_per_subject() -> None:
    assert workflow_id_for("t1", "onboarding", "e-1") == workflow_id_for("t1", "onboarding", "e-1")
    assert workflow_id_for("t1", "onboarding", "e-1") != workflow_id_for("t2", "onboarding", "e-1")
    assert workflow_id_for("t1", "onboarding", "e-1").startswith("wf-onb-")


def test_access_plan_splits_privileged() -> None:
    plan = plan_access(TEMPLATE, employee())

    assert plan.standard == (SystemAccess("wiki", "read"),)
    assert plan.privileged == (SystemAccess("ci", "admin"),)
    assert plan.approval_needed


def test_interns_get_no_privileged_access() -> None:
    plan = plan_access(TEMPLATE, employee("intern"))

    assert plan.privileged == ()
    assert not plan.approval_needed


def test_compensation_revokes_then_releases() -> None:
    plan = compensation_plan(["wiki", "ci"], "laptop-7")

    assert plan.steps == ("revoke_access", "release_device")
    assert plan.revoke == ("ci", "wiki")
    assert compensation_plan([], None).steps == ()


def test_away_approver_delegates_once() -> None:
    people = {
        "m-1": Person("m-1", manager_id="d-1", away_until=TODAY + timedelta(days=1), delegate_id="dep-1"),
        "dep-1": Person("dep-1"),
    }

    routing = route_approval("m-1", people.get, TODAY)

    assert routing.assignee_id == "dep-1"
    assert routing.delegated_from == ("m-1",)


def test_returned_approver_keeps_request() -> None:
    people = {"m-1": Person("m-1", away_until=TODAY - timedelta(days=1), delegate_id="dep-1")}

    assert route_approval("m-1", people.get, TODAY).assignee_id == "m-1"


def test_delegation_loop_stops() -> None:
    people = {
        "a": Person("a", away_until=TODAY, delegate_id="b"),
        "b": Person("b", away_until=TODAY, delegate_id="a"),
    }

    routing = route_approval("a", people.get, TODAY)

    assert routing.assignee_id == "b"
    assert len(routing.delegated_from) <= MAX_DELEGATION_HOPS


def test_escalation_goes_to_manager() -> None:
    people = {"m-1": Person("m-1", manager_id="d-1"), "d-1": Person("d-1")}

    assert escalation_target("m-1", people.get, TODAY).assignee_id == "d-1"
    assert escalation_target("d-1", people.get, TODAY) is None


@pytest.mark.parametrize(
    ("overrides", "risk"),
    [({}, "low"), ({"system": "payroll"}, "high"), ({"system": "payroll", "level": "read"}, "medium"), ({"system": "unknown"}, "medium")],
)
def test_risk_by_system_and_level(overrides: dict[str, Any], risk: str) -> None:
    assert risk_of(features(**overrides)) == risk


def test_confident_low_risk_request_auto_approved() -> None:
    decision = decide(features(), DecisionPolicy(), FixedEndpoint(0.95))

    assert decision.outcome.value == "approve"
    assert decision.rule == "auto_approve"
    assert decision.score == 0.95
    assert decision.model_version == "decisions-test"
    assert decision.inputs["system"] == "ci"
    assert decision.reason_en and decision.reason_ko


def test_unsure_model_asks_person() -> None:
    decision = decide(features(), DecisionPolicy(approve_threshold=0.9), FixedEndpoint(0.89))

    assert decision.outcome.value == "human"
    assert decision.rule == "human.low_confidence"


def test_high_risk_never_auto_approved() -> None:
    decision = decide(features(system="payroll"), DecisionPolicy(), FixedEndpoint(0.999))

    assert decision.outcome.value == "human"
    assert decision.rule == "human.risk_not_low"


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"in_role_template": False}, "violation.outside_role_template"),
        ({"employee_type": "intern"}, "violation.intern_privileged"),
        ({"employee_type": "contractor", "system": "payroll"}, "violation.contractor_restricted_system"),
    ],
)
def test_policy_violation_auto_rejected(overrides: dict[str, Any], rule: str) -> None:
    decision = decide(features(**overrides), DecisionPolicy(), FixedEndpoint(0.99))

    assert decision.outcome.value == "reject"
    assert decision.rule == rule
    assert decision.score is None


def test_limits_keep_person_in_loop() -> None:
    assert decide(features(privileged_count=4), DecisionPolicy(max_privileged_per_employee=3), FixedEndpoint(0.99)).rule == "human.over_privileged_limit"
    assert decide(features(employee_type="contractor"), DecisionPolicy(), FixedEndpoint(0.99)).rule == "human.non_regular_employee"


def test_model_outage_asks_person() -> None:
    decision = decide(features(), DecisionPolicy(), FixedEndpoint(None))

    assert decision.outcome.value == "human"
    assert decision.rule == "human.model_unavailable"


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_workflow_sample_matches_schema(path: Path) -> None:
    event = json.loads(path.read_text("utf-8"))
    schema = json.loads((SCHEMAS / f"{event['detail-type']}.v1.json").read_text("utf-8"))

    errors = [error.message for error in Draft202012Validator(schema).iter_errors(event["detail"])]

    assert errors == []
    assert event["source"] == schema["x-eventbridge"]["source"]
