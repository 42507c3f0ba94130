"""Role templates, an inventory and approvers for onboarding on the local stack, written for this project.

With them, an `EmployeeHired` event (source `partner.hr`) on the local bus onboards the employee
end to end. docs/workflows.md describes the workflow, and the README shows the command.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from functions import workflow_wiring
from functions.domain.workflows.approvals import Person
from functions.domain.workflows.onboarding import RoleTemplate, SystemAccess

WORKFLOW_SAMPLE = Path(__file__).with_name("workflow_sample.json")


def seed_workflows(sample_file: Path = WORKFLOW_SAMPLE) -> dict[str, int]:
    """Store the sample role templates, devices and approvers; return how many of each."""
    data = json.loads(sample_file.read_text("utf-8"))
    tenant_id = data["tenant_id"]
    repository = workflow_wiring.workflow_repository()

    for template in data["role_templates"]:
        repository.put_role_template(
            tenant_id,
            RoleTemplate(
                role=template["role"],
                access=tuple(SystemAccess(entry["system"], entry["level"]) for entry in template["access"]),
                device_model=template["device_model"],
                training_courses=tuple(template["training_courses"]),
            ),
        )
    devices = 0
    for model, count in data["inventory"].items():
        for index in range(1, count + 1):
            repository.put_device(tenant_id, model, f"{model}-{index:03d}")
            devices += 1
    today = datetime.now(UTC).date()
    for person in data["people"]:
        away_days = person.get("away_days")
        repository.put_person(
            tenant_id,
            Person(
                user_id=person["user_id"],
                manager_id=person.get("manager_id"),
                away_until=today + timedelta(days=away_days) if away_days else None,
                delegate_id=person.get("delegate_id"),
            ),
        )
    return {"role templates": len(data["role_templates"]), "devices": devices, "approvers": len(data["people"])}
