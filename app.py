"""The Chalice application: registers the blueprints and middleware, nothing else."""

from chalice import Chalice

from functions.api.agents import blueprint as agents_api
from functions.api.approvals import blueprint as approvals_api
from functions.api.audit import blueprint as audit_api
from functions.api.customers import blueprint as customers_api
from functions.api.tickets import blueprint as tickets_api
from functions.api.webhooks import blueprint as webhooks_api
from functions.api.workflows import blueprint as workflows_api
from functions.consumers.escalations import blueprint as escalations_consumer
from functions.consumers.escalations import handle_escalations
from functions.consumers.intake import blueprint as intake_consumer
from functions.consumers.insights import blueprint as insights_consumer
from functions.consumers.insights import handle_insights
from functions.consumers.intake import handle_intake
from functions.consumers.partner_events import blueprint as partner_events_consumer
from functions.consumers.partner_events import handle_partner_events
from functions.consumers.webhooks import blueprint as webhooks_consumer
from functions.consumers.webhooks import deliver_webhooks
from functions.consumers.workflow_worker import blueprint as workflow_worker_consumer
from functions.consumers.workflow_worker import handle_workflow_tasks
from functions.jobs.audit_anchor import anchor_audit_chains
from functions.jobs.audit_anchor import blueprint as audit_anchor_job
from functions.jobs.insights import blueprint as insight_jobs
from functions.jobs.insights import publish_kpi_metrics, request_nps_surveys
from functions.jobs.scheduled import blueprint as scheduled_jobs
from functions.jobs.scheduled import relay_outbox
from functions.jobs.sla import blueprint as sla_jobs
from functions.jobs.sla import predict_sla_breaches
from functions.observability import event_middleware, http_middleware

app = Chalice(app_name="servicedesk")
app.register_middleware(http_middleware, "http")
app.register_middleware(event_middleware, "sqs")
app.register_middleware(event_middleware, "scheduled")
app.register_blueprint(tickets_api)
app.register_blueprint(audit_api)
app.register_blueprint(intake_consumer)
app.register_blueprint(scheduled_jobs)
app.register_blueprint(audit_anchor_job)
app.register_blueprint(webhooks_api)
app.register_blueprint(webhooks_consumer)
app.register_blueprint(agents_api)
app.register_blueprint(sla_jobs)
app.register_blueprint(customers_api)
app.register_blueprint(insights_consumer)
app.register_blueprint(insight_jobs)
app.register_blueprint(workflows_api)
app.register_blueprint(approvals_api)
app.register_blueprint(workflow_worker_consumer)
app.register_blueprint(partner_events_consumer)
app.register_blueprint(escalations_consumer)

# Lambda entry points of the event functions. Chalice would point them at the blueprint
# modules, which never import this file, so the middleware above would not run. The packaged
# template (infra/functions.yaml) points them here instead.
__all__ = [
    "anchor_audit_chains",
    "app",
    "deliver_webhooks",
    "handle_escalations",
    "handle_insights",
    "handle_intake",
    "handle_partner_events",
    "handle_workflow_tasks",
    "predict_sla_breaches",
    "publish_kpi_metrics",
    "relay_outbox",
    "request_nps_surveys",
]
