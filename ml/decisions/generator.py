"""Generator of realistic approval history, used until a tenant has enough recorded decisions.

No public data set of access-approval decisions exists, so this module simulates what an
IT approval log of a Korean enterprise looks like. Each row is one access request decided by
one of 40 approvers over 18 months. A person's approval is drawn from a logistic model of:

- the system's sensitivity and the access level (admin is rarer than read),
- how well the system fits the role (engineers get CI and VPN, finance analysts get ERP),
- requests outside the role template, contractors and interns (mostly rejected),
- the number of privileged grants the employee would hold,
- each approver's own leniency and each department's strictness,
- a drift: after month 12 (a simulated security audit) admin requests get stricter.

Labels are noisy, as real decisions are: the same request can be approved by one approver and
rejected by another. The rows carry the same fields as ApprovalFeatures in
functions/domain/workflows/decisions.py, so the model reads runtime requests unchanged.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

ROLES: dict[str, dict[str, Any]] = {
    "engineer": {"department": "engineering", "fits": {"ci", "vpn", "wiki", "analytics", "groupware"}},
    "finance-analyst": {"department": "finance", "fits": {"erp", "payroll", "analytics", "groupware"}},
    "sales-rep": {"department": "sales", "fits": {"crm", "groupware", "wiki"}},
    "hr-specialist": {"department": "hr", "fits": {"hr", "payroll", "groupware"}},
    "support-agent": {"department": "support", "fits": {"crm", "wiki", "groupware"}},
}
SYSTEMS = ("groupware", "wiki", "ci", "analytics", "crm", "vpn", "erp", "payroll", "hr")
SENSITIVITY_WEIGHT = {"low": 2.2, "medium": 0.9, "high": -0.3}
SYSTEM_SENSITIVITY = {
    "groupware": "low", "wiki": "low", "ci": "low", "analytics": "low",
    "crm": "medium", "vpn": "medium", "erp": "high", "payroll": "high", "hr": "high",
}
LEVEL_WEIGHT = {"read": 0.6, "write": 0.0, "admin": -0.9}
DEPARTMENT_STRICTNESS = {"engineering": 0.3, "finance": -0.4, "sales": 0.1, "hr": -0.2, "support": 0.2}
EMPLOYEE_TYPES = (("regular", 0.8), ("contractor", 0.15), ("intern", 0.05))
APPROVERS = 40
MONTHS = 18
DRIFT_MONTH = 12


def generate(rows: int, seed: int = 7, start: datetime | None = None) -> list[dict[str, Any]]:
    """Return `rows` decided requests, oldest first, each with features, `approved` and `decided_at`."""
    rng = random.Random(seed)
    begin = start or datetime(2025, 1, 1, tzinfo=UTC)
    approver_bias = [rng.gauss(0.0, 0.6) for _ in range(APPROVERS)]
    history = []
    for _ in range(rows):
        role = rng.choice(tuple(ROLES))
        profile = ROLES[role]
        fits = profile["fits"]
        # Most requests come from the role template; the rest ask for any system.
        in_template = rng.random() < 0.85
        system = rng.choice(sorted(fits)) if in_template else rng.choice(SYSTEMS)
        level = rng.choices(("read", "write", "admin"), weights=(0.35, 0.35, 0.3))[0]
        employee_type = rng.choices([name for name, _ in EMPLOYEE_TYPES], weights=[w for _, w in EMPLOYEE_TYPES])[0]
        privileged_count = rng.choice((1, 1, 1, 2, 2, 3, 4))
        month = rng.randrange(MONTHS)
        decided_at = begin + timedelta(days=30 * month + rng.randrange(30), hours=rng.randrange(9, 19))
        approver = rng.randrange(APPROVERS)

        logit = SENSITIVITY_WEIGHT[SYSTEM_SENSITIVITY[system]] + LEVEL_WEIGHT[level]
        logit += 1.4 if system in fits else -0.6
        logit += 0.0 if in_template else -2.6
        logit += {"regular": 0.0, "contractor": -1.3, "intern": -2.2}[employee_type]
        logit += -0.8 if privileged_count > 2 and level == "admin" else 0.0
        logit += DEPARTMENT_STRICTNESS[profile["department"]] + approver_bias[approver]
        logit += -0.9 if month >= DRIFT_MONTH and level == "admin" else 0.0
        approved = rng.random() < 1.0 / (1.0 + math.exp(-logit))

        history.append(
            {
                "system": system,
                "level": level,
                "role": role,
                "department": profile["department"],
                "employee_type": employee_type,
                "in_role_template": in_template,
                "privileged_count": privileged_count,
                "approver_id": f"approver-{approver:02d}",
                "decided_at": decided_at.isoformat(),
                "approved": approved,
            }
        )
    history.sort(key=lambda row: row["decided_at"])
    return history
