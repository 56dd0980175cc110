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

import redis

from fintech.core.redis_client import redis_client

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
