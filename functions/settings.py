"""Function settings, read from environment variables and validated at start-up."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings shared by every function; each field maps to an upper-case variable."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    table_name: str = Field("servicedesk", min_length=3, max_length=255)
    idempotency_table_name: str = Field("servicedesk-idempotency", min_length=3, max_length=255)
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

    # Request limits.
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=6 * 1024 * 1024)
    max_page_size: int = Field(100, ge=1, le=1000)
    default_page_size: int = Field(25, ge=1, le=1000)

    # How callers are identified until a real authorizer is configured. "headers" trusts the
    # X-Tenant-Id, X-User-Id and X-Role request headers and must only be used locally.
    caller_source: Literal["authorizer", "headers"] = "authorizer"

    idempotency_expiry_seconds: int = Field(24 * 3600, ge=60)
    auto_close_after_days: int = Field(7, ge=1, le=365)

    @model_validator(mode="after")
    def _check_page_sizes(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this container, read from the environment on first use."""
    return Settings()
