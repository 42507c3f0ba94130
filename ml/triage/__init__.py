"""Ticket triage: text to category and queue, abstaining when unsure (see `ml.triage.model`)."""
