"""Role rules of the customer, known-problem, survey, follow-up and KPI routes.

| route | roles |
|---|---|
| PUT /customers/{id} | admin, supervisor; partner systems (CRM) through PUT /partner/customers/{id} |
| GET /customers/{id}, GET /customers/{id}/360 | agent, supervisor, admin |
| POST /known-problems, GET /known-problems/{id} | agent, supervisor, admin |
| GET /surveys/{id}, POST /surveys/{id}/answer | the requester the survey was sent to (supervisors and admins may read) |
| GET /follow-ups, POST /follow-ups/{id}/complete | supervisor, admin |
| GET /kpis | supervisor, admin; agents for one of their queues |

Like functions/domain/access.py, each rule returns a Denial or None and access.enforce raises it.
"""

from __future__ import annotations

from functions.domain.access import STAFF_ROLES, TENANT_WIDE_ROLES, Denial
from functions.models.caller import Caller, Role
from functions.models.customers import Survey

PROFILE_WRITERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.PARTNER})


def profile_write_denial(caller: Caller) -> Denial | None:
    if caller.role in PROFILE_WRITERS:
        return None
    return Denial("profile_write_not_allowed", "only admins, supervisors and partner CRM systems change customer profiles.")


def staff_denial(caller: Caller, activity: str) -> Denial | None:
    if caller.role in STAFF_ROLES:
        return None
    return Denial("staff_only", f"only agents, supervisors and admins {activity}.")


def supervisor_denial(caller: Caller, activity: str) -> Denial | None:
    if caller.role in TENANT_WIDE_ROLES:
        return None
    return Denial("supervisor_only", f"only supervisors and admins {activity}.")


def survey_read_denial(caller: Caller, survey: Survey) -> Denial | None:
    if caller.role in TENANT_WIDE_ROLES:
        return None
    if caller.role == Role.REQUESTER and survey.requester_id == caller.user_id:
        return None
    return Denial("not_own_survey", "", hidden=True)


def survey_answer_denial(caller: Caller, survey: Survey) -> Denial | None:
    if caller.role == Role.REQUESTER and survey.requester_id == caller.user_id:
        return None
    if caller.role in TENANT_WIDE_ROLES:
        return Denial("not_survey_requester", "only the requester the survey was sent to may answer it.")
    return Denial("not_own_survey", "", hidden=True)


def kpi_denial(caller: Caller, queue: str | None) -> Denial | None:
    if caller.role in TENANT_WIDE_ROLES:
        return None
    if caller.role == Role.AGENT:
        if queue is not None and queue in caller.queues:
            return None
        yours = ", ".join(sorted(caller.queues)) or "none"
        return Denial("outside_agent_queues", f"agents read the KPIs of one of their queues: add queue=<one of: {yours}>.")
    return Denial("kpis_not_allowed", "only supervisors, admins and agents (for their queues) read KPIs.")
