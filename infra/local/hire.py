"""`python -m infra.local.hire`: publish an HR `EmployeeHired` event to the local stack's bus.

    python -m infra.local.hire --moto-port 5000 --employee-id emp-1 --role engineer --manager kim.manager

The partner events consumer starts the onboarding; follow it with GET /workflows/{workflow_id}
(the id is printed) or on the parent ticket.
"""

from __future__ import annotations

import argparse
import json
import sys

from functions.domain.workflows.onboarding import workflow_id_for
from infra.local.lambda_runtime import REGION


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.hire", description=__doc__.split("\n\n")[0])
    parser.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server on 127.0.0.1")
    parser.add_argument("--tenant", default="demo", help="tenant id (the local sample data uses demo)")
    parser.add_argument("--employee-id", required=True, help="HR's id of the new employee")
    parser.add_argument("--role", default="engineer", help="role template: engineer, finance-analyst or sales-rep")
    parser.add_argument("--department", default="engineering", help="department label")
    parser.add_argument("--employee-type", default="regular", choices=("regular", "contractor", "intern"))
    parser.add_argument("--manager", default="kim.manager", help="user id of the approving manager")
    arguments = parser.parse_args(argv)

    import boto3

    events = boto3.client(
        "events",
        endpoint_url=f"http://127.0.0.1:{arguments.moto_port}",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    detail = {
        "tenant_id": arguments.tenant,
        "hire_id": f"hire-{arguments.employee_id}",
        "employee": {
            "employee_id": arguments.employee_id,
            "role": arguments.role,
            "department": arguments.department,
            "employee_type": arguments.employee_type,
            "manager_id": arguments.manager,
        },
    }
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = events.put_events(
            Entries=[
                {"EventBusName": "servicedesk", "Source": "partner.hr", "DetailType": "EmployeeHired", "Detail": json.dumps(detail)}
            ]
        )
    except (BotoCoreError, ClientError) as error:
        print(
            f"publishing failed: {error}. Is the local stack running with --moto-port {arguments.moto_port}? "
            "Start it with `make run`, or pass the --moto-port it was started with.",
            file=sys.stderr,
        )
        return 1
    if response["FailedEntryCount"]:
        print(f"publishing failed: {response['Entries']}", file=sys.stderr)
        return 1
    print(f"published EmployeeHired; workflow id {workflow_id_for(arguments.tenant, 'onboarding', arguments.employee_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
