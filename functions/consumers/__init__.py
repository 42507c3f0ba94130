"""SQS queue consumers."""
