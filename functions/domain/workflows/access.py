"""Role rules of the workflow and approval routes.

| role | workflows | approvals |
|---|---|---|
| requester | reads the onboardings they requested | lists and decides those assigned to them |
| agent | reads every workflow of the tenant | lists and decides those assigned to them |
| supervisor, admin | starts, reads and cancels every workflow | lists anyone's; decides and overrules any |
| partner, system | no access | no access |
"""

from __future__ import annotations

from functions.domain.access import Denial
from functions.models.caller import Caller, Role
from functions.models.workflows import Approval, Workflow

MANAGING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
PEOPLE_ROLES = frozenset({Role.REQUESTER, Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


def start_denial(caller: Caller) -> Denial | None:
    if caller.role in MANAGING_ROLES:
        return None
    return Denial("workflow_start_not_allowed", "only supervisors and admins start workflows through the API.")


def read_denial(caller: Caller, workflow: Workflow) -> Denial | None:
    if caller.role in MANAGING_ROLES or caller.role == Role.AGENT:
        return None
    if caller.role == Role.REQUESTER and workflow.outputs.get("requester_id") == caller.user_id:
        return None
    if caller.role == Role.REQUESTER:
        return Denial("not_own_workflow", "", hidden=True)
    return Denial("role_without_workflow_access", f"the role {caller.role.value} has no access to workflows.")


def cancel_denial(caller: Caller) -> Denial | None:
    if caller.role in MANAGING_ROLES:
        return None
    return Denial("workflow_cancel_not_allowed", "only supervisors and admins cancel workflows.")


def list_approvals_denial(caller: Caller, assignee_id: str) -> Denial | None:
    if caller.role in MANAGING_ROLES:
        return None
    if caller.role in PEOPLE_ROLES and assignee_id == caller.user_id:
        return None
    if caller.role in PEOPLE_ROLES:
        return Denial("not_own_approvals", "list your own approvals: set assignee to your user id.")
    return Denial("role_without_approval_access", f"the role {caller.role.value} has no access to approvals.")


def decide_denial(caller: Caller, approval: Approval) -> Denial | None:
    if caller.role in MANAGING_ROLES:
        return None
    if caller.role in PEOPLE_ROLES and approval.assignee_id == caller.user_id:
        return None
    if caller.role in PEOPLE_ROLES:
        return Denial("not_assignee", "only the current assignee, a supervisor or an admin decides this approval.")
    return Denial("role_without_approval_access", f"the role {caller.role.value} has no access to approvals.")
