"""Onboarding rules: role templates, the access plan, workflow ids and the compensation plan."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from functions.models.workflows import Employee, EmployeeType

# Access levels (read, write, admin) that need a manager's approval.
PRIVILEGED_LEVELS = frozenset({"admin"})


@dataclass(frozen=True)
class SystemAccess:
    system: str
    level: str

    @property
    def privileged(self) -> bool:
        return self.level in PRIVILEGED_LEVELS


@dataclass(frozen=True)
class RoleTemplate:
    """Day-one provisioning of a role: system access, a device model and training courses."""

    role: str
    access: tuple[SystemAccess, ...]
    device_model: str
    training_courses: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessPlan:
    standard: tuple[SystemAccess, ...]
    privileged: tuple[SystemAccess, ...]

    @property
    def approval_needed(self) -> bool:
        return bool(self.privileged)


@dataclass(frozen=True)
class CompensationPlan:
    """Undo steps after a failure: access to revoke and a device to release."""

    revoke: tuple[str, ...] = ()
    release_device_id: str | None = None
    steps: tuple[str, ...] = field(default=())


def workflow_id_for(tenant_id: str, kind: str, subject_id: str) -> str:
    """Derive a workflow id from what it is about, so a repeated request maps to the same workflow.

    The id is also the execution name, which Step Functions keeps unique per state machine.
    """
    digest = hashlib.sha256(f"{tenant_id}\x1f{kind}\x1f{subject_id}".encode()).hexdigest()
    return f"wf-{kind[:3]}-{digest[:32]}"


def purchase_request_id_for(workflow_id: str) -> str:
    return f"pr-{workflow_id[7:]}"


def enrolment_id_for(workflow_id: str) -> str:
    return f"en-{workflow_id[7:]}"


def approval_id_for(workflow_id: str) -> str:
    return f"ap-{workflow_id[7:]}"


def plan_access(template: RoleTemplate, employee: Employee) -> AccessPlan:
    """Split a role's access into what is granted at once and what waits for approval.

    Interns never receive privileged access, so their privileged entries are dropped here.
    """
    standard = tuple(access for access in template.access if not access.privileged)
    privileged = tuple(access for access in template.access if access.privileged)
    if employee.employee_type == EmployeeType.INTERN:
        privileged = ()
    return AccessPlan(standard=standard, privileged=privileged)


def compensation_plan(granted_systems: list[str], reserved_device_id: str | None) -> CompensationPlan:
    """Undo in the reverse order of doing: access first (it is the larger risk), then the device."""
    steps = []
    if granted_systems:
        steps.append("revoke_access")
    if reserved_device_id:
        steps.append("release_device")
    return CompensationPlan(
        revoke=tuple(sorted(granted_systems)), release_device_id=reserved_device_id, steps=tuple(steps)
    )
