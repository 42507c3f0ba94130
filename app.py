"""The Chalice application: registers the blueprints and middleware, nothing else."""

from chalice import Chalice

from functions.api.audit import blueprint as audit_api
from functions.api.tickets import blueprint as tickets_api
from functions.api.webhooks import blueprint as webhooks_api
from functions.consumers.intake import blueprint as intake_consumer
from functions.consumers.intake import handle_intake
from functions.consumers.webhooks import blueprint as webhooks_consumer
from functions.consumers.webhooks import deliver_webhooks
from functions.jobs.scheduled import blueprint as scheduled_jobs
from functions.jobs.scheduled import relay_outbox
from functions.observability import event_middleware, http_middleware

app = Chalice(app_name="servicedesk")
app.register_middleware(http_middleware, "http")
app.register_middleware(event_middleware, "sqs")
app.register_middleware(event_middleware, "scheduled")
app.register_blueprint(tickets_api)
app.register_blueprint(audit_api)
app.register_blueprint(intake_consumer)
app.register_blueprint(scheduled_jobs)
app.register_blueprint(webhooks_api)
app.register_blueprint(webhooks_consumer)

# Lambda entry points of the event functions. Chalice would point them at the blueprint
# modules, which never import this file, so the middleware above would not run. The packaged
# template (infra/functions.yaml) points them here instead.
__all__ = ["app", "deliver_webhooks", "handle_intake", "relay_outbox"]
