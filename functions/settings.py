"""Function settings, read from environment variables and validated at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# HMAC-SHA256 keys shorter than the hash output (32 bytes) weaken it (RFC 7518, section 3.2).
MIN_DEV_TOKEN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Settings shared by every function; each field maps to an upper-case variable."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    table_name: str = Field("servicedesk", min_length=3, max_length=255)
    idempotency_table_name: str = Field("servicedesk-idempotency", min_length=3, max_length=255)
    audit_table_name: str = Field("servicedesk-audit", min_length=3, max_length=255)
    event_bus_name: str = Field("servicedesk", min_length=1, max_length=256)
    event_source: str = "servicedesk.tickets"
    intake_queue_url: str = ""

    # "sagemaker" calls SageMaker runtime endpoints; "local" runs the model's inference.py
    # in this process, for the local stack and tests only.
    model_backend: Literal["sagemaker", "local"] = "sagemaker"
    sentiment_endpoint_name: str = "servicedesk-sentiment"
    triage_endpoint_name: str = "servicedesk-triage"
    # Routing new tickets by the triage model; without it they start in default_queue.
    triage_enabled: bool = True
    model_artifacts_dir: str = ".artifacts/models"
    model_timeout_seconds: float = Field(2.0, gt=0, le=25)

    # Escalation thresholds: a message escalates when its negative probability is at least
    # negative_threshold, or at least tier_negative_threshold for tiers in escalating_tiers.
    negative_threshold: float = Field(0.85, ge=0.0, le=1.0)
    tier_negative_threshold: float = Field(0.6, ge=0.0, le=1.0)
    escalating_tiers: frozenset[str] = frozenset({"enterprise", "vip"})
    senior_queue: str = Field("senior", min_length=1, max_length=64)
    default_queue: str = Field("general", min_length=1, max_length=64)

    # Outbound webhooks. webhook_allow_local_urls admits http:// and loopback endpoints and is
    # for local runs and tests only. Retry delays are nominal seconds after each failed attempt
    # (jittered by 20 %); a delivery is given up when they run out.
    webhooks_queue_url: str = ""
    webhook_event_source: str = "servicedesk.webhooks"
    webhook_allow_local_urls: bool = False
    webhook_max_per_tenant: int = Field(20, ge=1, le=1000)
    webhook_max_consecutive_failures: int = Field(10, ge=1, le=10_000)
    webhook_retry_delays_seconds: tuple[Annotated[int, Field(ge=1, le=7 * 24 * 3600)], ...] = Field(
        (30, 120, 600, 3600, 21600), max_length=20
    )
    webhook_connect_timeout_seconds: float = Field(3.0, gt=0, le=10)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=30)
    webhook_secret_grace_seconds: int = Field(24 * 3600, ge=0, le=30 * 24 * 3600)
    webhook_delivery_retention_days: int = Field(30, ge=1, le=365)

    # Request limits.
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=6 * 1024 * 1024)
    max_page_size: int = Field(100, ge=1, le=1000)
    default_page_size: int = Field(25, ge=1, le=1000)

    # How callers are identified. "authorizer" reads the claims that API Gateway's Cognito
    # authorizer verified. "dev_tokens" verifies HS256 development tokens signed with
    # dev_token_secret; the local stack uses it, and it is rejected inside Lambda.
    caller_source: Literal["authorizer", "dev_tokens"] = "authorizer"
    dev_token_secret: SecretStr | None = None
    dev_token_issuer: str = Field("servicedesk-local", min_length=1, max_length=128)

    # Audit log: attempts of one append when other writers of the tenant move the chain head
    # first, and the bounds of one GET /audit/verify call (entries and seconds), which keep a
    # call inside API Gateway's 29 s.
    audit_max_attempts: int = Field(10, ge=1, le=50)
    audit_verify_default_entries: int = Field(5000, ge=1, le=100_000)
    audit_verify_max_entries: int = Field(20_000, ge=1, le=100_000)
    audit_verify_seconds: float = Field(20.0, gt=0, le=25)
    # The S3 bucket (with Object Lock) that the anchoring job copies chain heads to. An empty
    # name turns anchoring and the anchor check of GET /audit/verify off. One run verifies at
    # most audit_anchor_max_entries new entries per tenant before it anchors the last of them.
    audit_anchor_bucket: str = Field("", max_length=63)
    audit_anchor_max_entries: int = Field(5000, ge=1, le=100_000)

    # Workflows on Step Functions (docs/workflows.md). Approvals and escalation levels wait
    # this long for a person before escalating; tests and the local stack shorten them.
    workflow_worker_queue_url: str = ""
    workflow_event_source: str = "servicedesk.workflows"
    onboarding_state_machine_arn: str = ""
    approval_state_machine_arn: str = ""
    escalation_state_machine_arn: str = ""
    approval_timeout_seconds: int = Field(2 * 24 * 3600, ge=1, le=365 * 24 * 3600)
    escalation_ack_timeout_seconds: int = Field(15 * 60, ge=1, le=7 * 24 * 3600)
    decisions_endpoint_name: str = "servicedesk-decisions"
    # Approve probability the decision model needs before a low-risk request is approved automatically.
    decision_approve_threshold: float = Field(0.9, ge=0.5, le=1.0)

    # SLA breach job: clocks due within sla_lookahead_hours are forecast on each run, and a
    # ticket is escalated once its forecast breach is at most sla_escalation_lead_minutes away.
    # sla_breach_max_tickets bounds one run; the rest wait for the next.
    sla_lookahead_hours: float = Field(24.0, gt=0, le=24 * 30)
    sla_escalation_lead_minutes: int = Field(60, ge=5, le=7 * 24 * 60)
    sla_breach_max_tickets: int = Field(2000, ge=4, le=100_000)
    # Predicted handling time from the resolution model; without it the per-priority medians apply.
    resolution_model_enabled: bool = True
    resolution_endpoint_name: str = "servicedesk-resolution"

    idempotency_expiry_seconds: int = Field(24 * 3600, ge=60)
    auto_close_after_days: int = Field(7, ge=1, le=365)

    # Customer insights: the queue of the insights consumer, the source of customer events,
    # the time zone whose calendar days the KPI counters use, the queue of follow-up tasks
    # opened by low survey scores, and the customers notified per message of a known problem.
    insights_queue_url: str = ""
    customer_event_source: str = "servicedesk.customers"
    kpi_time_zone: str = Field("Asia/Seoul", min_length=1, max_length=64)
    follow_up_queue: str = Field("supervisor-follow-up", min_length=1, max_length=64)
    notice_fan_out_batch: int = Field(100, ge=1, le=1000)

    @field_validator("kpi_time_zone")
    @classmethod
    def _check_kpi_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"KPI_TIME_ZONE {value!r} is not an IANA time zone; use a name such as Asia/Seoul") from error
        return value

    @model_validator(mode="after")
    def _check_page_sizes(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")
        return self

    @model_validator(mode="after")
    def _check_audit_verify_entries(self) -> Settings:
        if self.audit_verify_default_entries > self.audit_verify_max_entries:
            raise ValueError("audit_verify_default_entries must not exceed audit_verify_max_entries")
        return self

    @model_validator(mode="after")
    def _check_dev_tokens(self) -> Settings:
        if self.caller_source != "dev_tokens":
            return self
        if os.environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_"):
            raise ValueError(
                "CALLER_SOURCE=dev_tokens is for the local stack and cannot run inside Lambda: "
                "set CALLER_SOURCE=authorizer"
            )
        secret = self.dev_token_secret.get_secret_value() if self.dev_token_secret else ""
        if len(secret.encode("utf-8")) < MIN_DEV_TOKEN_SECRET_BYTES:
            raise ValueError(
                f"CALLER_SOURCE=dev_tokens needs DEV_TOKEN_SECRET of at least {MIN_DEV_TOKEN_SECRET_BYTES} "
                "bytes; the local stack generates one at start"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this container, read from the environment on first use."""
    return Settings()
