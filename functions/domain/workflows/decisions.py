"""Decision policy for approvals: a learned score combined with explicit risk rules.

The policy approves automatically only when the model is confident a person would approve,
the risk is low and the request is within policy limits. It rejects automatically only when
a rule is violated. Everything else goes to a person. Every outcome names the rule that fired
and a reason in English and Korean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from functions.domain.errors import DependencyError
from functions.domain.ports import ModelEndpoint
from functions.models.workflows import AutomatedDecision, DecisionOutcome, EmployeeType

logger = logging.getLogger(f"servicedesk.{__name__}")

# How sensitive admin access to each system is; systems not listed count as medium.
SYSTEM_SENSITIVITY: dict[str, str] = {
    "payroll": "high",
    "erp": "high",
    "hr": "high",
    "crm": "medium",
    "vpn": "medium",
    "groupware": "low",
    "wiki": "low",
    "ci": "low",
    "analytics": "low",
}
RESTRICTED_FOR_CONTRACTORS = frozenset({"payroll", "erp", "hr"})
_RISK_ORDER = ("low", "medium", "high")


@dataclass(frozen=True)
class DecisionPolicy:
    """Thresholds of the policy. `approve_threshold` is the model's approve probability needed."""

    approve_threshold: float = 0.9
    max_privileged_per_employee: int = 3


@dataclass(frozen=True)
class ApprovalFeatures:
    """The inputs of one decision; the model and the rules read the same values."""

    system: str
    level: str
    role: str
    department: str
    employee_type: str
    in_role_template: bool
    privileged_count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "level": self.level,
            "role": self.role,
            "department": self.department,
            "employee_type": self.employee_type,
            "in_role_template": self.in_role_template,
            "privileged_count": self.privileged_count,
        }


def risk_of(features: ApprovalFeatures) -> str:
    """Rate a request low, medium or high: the system's sensitivity, one step lower below admin."""
    sensitivity = SYSTEM_SENSITIVITY.get(features.system, "medium")
    index = _RISK_ORDER.index(sensitivity)
    if features.level != "admin":
        index = max(0, index - 1)
    return _RISK_ORDER[index]


def violation_of(features: ApprovalFeatures) -> tuple[str, str, str] | None:
    """Return (rule, English reason, Korean reason) of the first policy rule broken, or None."""
    if not features.in_role_template:
        return (
            "violation.outside_role_template",
            f"{features.system} {features.level} access is not part of the {features.role} role template.",
            f"{features.system} {features.level} 권한은 {features.role} 역할 템플릿에 없습니다.",
        )
    if features.employee_type == EmployeeType.INTERN and features.level == "admin":
        return (
            "violation.intern_privileged",
            "Interns may not hold admin access.",
            "인턴에게는 관리자 권한을 줄 수 없습니다.",
        )
    if features.employee_type == EmployeeType.CONTRACTOR and features.system in RESTRICTED_FOR_CONTRACTORS:
        return (
            "violation.contractor_restricted_system",
            f"Contractors may not access {features.system}.",
            f"외부 계약자는 {features.system}에 접근할 수 없습니다.",
        )
    return None


def model_payload(features: ApprovalFeatures) -> dict[str, Any]:
    return {"requests": [features.as_dict()]}


def decide(features: ApprovalFeatures, policy: DecisionPolicy, endpoint: ModelEndpoint | None) -> AutomatedDecision:
    """Decide approve, reject or human for one request, recording inputs, score and the rule."""
    inputs = features.as_dict()
    risk = risk_of(features)

    violation = violation_of(features)
    if violation is not None:
        rule, reason_en, reason_ko = violation
        return AutomatedDecision(
            outcome=DecisionOutcome.REJECT, rule=rule, reason_en=reason_en, reason_ko=reason_ko, inputs=inputs, risk=risk
        )

    score, model_version = _score(features, endpoint)
    if score is None:
        return AutomatedDecision(
            outcome=DecisionOutcome.HUMAN,
            rule="human.model_unavailable",
            reason_en="The decision model is unavailable, so a person decides.",
            reason_ko="결정 모델을 사용할 수 없어 담당자가 결정합니다.",
            inputs=inputs,
            risk=risk,
        )

    common = {"inputs": inputs, "risk": risk, "score": score, "model_version": model_version}
    percent = f"{score:.0%}"
    if features.privileged_count > policy.max_privileged_per_employee:
        return AutomatedDecision(
            outcome=DecisionOutcome.HUMAN,
            rule="human.over_privileged_limit",
            reason_en=f"The employee would hold more than {policy.max_privileged_per_employee} admin grants, so a person decides.",
            reason_ko=f"관리자 권한이 {policy.max_privileged_per_employee}개를 넘게 되므로 담당자가 결정합니다.",
            **common,
        )
    if features.employee_type != EmployeeType.REGULAR:
        return AutomatedDecision(
            outcome=DecisionOutcome.HUMAN,
            rule="human.non_regular_employee",
            reason_en=f"Only requests for regular employees are approved automatically ({features.employee_type}).",
            reason_ko=f"정규직이 아닌 직원({features.employee_type})의 요청은 담당자가 결정합니다.",
            **common,
        )
    if risk != "low":
        return AutomatedDecision(
            outcome=DecisionOutcome.HUMAN,
            rule="human.risk_not_low",
            reason_en=f"Risk is {risk} for {features.system} {features.level} access, so a person decides (model score {percent}).",
            reason_ko=f"{features.system} {features.level} 권한의 위험도가 {risk}이므로 담당자가 결정합니다 (모델 점수 {percent}).",
            **common,
        )
    if score < policy.approve_threshold:
        return AutomatedDecision(
            outcome=DecisionOutcome.HUMAN,
            rule="human.low_confidence",
            reason_en=f"The model's approve probability {percent} is below {policy.approve_threshold:.0%}, so a person decides.",
            reason_ko=f"모델의 승인 확률 {percent}이(가) 기준 {policy.approve_threshold:.0%}보다 낮아 담당자가 결정합니다.",
            **common,
        )
    return AutomatedDecision(
        outcome=DecisionOutcome.APPROVE,
        rule="auto_approve",
        reason_en=f"Low-risk {features.system} {features.level} access within policy; the model approves with {percent}.",
        reason_ko=f"위험도가 낮고 정책 범위 안의 {features.system} {features.level} 권한이며, 모델 승인 확률은 {percent}입니다.",
        **common,
    )


def _score(features: ApprovalFeatures, endpoint: ModelEndpoint | None) -> tuple[float | None, str | None]:
    if endpoint is None:
        return None, None
    try:
        response = endpoint.invoke(model_payload(features))
        score = float(response["predictions"][0]["approve_probability"])
    except DependencyError as error:
        logger.warning("decision model unavailable", extra={"error": str(error)})
        return None, None
    except (KeyError, IndexError, TypeError, ValueError) as error:
        logger.warning("decision model returned an unexpected response", extra={"error": type(error).__name__})
        return None, None
    return min(max(score, 0.0), 1.0), str(response.get("model_version", "unknown"))
