"""Process automation on Step Functions: onboarding, approvals, decisions and escalation."""
