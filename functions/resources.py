"""Names of the AWS resources that handlers are bound to when the app is deployed.

Chalice reads queue names and schedules when the app is imported, before settings exist, so
they are constants here and in infra/resources.yaml, and a template test keeps both in step.
"""

INTAKE_QUEUE_NAME = "servicedesk-intake"
INTAKE_DEAD_LETTER_QUEUE_NAME = "servicedesk-intake-dlq"
INTAKE_BATCH_SIZE = 10
OUTBOX_RELAY_SCHEDULE_MINUTES = 1
# How often each tenant's audit chain head is copied to the anchor bucket: a rewrite of the
# audit table that happens between two runs is the one that an anchor cannot show.
AUDIT_ANCHOR_SCHEDULE_MINUTES = 15
WEBHOOKS_QUEUE_NAME = "servicedesk-webhooks"
WEBHOOKS_DEAD_LETTER_QUEUE_NAME = "servicedesk-webhooks-dlq"
# Each record makes at most one HTTP attempt of at most WEBHOOK_TIMEOUT_SECONDS (10 s), so a
# batch of five fits in the function's 60 s timeout.
WEBHOOKS_BATCH_SIZE = 5
INSIGHTS_QUEUE_NAME = "servicedesk-insights"
INSIGHTS_DEAD_LETTER_QUEUE_NAME = "servicedesk-insights-dlq"
INSIGHTS_BATCH_SIZE = 10
# NPS surveys are opened once a quarter per customer; a daily run picks up new customers.
NPS_SURVEY_SCHEDULE_HOURS = 24
KPI_METRICS_SCHEDULE_MINUTES = 5
WORKFLOW_WORKER_QUEUE_NAME = "servicedesk-workflow-worker"
PARTNER_EVENTS_QUEUE_NAME = "servicedesk-partner-events"
ESCALATIONS_QUEUE_NAME = "servicedesk-escalations"
# Each worker step makes a few DynamoDB writes and at most one Step Functions call.
WORKFLOW_BATCH_SIZE = 10
# The breach job runs this often; SLA_ESCALATION_LEAD_MINUTES (default 60) must exceed it, or a
# breach could fall between two runs.
SLA_BREACH_SCHEDULE_MINUTES = 5
