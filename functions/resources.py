"""Names of the AWS resources that handlers are bound to when the app is deployed.

Chalice reads queue names and schedules when the app is imported, before settings exist, so
they are constants here and in infra/resources.yaml, and a template test keeps both in step.
"""

INTAKE_QUEUE_NAME = "servicedesk-intake"
INTAKE_DEAD_LETTER_QUEUE_NAME = "servicedesk-intake-dlq"
INTAKE_BATCH_SIZE = 10
OUTBOX_RELAY_SCHEDULE_MINUTES = 1
WEBHOOKS_QUEUE_NAME = "servicedesk-webhooks"
WEBHOOKS_DEAD_LETTER_QUEUE_NAME = "servicedesk-webhooks-dlq"
# Each record makes at most one HTTP attempt of at most WEBHOOK_TIMEOUT_SECONDS (10 s), so a
# batch of five fits in the function's 60 s timeout.
WEBHOOKS_BATCH_SIZE = 5
