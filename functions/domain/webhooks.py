"""Webhook use cases: tenants register HTTPS endpoints, and domain events are signed and POSTed to them.

Delivery is at least once. An event on the webhooks queue fans out into one delivery message per
subscription. Each delivery message makes one HTTP attempt, and a failed attempt puts a new
message on the queue with a delay from the retry schedule. Receivers drop repeats by the
Webhook-Id header, which is the event's id.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import ValidationError

from functions.domain.audit import audit_timestamp
from functions.domain.errors import DependencyError, ForbiddenError, InvalidInputError
from functions.domain.ids import new_id
from functions.domain.ports import Page
from functions.domain.webhook_signing import delivery_headers, new_signing_secret
from functions.domain.webhook_urls import UrlPolicy
from functions.models.audit import AuditChange, AuditRecord
from functions.models.caller import Caller, Role
from functions.models.events import EVENT_TYPES, Actor
from functions.models.webhooks import (
    CreateWebhookRequest,
    DeliveryAttempt,
    DeliveryMessage,
    DeliveryOutcome,
    SecretRotated,
    StoredWebhook,
    Webhook,
    WebhookCreated,
    WebhookDisabled,
)

logger = logging.getLogger(f"servicedesk.{__name__}")

# Roles that may manage a tenant's webhooks. A webhook receives every event of the tenant, so only
# the roles that may read every ticket of the tenant qualify.
MANAGING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})
# SQS delays a message by at most 15 minutes; longer waits take several hops.
MAX_QUEUE_DELAY_SECONDS = 900
_EVENT_MODELS = {model.DETAIL_TYPE: model for model in EVENT_TYPES}
# The actor of the audit entry written when repeated failures disable a subscription.
DISPATCHER_ACTOR = Actor(user_id="webhook-dispatcher", role=Role.SYSTEM)


# Ports.


@dataclass(frozen=True)
class SendResult:
    """Outcome of one HTTP attempt: a status code, or an error when no response arrived."""

    status_code: int | None
    latency_ms: int
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    def failure_reason(self) -> str | None:
        if self.succeeded:
            return None
        return self.error or f"HTTP status {self.status_code}"


class WebhookSender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes, policy: UrlPolicy) -> SendResult:
        """POST the body, connecting only to addresses the policy allows.

        Network faults, timeouts and blocked addresses come back as a SendResult with `error` set.
        """


class DeliveryQueue(Protocol):
    def send(self, messages: Sequence[tuple[DeliveryMessage, int]]) -> None:
        """Queue (message, delay in seconds) pairs; raise DependencyError when any was not queued."""


class WebhookEventPublisher(Protocol):
    def publish(self, events: Sequence[WebhookDisabled]) -> None:
        """Publish the events; raise DependencyError when any of them failed."""


class WebhookRepository(Protocol):
    # Every configuration change takes the audit records that describe it and appends them to
    # the tenant's audit chain in the same write, so a change and its entry commit together.

    def create(self, webhook: StoredWebhook, max_per_tenant: int, audit: Sequence[AuditRecord]) -> None:
        """Store a new subscription; raise LimitExceededError when the tenant has `max_per_tenant`."""

    def get(self, tenant_id: str, webhook_id: str) -> StoredWebhook:
        """Return the subscription or raise NotFoundError."""

    def find(self, tenant_id: str, webhook_id: str) -> StoredWebhook | None: ...

    def list_webhooks(self, tenant_id: str) -> list[StoredWebhook]: ...

    def delete(self, tenant_id: str, webhook_id: str, audit: Sequence[AuditRecord]) -> None:
        """Delete the subscription or raise NotFoundError."""

    def rotate_secret(
        self,
        tenant_id: str,
        webhook_id: str,
        secret: str,
        previous_expires_at: datetime,
        now: datetime,
        audit: Sequence[AuditRecord],
    ) -> None:
        """Make `secret` current and keep the old one until `previous_expires_at`; NotFoundError if absent."""

    def enable(self, tenant_id: str, webhook_id: str, now: datetime, audit: Sequence[AuditRecord]) -> StoredWebhook:
        """Enable the subscription, reset its failure count and return it; NotFoundError if absent."""

    def subscribers(self, tenant_id: str, event_type: str) -> list[StoredWebhook]:
        """Return the tenant's enabled subscriptions to an event type."""

    def record_attempt(self, tenant_id: str, attempt: DeliveryAttempt) -> None: ...

    def list_attempts(self, tenant_id: str, webhook_id: str, limit: int, cursor: str | None) -> Page:
        """Return a page of attempts, newest first."""

    def mark_delivered(self, tenant_id: str, webhook_id: str, now: datetime) -> None:
        """Reset the failure count; do nothing when the subscription is gone."""

    def count_failure(self, tenant_id: str, webhook_id: str, now: datetime, reason: str) -> int | None:
        """Add one consecutive failure and return the new count, or None when the subscription is gone."""

    def disable(
        self,
        tenant_id: str,
        webhook_id: str,
        now: datetime,
        reason: str,
        event: WebhookDisabled,
        audit: Sequence[AuditRecord],
    ) -> bool:
        """Disable an enabled subscription and store `event` in the outbox in one write.

        Returns False, writing nothing, when it is already disabled or gone.
        """

    def delete_outbox(self, events: Sequence[WebhookDisabled]) -> None: ...


# Retry schedule.


@dataclass(frozen=True)
class RetryPolicy:
    """Delays between attempts, with proportional jitter so retries of many events spread out.

    `delays_seconds[n]` is the nominal wait after failed attempt n + 1; once they run out the
    delivery is given up. `max_consecutive_failures` failed attempts in a row, across events,
    disable the subscription.
    """

    delays_seconds: tuple[int, ...]
    max_consecutive_failures: int
    jitter_ratio: float = 0.2

    def delay_after(self, attempt: int, uniform: Callable[[float, float], float]) -> float | None:
        """Return the seconds to wait after failed attempt number `attempt`, or None to give up."""
        if attempt > len(self.delays_seconds):
            return None
        nominal = self.delays_seconds[attempt - 1]
        return max(1.0, nominal * uniform(1 - self.jitter_ratio, 1 + self.jitter_ratio))


# Registration and management.


class WebhookService:
    """The API's webhook use cases; only admins and supervisors of the tenant may call them."""

    def __init__(
        self,
        repository: WebhookRepository,
        url_policy: UrlPolicy,
        max_per_tenant: int,
        secret_grace: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._policy = url_policy
        self._max_per_tenant = max_per_tenant
        self._secret_grace = secret_grace
        self._clock = clock

    def register(self, caller: Caller, request: CreateWebhookRequest) -> WebhookCreated:
        """Store a subscription with a new signing secret; the result is the only place the secret appears."""
        _require_manager(caller)
        self._policy.check_url(request.url)
        now = self._clock()
        stored = StoredWebhook(
            webhook_id=new_id(),
            tenant_id=caller.tenant_id,
            url=request.url,
            event_types=request.event_types,
            description=request.description,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
            signing_secret=new_signing_secret(),
        )

        registered = config_record(
            caller.tenant_id,
            _actor(caller),
            "webhook.registered",
            stored.webhook_id,
            now,
            {
                "host": AuditChange(new=_host(stored.url)),
                "event_types": AuditChange(new=",".join(stored.event_types)),
                "enabled": AuditChange(new="true"),
            },
        )
        self._repository.create(stored, self._max_per_tenant, [registered])

        logger.info(
            "webhook registered",
            extra={"tenant_id": caller.tenant_id, "webhook_id": stored.webhook_id, "host": _host(stored.url)},
        )
        return WebhookCreated(**stored.public().model_dump(), signing_secret=stored.signing_secret)

    def list_webhooks(self, caller: Caller) -> list[Webhook]:
        _require_manager(caller)
        return [webhook.public() for webhook in self._repository.list_webhooks(caller.tenant_id)]

    def get_webhook(self, caller: Caller, webhook_id: str) -> Webhook:
        _require_manager(caller)
        return self._repository.get(caller.tenant_id, webhook_id).public()

    def delete_webhook(self, caller: Caller, webhook_id: str) -> None:
        _require_manager(caller)
        webhook = self._repository.get(caller.tenant_id, webhook_id)
        deleted = config_record(
            caller.tenant_id,
            _actor(caller),
            "webhook.deleted",
            webhook_id,
            self._clock(),
            {"host": AuditChange(old=_host(webhook.url)), "enabled": AuditChange(old=_flag(webhook.enabled))},
        )

        self._repository.delete(caller.tenant_id, webhook_id, [deleted])

        logger.info("webhook deleted", extra={"tenant_id": caller.tenant_id, "webhook_id": webhook_id})

    def rotate_secret(self, caller: Caller, webhook_id: str) -> SecretRotated:
        """Replace the signing secret; the old one keeps signing alongside it for the grace period."""
        _require_manager(caller)
        now = self._clock()
        secret = new_signing_secret()
        previous_expires_at = now + self._secret_grace
        # The entry records when the old secret stops signing, never a secret itself.
        rotated = config_record(
            caller.tenant_id,
            _actor(caller),
            "webhook.secret_rotated",
            webhook_id,
            now,
            {"previous_secret_expires_at": AuditChange(new=audit_timestamp(previous_expires_at))},
        )

        self._repository.rotate_secret(caller.tenant_id, webhook_id, secret, previous_expires_at, now, [rotated])

        logger.info("webhook secret rotated", extra={"tenant_id": caller.tenant_id, "webhook_id": webhook_id})
        return SecretRotated(webhook_id=webhook_id, signing_secret=secret, previous_secret_expires_at=previous_expires_at)

    def enable(self, caller: Caller, webhook_id: str) -> Webhook:
        """Enable a subscription again with a clean failure count; events of the disabled time are not replayed."""
        _require_manager(caller)
        now = self._clock()
        current = self._repository.get(caller.tenant_id, webhook_id)
        enabled = config_record(
            caller.tenant_id,
            _actor(caller),
            "webhook.enabled",
            webhook_id,
            now,
            {
                "enabled": AuditChange(old=_flag(current.enabled), new="true"),
                "consecutive_failures": AuditChange(old=str(current.consecutive_failures), new="0"),
            },
        )

        webhook = self._repository.enable(caller.tenant_id, webhook_id, now, [enabled])

        logger.info("webhook enabled", extra={"tenant_id": caller.tenant_id, "webhook_id": webhook_id})
        return webhook.public()

    def deliveries(self, caller: Caller, webhook_id: str, limit: int, cursor: str | None) -> Page:
        _require_manager(caller)
        self._repository.get(caller.tenant_id, webhook_id)
        return self._repository.list_attempts(caller.tenant_id, webhook_id, limit, cursor)


# Delivery.


class InvalidQueueMessageError(ValueError):
    """A webhooks queue message that can never be processed; it fails until SQS moves it to the DLQ."""


class WebhookDispatcher:
    """Fans events out to subscriptions and makes the delivery attempts, with retries and disabling."""

    def __init__(
        self,
        repository: WebhookRepository,
        queue: DeliveryQueue,
        sender: WebhookSender,
        publisher: WebhookEventPublisher,
        retry: RetryPolicy,
        url_policy: UrlPolicy,
        event_source: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._repository = repository
        self._queue = queue
        self._sender = sender
        self._publisher = publisher
        self._retry = retry
        self._policy = url_policy
        self._event_source = event_source
        self._clock = clock
        self._uniform = uniform
        self._batch = threading.local()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Look up each tenant's subscriptions to an event type once for the messages handled inside.

        A batch lasts one queue invocation, so a subscription changed during it takes effect from
        the next batch. The lookups are kept per thread, since the local stack's pollers share
        this object.
        """
        self._batch.subscribers = {}
        try:
            yield
        finally:
            self._batch.subscribers = None

    def _subscribers(self, tenant_id: str, event_type: str) -> list[StoredWebhook]:
        cache = getattr(self._batch, "subscribers", None)
        if cache is None:
            return self._repository.subscribers(tenant_id, event_type)
        key = (tenant_id, event_type)
        if key not in cache:
            cache[key] = self._repository.subscribers(tenant_id, event_type)
        return cache[key]

    def handle(self, body: dict[str, Any]) -> str:
        """Process one queue message body, an EventBridge event or a DeliveryMessage; return what happened."""
        if body.get("kind") == DeliveryMessage.KIND:
            try:
                message = DeliveryMessage.model_validate(body)
            except ValidationError as error:
                raise InvalidQueueMessageError(f"invalid delivery message: {_fields(error)}") from error
            return self.deliver(message)
        if "detail-type" in body and "detail" in body:
            return self.fan_out(body)
        raise InvalidQueueMessageError("the message is neither an EventBridge event nor a delivery message")

    def fan_out(self, envelope: dict[str, Any]) -> str:
        """Queue one delivery per enabled subscription of the event's tenant and type."""
        event_type = envelope["detail-type"]
        if envelope.get("source") != self._event_source or event_type not in _EVENT_MODELS:
            # The consumer logs this outcome with the queue message id.
            return "ignored"
        detail = envelope["detail"]
        try:
            event = _EVENT_MODELS[event_type].model_validate(detail)
        except ValidationError as error:
            raise InvalidQueueMessageError(f"invalid {event_type} detail: {_fields(error)}") from error

        subscriptions = self._subscribers(event.tenant_id, event_type)
        if not subscriptions:
            return "no_subscribers"
        messages = [
            (
                DeliveryMessage(
                    tenant_id=event.tenant_id,
                    webhook_id=subscription.webhook_id,
                    event_type=event_type,
                    event_id=event.event_id,
                    detail=detail,
                ),
                0,
            )
            for subscription in subscriptions
        ]
        self._queue.send(messages)

        logger.info(
            "event fanned out to webhooks",
            extra={"tenant_id": event.tenant_id, "event_id": event.event_id, "webhooks": len(messages)},
        )
        return "fanned_out"

    def deliver(self, message: DeliveryMessage) -> str:
        """Make one attempt, or put the message back when it is not due yet."""
        now = self._clock()
        remaining = message.deliver_after - now.timestamp()
        if remaining > 0:
            self._queue.send([(message, min(MAX_QUEUE_DELAY_SECONDS, math.ceil(remaining)))])
            return "deferred"

        log_keys = {
            "tenant_id": message.tenant_id,
            "webhook_id": message.webhook_id,
            "event_id": message.event_id,
            "attempt": message.attempt,
        }
        webhook = self._repository.find(message.tenant_id, message.webhook_id)
        if webhook is None or not webhook.enabled or message.event_type not in webhook.event_types:
            logger.info("webhook gone, disabled or unsubscribed; delivery dropped", extra=log_keys)
            return "dropped"
        if message.detail.get("tenant_id") != webhook.tenant_id:
            raise InvalidQueueMessageError(f"event {message.event_id} belongs to another tenant than its webhook")

        result = self._attempt(webhook, message, now)
        if result.succeeded:
            self._repository.mark_delivered(webhook.tenant_id, webhook.webhook_id, now)
            self._record(webhook, message, now, result, DeliveryOutcome.DELIVERED)
            logger.info("webhook delivered", extra={**log_keys, "status_code": result.status_code})
            return DeliveryOutcome.DELIVERED.value

        reason = result.failure_reason() or "failed"
        logger.warning("webhook delivery failed", extra={**log_keys, "error": reason, "status_code": result.status_code})
        failures = self._repository.count_failure(webhook.tenant_id, webhook.webhook_id, now, reason)
        if failures is None:
            return "dropped"
        if failures >= self._retry.max_consecutive_failures:
            self._disable(webhook, now, failures, result)
            self._record(webhook, message, now, result, DeliveryOutcome.DISABLED)
            return DeliveryOutcome.DISABLED.value

        delay = self._retry.delay_after(message.attempt, self._uniform)
        if delay is None:
            self._record(webhook, message, now, result, DeliveryOutcome.GAVE_UP)
            logger.warning("webhook retries exhausted; event not delivered", extra=log_keys)
            return DeliveryOutcome.GAVE_UP.value

        next_attempt_at = now + timedelta(seconds=delay)
        retry = message.model_copy(update={"attempt": message.attempt + 1, "deliver_after": next_attempt_at.timestamp()})
        self._queue.send([(retry, min(MAX_QUEUE_DELAY_SECONDS, math.ceil(delay)))])
        self._record(webhook, message, now, result, DeliveryOutcome.RETRY_SCHEDULED, next_attempt_at)
        return DeliveryOutcome.RETRY_SCHEDULED.value

    def _attempt(self, webhook: StoredWebhook, message: DeliveryMessage, now: datetime) -> SendResult:
        body = json.dumps(
            {"event_type": message.event_type, "detail": message.detail}, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        timestamp = int(now.timestamp())
        headers = delivery_headers(message.event_id, webhook.signing_secrets(now), timestamp, body)
        try:
            self._policy.check_url(webhook.url)
        except InvalidInputError as error:
            # The settings may have changed since the URL was registered.
            return SendResult(status_code=None, latency_ms=0, error=f"url rejected: {error.message}")
        return self._sender.send(webhook.url, headers, body, self._policy)

    def _record(
        self,
        webhook: StoredWebhook,
        message: DeliveryMessage,
        now: datetime,
        result: SendResult,
        outcome: DeliveryOutcome,
        next_attempt_at: datetime | None = None,
    ) -> None:
        attempt = DeliveryAttempt(
            delivery_id=new_id(),
            webhook_id=webhook.webhook_id,
            event_id=message.event_id,
            event_type=message.event_type,
            attempt=message.attempt,
            attempted_at=now,
            outcome=outcome,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.failure_reason(),
            next_attempt_at=next_attempt_at,
        )
        self._repository.record_attempt(webhook.tenant_id, attempt)

    def _disable(self, webhook: StoredWebhook, now: datetime, failures: int, result: SendResult) -> None:
        """Disable the subscription and publish WebhookDisabled, through the outbox when EventBridge fails."""
        reason = f"{failures} consecutive failed deliveries; last: {result.failure_reason()}"
        event = WebhookDisabled(
            event_id=new_id(),
            occurred_at=now,
            tenant_id=webhook.tenant_id,
            webhook_id=webhook.webhook_id,
            host=_host(webhook.url),
            consecutive_failures=failures,
            last_status_code=result.status_code,
            last_error=result.failure_reason(),
        )
        disabled = config_record(
            webhook.tenant_id,
            DISPATCHER_ACTOR,
            "webhook.disabled",
            webhook.webhook_id,
            now,
            {
                "enabled": AuditChange(old="true", new="false"),
                "consecutive_failures": AuditChange(new=str(failures)),
                "last_status_code": AuditChange(new=None if result.status_code is None else str(result.status_code)),
            },
            event_id=event.event_id,
        )
        if not self._repository.disable(webhook.tenant_id, webhook.webhook_id, now, reason, event, [disabled]):
            return
        logger.warning(
            "webhook disabled after consecutive failures",
            extra={"tenant_id": webhook.tenant_id, "webhook_id": webhook.webhook_id, "failures": failures},
        )
        try:
            self._publisher.publish([event])
        except DependencyError as error:
            logger.warning(
                "WebhookDisabled not published; the outbox relay will retry",
                extra={"event_id": event.event_id, "error": str(error)},
            )
            return
        self._repository.delete_outbox([event])


def config_record(
    tenant_id: str,
    actor: Actor,
    action: str,
    webhook_id: str,
    moment: datetime,
    changes: dict[str, AuditChange],
    event_id: str | None = None,
) -> AuditRecord:
    """Describe a change of a webhook subscription for the audit log.

    Entries name the URL's host, never its path or query (which may carry a receiver's token),
    and never a signing secret.
    """
    return AuditRecord(
        tenant_id=tenant_id,
        timestamp=audit_timestamp(moment),
        actor=actor,
        action=action,
        resource_type="webhook",
        resource_id=webhook_id,
        changes=changes,
        event_id=event_id,
    )


def _actor(caller: Caller) -> Actor:
    return Actor(user_id=caller.user_id, role=caller.role)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _require_manager(caller: Caller) -> None:
    if caller.role not in MANAGING_ROLES:
        raise ForbiddenError(
            "only admins and supervisors of the tenant may manage webhooks",
            reason="webhook_management_not_allowed",
            problem=f"role {caller.role.value} may not manage webhooks; ask an admin or supervisor.",
            role=caller.role.value,
        )


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _fields(error: ValidationError) -> str:
    return ", ".join(sorted({".".join(map(str, item["loc"])) or "body" for item in error.errors(include_input=False)}))

