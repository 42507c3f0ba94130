"""The product's own decision history as training rows, and its export from DynamoDB.

Every decided approval is recorded (functions/adapters/workflows_dynamodb.py, items under
`TENANT#t#DECISIONS`) with its subject, the policy's automatic outcome and the final status.
The final status is the label: a person's decision, or a person's overrule of the policy.
Expired approvals carry no decision and are left out.

    python -m ml.decisions.history --tenant demo --output decisions.jsonl [--table servicedesk]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

LABELLED_STATUSES = {"approved": True, "rejected": False}


def rows_from_recorded(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn recorded decisions into training rows, one per requested access; the last record of an approval wins."""
    latest: dict[str, dict[str, Any]] = {}
    for decision in sorted(decisions, key=lambda item: item["decided_at"]):
        latest[decision["approval_id"]] = decision
    rows = []
    for decision in latest.values():
        if decision["status"] not in LABELLED_STATUSES:
            continue
        subject = decision["subject"]
        access = subject.get("access", [])
        for item in access:
            rows.append(
                {
                    "system": item["system"],
                    "level": item["level"],
                    "role": subject["role"],
                    "department": subject["department"],
                    "employee_type": subject["employee_type"],
                    "in_role_template": True,
                    "privileged_count": len(access),
                    "decided_at": decision["decided_at"],
                    "approved": LABELLED_STATUSES[decision["status"]],
                    "overruled": bool(decision.get("overruled")),
                }
            )
    return rows


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Read training rows from a JSON Lines file written by this module."""
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.decisions.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenant", required=True, help="tenant whose recorded decisions are exported")
    parser.add_argument("--output", type=Path, required=True, help="JSON Lines file of training rows")
    parser.add_argument("--table", default="servicedesk", help="DynamoDB table of the tickets and workflows")
    arguments = parser.parse_args(argv)

    import boto3

    from functions.adapters.workflows_dynamodb import DynamoWorkflowRepository

    decisions = DynamoWorkflowRepository(boto3.client("dynamodb"), arguments.table).list_decisions(arguments.tenant)
    rows = rows_from_recorded(decisions)
    with arguments.output.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows from {len(decisions)} recorded decisions to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
