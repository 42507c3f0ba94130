"""Composition root: builds the domain services from settings and AWS adapters, once per
container and on first use, so that importing a handler does no I/O."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from functions.adapters.agents_dynamodb import DynamoAgentRepository
from functions.adapters.audit import DynamoAuditLog
from functions.adapters.audit_anchors import S3AnchorStore
from functions.adapters.clients import client, reset_clients
from functions.adapters.dynamodb import SLA_SHARDS, DynamoTicketRepository
from functions.adapters.eventbridge import EventBridgePublisher
from functions.adapters.idempotency import IdempotentRunner
from functions.adapters.insights_dynamodb import DynamoInsightsRepository
from functions.adapters.insights_queue import SqsContinuationQueue
from functions.adapters.outbox import OutboxRelay
from functions.adapters.webhook_http import HttpWebhookSender
from functions.adapters.webhook_queue import SqsDeliveryQueue
from functions.adapters.webhooks_dynamodb import DynamoWebhookRepository
from functions.adapters.model_endpoints import InProcessEndpoint, SageMakerEndpoint
from functions.domain.agents import AgentService
from functions.domain.audit import AuditService
from functions.domain.breach import BreachMonitor, BreachSettings, HandlingTimePredictor
from functions.domain.audit_anchors import AnchorJob
from functions.domain.customers import CustomerService, CustomerSettings
from functions.domain.insight_processor import InsightProcessor
from functions.domain.escalation import EscalationPolicy
from functions.domain.ports import ModelEndpoint
from functions.domain.router import Router
from functions.domain.sentiment import SentimentAnalyser
from functions.domain.tickets import TicketService
from functions.domain.triage import TriageAnalyser
from functions.domain.webhook_urls import UrlPolicy
from functions.domain.webhooks import RetryPolicy, WebhookDispatcher, WebhookService
from functions.settings import Settings, get_settings


@lru_cache(maxsize=1)
def repository() -> DynamoTicketRepository:
    settings = get_settings()
    return DynamoTicketRepository(client("dynamodb"), settings.table_name, settings.event_source, audit=audit_log())


@lru_cache(maxsize=1)
def audit_log() -> DynamoAuditLog:
    settings = get_settings()
    return DynamoAuditLog(client("dynamodb"), settings.audit_table_name, max_attempts=settings.audit_max_attempts)


@lru_cache(maxsize=1)
def audit_service() -> AuditService:
    settings = get_settings()
    return AuditService(
        audit_log(),
        default_entries=settings.audit_verify_default_entries,
        max_entries=settings.audit_verify_max_entries,
        time_budget_seconds=settings.audit_verify_seconds,
        anchors=anchor_store(),
    )


@lru_cache(maxsize=1)
def anchor_store() -> S3AnchorStore | None:
    """Return the anchor store, or None when no anchor bucket is configured."""
    bucket = get_settings().audit_anchor_bucket
    return S3AnchorStore(client("s3"), bucket) if bucket else None


@lru_cache(maxsize=1)
def anchor_job() -> AnchorJob | None:
    store = anchor_store()
    if store is None:
        return None
    return AnchorJob(audit_log(), audit_log(), store, max_entries_per_tenant=get_settings().audit_anchor_max_entries)


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
        "resolution": settings.resolution_endpoint_name,
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
        router=router(),
    )


@lru_cache(maxsize=1)
def breach_monitor() -> BreachMonitor:
    settings = get_settings()
    endpoint = model_endpoint("resolution") if settings.resolution_model_enabled else None
    return BreachMonitor(
        tickets=repository(),
        predictor=HandlingTimePredictor(endpoint),
        publisher=publisher(),
        settings=BreachSettings(
            shards=SLA_SHARDS,
            lookahead=timedelta(hours=settings.sla_lookahead_hours),
            escalation_lead=timedelta(minutes=settings.sla_escalation_lead_minutes),
            max_tickets=settings.sla_breach_max_tickets,
            senior_queue=settings.senior_queue,
        ),
        router=router(),
    )


@lru_cache(maxsize=1)
def agent_repository() -> DynamoAgentRepository:
    return DynamoAgentRepository(client("dynamodb"), get_settings().table_name, audit=audit_log())


@lru_cache(maxsize=1)
def router() -> Router:
    return Router(repository(), agent_repository(), publisher())


@lru_cache(maxsize=1)
def agent_service() -> AgentService:
    return AgentService(agent_repository(), router())


@lru_cache(maxsize=1)
def idempotent_runner() -> IdempotentRunner:
    settings = get_settings()
    return IdempotentRunner(client("dynamodb"), settings.idempotency_table_name, settings.idempotency_expiry_seconds)


@lru_cache(maxsize=1)
def outbox_relay() -> OutboxRelay:
    return OutboxRelay(repository(), publisher(), get_settings().event_bus_name)


@lru_cache(maxsize=1)
def webhook_repository() -> DynamoWebhookRepository:
    settings = get_settings()
    return DynamoWebhookRepository(
        client("dynamodb"),
        settings.table_name,
        settings.webhook_event_source,
        timedelta(days=settings.webhook_delivery_retention_days),
        audit=audit_log(),
    )


@lru_cache(maxsize=1)
def webhook_service() -> WebhookService:
    settings = get_settings()
    return WebhookService(
        repository=webhook_repository(),
        url_policy=UrlPolicy(allow_local=settings.webhook_allow_local_urls),
        max_per_tenant=settings.webhook_max_per_tenant,
        secret_grace=timedelta(seconds=settings.webhook_secret_grace_seconds),
    )


@lru_cache(maxsize=1)
def webhook_dispatcher() -> WebhookDispatcher:
    settings = get_settings()
    return WebhookDispatcher(
        repository=webhook_repository(),
        queue=SqsDeliveryQueue(client("sqs"), settings.webhooks_queue_url),
        sender=HttpWebhookSender(settings.webhook_connect_timeout_seconds, settings.webhook_timeout_seconds),
        publisher=EventBridgePublisher(client("events"), settings.event_bus_name, settings.webhook_event_source),
        retry=RetryPolicy(
            delays_seconds=settings.webhook_retry_delays_seconds,
            max_consecutive_failures=settings.webhook_max_consecutive_failures,
        ),
        url_policy=UrlPolicy(allow_local=settings.webhook_allow_local_urls),
        event_source=settings.event_source,
    )


@lru_cache(maxsize=1)
def insights_repository() -> DynamoInsightsRepository:
    settings = get_settings()
    return DynamoInsightsRepository(client("dynamodb"), settings.table_name, settings.customer_event_source, audit=audit_log())


def customer_publisher() -> EventBridgePublisher:
    settings = get_settings()
    return EventBridgePublisher(client("events"), settings.event_bus_name, settings.customer_event_source)


@lru_cache(maxsize=1)
def customer_service() -> CustomerService:
    settings = get_settings()
    return CustomerService(
        repository=insights_repository(),
        tickets=repository(),
        publisher=customer_publisher(),
        settings=CustomerSettings(time_zone=settings.kpi_time_zone, follow_up_queue=settings.follow_up_queue),
    )


@lru_cache(maxsize=1)
def insight_processor() -> InsightProcessor:
    settings = get_settings()
    return InsightProcessor(
        repository=insights_repository(),
        tickets=repository(),
        publisher=customer_publisher(),
        continuation=SqsContinuationQueue(client("sqs"), settings.insights_queue_url),
        time_zone=settings.kpi_time_zone,
        fan_out_batch=settings.notice_fan_out_batch,
    )


_CACHED = (
    repository,
    agent_repository,
    router,
    agent_service,
    breach_monitor,
    audit_log,
    audit_service,
    anchor_store,
    anchor_job,
    publisher,
    model_endpoint,
    ticket_service,
    idempotent_runner,
    outbox_relay,
    webhook_repository,
    webhook_service,
    webhook_dispatcher,
    insights_repository,
    customer_service,
    insight_processor,
)


def reset() -> None:
    """Drop every cached setting, client and service; tests call this between environments."""
    for cached in _CACHED:
        cached.cache_clear()
    get_settings.cache_clear()
    reset_clients()
    # Imported here because functions/workflow_wiring.py builds on this module.
    from functions import workflow_wiring

    workflow_wiring.reset()
