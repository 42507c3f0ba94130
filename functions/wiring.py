"""Composition root: builds the domain services from settings and AWS adapters, once per
container and on first use, so that importing a handler does no I/O."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from functions.adapters.clients import client, reset_clients
from functions.adapters.dynamodb import DynamoTicketRepository
from functions.adapters.eventbridge import EventBridgePublisher
from functions.adapters.idempotency import IdempotentRunner
from functions.adapters.outbox import OutboxRelay
from functions.adapters.model_endpoints import InProcessEndpoint, SageMakerEndpoint
from functions.domain.escalation import EscalationPolicy
from functions.domain.ports import ModelEndpoint
from functions.domain.sentiment import SentimentAnalyser
from functions.domain.tickets import TicketService
from functions.domain.triage import TriageAnalyser
from functions.settings import Settings, get_settings


@lru_cache(maxsize=1)
def repository() -> DynamoTicketRepository:
    settings = get_settings()
    return DynamoTicketRepository(client("dynamodb"), settings.table_name, settings.event_source)


@lru_cache(maxsize=1)
def publisher() -> EventBridgePublisher:
    settings = get_settings()
    return EventBridgePublisher(client("events"), settings.event_bus_name, settings.event_source)


@lru_cache(maxsize=None)
def model_endpoint(name: str) -> ModelEndpoint:
    """Return the endpoint of a model: SageMaker when deployed, in-process when local."""
    settings = get_settings()
    if settings.model_backend == "local":
        return InProcessEndpoint(name, Path(settings.model_artifacts_dir) / name)
    endpoint_name = {
        "sentiment": settings.sentiment_endpoint_name,
        "triage": settings.triage_endpoint_name,
    }.get(name, f"servicedesk-{name}")
    return SageMakerEndpoint(client("sagemaker-runtime"), endpoint_name, name)


def escalation_policy(settings: Settings) -> EscalationPolicy:
    return EscalationPolicy(
        negative_threshold=settings.negative_threshold,
        tier_negative_threshold=settings.tier_negative_threshold,
        escalating_tiers=frozenset(tier.lower() for tier in settings.escalating_tiers),
        senior_queue=settings.senior_queue,
    )


@lru_cache(maxsize=1)
def ticket_service() -> TicketService:
    settings = get_settings()
    return TicketService(
        repository=repository(),
        publisher=publisher(),
        sentiment=SentimentAnalyser(model_endpoint("sentiment")),
        policy=escalation_policy(settings),
        default_queue=settings.default_queue,
        triage=TriageAnalyser(model_endpoint("triage")) if settings.triage_enabled else None,
    )


@lru_cache(maxsize=1)
def idempotent_runner() -> IdempotentRunner:
    settings = get_settings()
    return IdempotentRunner(client("dynamodb"), settings.idempotency_table_name, settings.idempotency_expiry_seconds)


@lru_cache(maxsize=1)
def outbox_relay() -> OutboxRelay:
    return OutboxRelay(repository(), publisher(), get_settings().event_bus_name)


_CACHED = (repository, publisher, model_endpoint, ticket_service, idempotent_runner, outbox_relay)


def reset() -> None:
    """Drop every cached setting, client and service; tests call this between environments."""
    for cached in _CACHED:
        cached.cache_clear()
    get_settings.cache_clear()
    reset_clients()
