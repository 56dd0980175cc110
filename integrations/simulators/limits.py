"""The sandboxes' per-tenant limits (Xero's org, Intuit's realm): calls per minute, per day
(optional), and concurrent calls.

Counters live in Redis (REDIS_URL), shared by every web worker: one pipelined round trip per
call increments the minute and day windows and the concurrent count (INCR is atomic, so
concurrent callers each see their own count). A call over a limit is refused with 429,
`Retry-After` and `X-Rate-Limit-Problem` (minute, day or concurrent) and gives back its
concurrent slot at once. Windows are fixed (the current minute, the current UTC day). The
concurrent count carries a short expiry so a worker killed mid-call cannot hold a slot for
long. Redis down: the call goes through unlimited (a sandbox; logged).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis

from fintech.core.redis_client import redis_client

logger = logging.getLogger(__name__)

# A concurrent slot not given back (a killed worker) lapses after this.
CONCURRENT_TTL_SECONDS = 120


@dataclass
class Verdict:
    problem: str = ""  # "", "minute", "day" or "concurrent"
    retry_after: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def call_slot(
    prefix: str, tenant: str, *, per_minute: int, per_day: int | None, concurrent: int
) -> Iterator[Verdict]:
    """Count one call for `tenant` (keys `<prefix>:<tenant>:...`); yields the verdict (problem
    "" when allowed). The concurrent slot is held until the block ends. `per_day` None: no
    daily window (Intuit has none)."""
    now = time.time()
    minute_key = f"{prefix}:{tenant}:m:{int(now // 60)}"
    day_key = f"{prefix}:{tenant}:d:{int(now // 86400)}"
    busy_key = f"{prefix}:{tenant}:c"
    client = redis_client()
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(minute_key)
        pipe.expire(minute_key, 120)
        pipe.incr(day_key)
        pipe.expire(day_key, 2 * 86400)
        pipe.incr(busy_key)
        pipe.expire(busy_key, CONCURRENT_TTL_SECONDS)
        minute_count, _, day_count, _, busy, _ = pipe.execute()
    except redis.RedisError:
        logger.warning("%s: Redis unavailable, limits not applied", prefix)
        yield Verdict()
        return
    verdict = Verdict(headers={"X-MinLimit-Remaining": str(max(per_minute - minute_count, 0))})
    if per_day is not None:
        verdict.headers["X-DayLimit-Remaining"] = str(max(per_day - day_count, 0))
    if per_day is not None and day_count > per_day:
        verdict.problem = "day"
        verdict.retry_after = int(86400 - now % 86400) + 1
    elif minute_count > per_minute:
        verdict.problem = "minute"
        verdict.retry_after = int(60 - now % 60) + 1
    elif busy > concurrent:
        verdict.problem = "concurrent"
        verdict.retry_after = 1
    try:
        yield verdict
    finally:
        try:
            client.decr(busy_key)
        except redis.RedisError:
            logger.warning("%s: could not give back a concurrent slot (it lapses)", prefix)


def fault_for(tenant: Any) -> str:
    """A fault steered for a tenant (its error_429_percent and error_5xx_percent): "429",
    "5xx" or "" (none), drawn per call."""
    if tenant.error_429_percent and random.randrange(100) < tenant.error_429_percent:  # noqa: S311
        return "429"
    if tenant.error_5xx_percent and random.randrange(100) < tenant.error_5xx_percent:  # noqa: S311
        return "5xx"
    return ""


def counters_reset(prefix: str, tenant: str) -> None:
    """Forget the tenant's counts (control endpoints' `reset_limits`)."""
    client = redis_client()
    try:
        keys = list(client.scan_iter(match=f"{prefix}:{tenant}:*", count=100))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        logger.warning("%s: Redis unavailable, counters not reset", prefix)
