"""Logger, metrics and tracer shared by every function, and the Chalice middleware that
attaches them to each invocation.

Powertools decorators expect a plain `(event, context)` Lambda handler, which Chalice handlers
are not, so the correlation id, cold-start flag and metric flushing are applied here instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from functions.privacy.logs import RedactingFilter, RedactingFormatter

SERVICE_NAME = "servicedesk"
METRICS_NAMESPACE = "ServiceDesk"

# Personal data is masked in every record of the servicedesk loggers (functions/privacy/logs.py).
# The filter rewrites the record before any handler formats it, and the formatter masks the JSON entry.
logger = Logger(service=SERVICE_NAME, logger_formatter=RedactingFormatter())
logger.registered_handler.addFilter(RedactingFilter())
metrics = Metrics(service=SERVICE_NAME, namespace=METRICS_NAMESPACE)


def _tracing_enabled() -> bool:
    """Trace only inside Lambda and unless POWERTOOLS_TRACE_DISABLED is set, as Powertools does."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in {"1", "true", "yes", "on"}
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


# The X-Ray SDK takes about 0.6 s to import, so it is loaded only where traces are sent: in a
# Lambda container, during its init phase, where Powertools' Tracer also patches boto3.
if _tracing_enabled():
    from aws_lambda_powertools import Tracer

    tracer: Any = Tracer(service=SERVICE_NAME)
else:
    tracer = None


def traced(name: str) -> Any:
    """Return a context manager for an X-Ray subsegment, or one that does nothing untraced."""
    if tracer is None:
        return nullcontext(_NoSubsegment())
    return tracer.provider.in_subsegment(name)


class _NoSubsegment:
    def put_annotation(self, key: str, value: Any) -> None:
        """Drop the annotation; nothing is traced."""

CORRELATION_HEADER = "x-correlation-id"


def count(name: str, value: float = 1) -> None:
    """Add to a count metric of this invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Record the duration of the block, in milliseconds, as a metric."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)


def flush() -> None:
    """Write this invocation's metrics as one EMF line, when there are any."""
    if metrics.metric_set:
        metrics.flush_metrics()


def http_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Tag logs with the request's correlation id, then flush metrics after the response."""
    headers = event.headers or {}
    context = event.context or {}
    correlation_id = headers.get(CORRELATION_HEADER) or context.get("requestId") or ""
    resource = context.get("resourcePath")
    logger.set_correlation_id(correlation_id[:128] or None)
    logger.append_keys(http_method=event.method, resource=resource)
    try:
        with traced(f"## {event.method} {resource}") as subsegment:
            subsegment.put_annotation(key="correlation_id", value=correlation_id[:128])
            response = get_response(event)
            subsegment.put_annotation(key="status_code", value=response.status_code)
    finally:
        flush()
        logger.remove_keys(["http_method", "resource"])
    if correlation_id:
        response.headers["X-Correlation-Id"] = correlation_id[:128]
    return response


def event_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Flush metrics after each queue or scheduled invocation."""
    context = getattr(event, "context", None)
    request_id = getattr(context, "aws_request_id", None)
    logger.set_correlation_id(request_id)
    try:
        with traced(f"## {type(event).__name__}"):
            return get_response(event)
    finally:
        flush()
