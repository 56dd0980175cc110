"""Counters shared by every process (web, workers, beat), kept in Redis.

`metric_incr("outbox_redispatched")` adds to a field of one Redis hash on REDIS_URL, so a
count made in a worker is seen by the web process that serves `/metrics` and the admin's
integration health page. Fail-open: with Redis down the increment is dropped (logged at debug),
never raised, because a metric must not fail the work it counts.

The counts are totals since Redis last started empty (Prometheus reads a drop as a counter
reset). Labels are folded into the field name: `name|key=value,key=value`.

The names in use are in COUNTERS (documented in integrations/README.md); `/metrics` shows
each of them (zero until counted) and any other name counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis

from fintech.core.redis_client import redis_client, redis_later

logger = logging.getLogger(__name__)

METRICS_KEY = "fintech:metrics"

# name -> what it counts (the Prometheus help text).
COUNTERS: dict[str, str] = {
    "tasks_retried_transient": "Celery tasks retried after a transient database error, by task",
    "outbox_redispatched": "Outbox events handed out again by the scan after their lease lapsed",
    "outbox_recovered": "Outbox events fanned out after a re-dispatch (lost, then recovered)",
    "scan_republished": "Rows whose task message was lost, published again by scan_due, by kind",
    # The sync engine (integrations/sync).
    "sync_jobs": "Sync job runs finished, by provider and resulting state",
    "sync_errors": "Sync job runs that failed, by connection and error class",
    "sync_job_ms": "Milliseconds spent running sync jobs, by provider",
    "sync_token_refreshes": "OAuth access tokens refreshed, by provider",
    "sync_token_refresh_failures": "OAuth token refreshes that failed, by connection",
    "sync_rate_limited": "Sync calls held back by the provider's call budget, by connection",
    # The Xero connector's calls (integrations/connectors/accounting/xero/client.py).
    "xero_calls": "Calls made to Xero's Accounting API, by connection",
    "xero_call_ms": "Milliseconds spent in calls to Xero (divide by xero_calls: latency)",
    "xero_timeouts": "Calls to Xero that timed out, by connection",
    # What an integration team watches (docs/operations.md, "Metrics").
    "api_requests_failed": "API requests answered 4xx or 5xx, by endpoint, method and code",
    "provider_timeouts": "Calls to a provider (payout, KYC, Xero, QuickBooks, CRM, a webhook "
    "endpoint) that timed out, by provider",
    "webhook_delivery_attempts": "Webhook delivery attempts, by outcome (succeeded, retry, "
    "exhausted, failed): the success rate is succeeded over all",
}

# name -> (help, upper bounds in seconds). Kept as one counter per bucket (not cumulative),
# plus `<name>_count` and `<name>_sum_us` (microseconds: Redis counts integers); `/metrics`
# adds the buckets up into Prometheus' cumulative histogram.
HISTOGRAMS: dict[str, tuple[str, tuple[float, ...]]] = {
    "api_request_duration_seconds": (
        "API response time, by endpoint (its route) and method",
        (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    ),
}
_LABELS = "|"


def metric_field(name: str, labels: Mapping[str, str] | None = None) -> str:
    if not labels:
        return name
    folded = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    return f"{name}{_LABELS}{folded}"


def metric_incr(name: str, by: int = 1, *, labels: Mapping[str, str] | None = None) -> None:
    """Add `by` to the counter `name` (with `labels`); never raises."""
    if by == 0:
        return
    try:
        redis_client().hincrby(METRICS_KEY, metric_field(name, labels), by)
    except redis.RedisError as exc:
        logger.debug("metric %s not counted (Redis unavailable): %r", name, exc)


def _le(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


def histogram_fields(
    name: str, seconds: float, labels: Mapping[str, str] | None = None
) -> dict[str, int]:
    """The counter increments that record one observation of the histogram `name`."""
    _help, bounds = HISTOGRAMS[name]
    bucket = next((b for b in bounds if seconds <= b), float("inf"))
    return {
        metric_field(f"{name}_bucket", {**(labels or {}), "le": _le(bucket)}): 1,
        metric_field(f"{name}_count", labels): 1,
        metric_field(f"{name}_sum_us", labels): max(0, int(seconds * 1_000_000)),
    }


def metrics_incr_later(fields: Mapping[str, int]) -> None:
    """Add to several counters (fields as metric_field makes them) with the enclosing Redis
    batch's round trip (an API request's, sent after its response), or now; never raises."""

    def add(pipe: redis.client.Pipeline) -> int:
        for field, by in fields.items():
            pipe.hincrby(METRICS_KEY, field, by)
        return len(fields)

    def done(result: list[Any] | redis.RedisError) -> None:
        if isinstance(result, redis.RedisError):
            logger.debug("metrics not counted (Redis unavailable): %r", result)

    if fields:
        redis_later(add, done)


def metrics_snapshot() -> dict[str, int]:
    """Every counter as {field: value} (fields as metric_field makes them); {} if Redis is
    down."""
    try:
        raw = redis_client().hgetall(METRICS_KEY)
    except redis.RedisError as exc:
        logger.warning("metrics unavailable (Redis): %r", exc)
        return {}
    return {_text(key): int(value) for key, value in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def metric_parse(field: str) -> tuple[str, dict[str, str]]:
    """The name and labels of a field of metrics_snapshot()."""
    name, _, folded = field.partition(_LABELS)
    labels = dict(pair.split("=", 1) for pair in folded.split(",") if "=" in pair)
    return name, labels
