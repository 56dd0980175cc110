"""Fixed-window counters in Redis: the API's rate limit per OAuth application (below) and the
token endpoint's failure counts (fintech.api.views.oauth.ThrottledTokenView).

Rate limit per OAuth application: a fixed one-minute window counted in Redis.

One INCR (with its EXPIRE) per request, atomic across every web process, so N processes
cannot each allow the whole limit. The limit is `ApiClient.rate_limit_per_minute` or
API_RATE_LIMIT_PER_MINUTE. If Redis is unreachable the request is let through and the
failure logged: a rate limiter must not take the API down with it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from fintech.core.redis_client import redis_client

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


def window_incr(keys: list[str], *, ttl_seconds: int) -> list[int] | None:
    """Count one more in each fixed-window counter; their new values, or None (logged) when
    Redis is unreachable: a limiter must not take down what it guards, so callers let the
    request through."""
    try:
        # No MULTI/EXEC: INCR alone is atomic; EXPIRE only bounds the key's life.
        pipe = redis_client().pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, ttl_seconds)
        results = pipe.execute()
    except redis.RedisError:
        log.warning("rate limiter unavailable; letting the request through", exc_info=True)
        return None
    return [int(count) for count in results[::2]]


def window_counts(keys: list[str]) -> list[int] | None:
    """The current values of fixed-window counters (0 if unset), or None (logged) when Redis
    is unreachable (callers let the request through)."""
    try:
        values = redis_client().mget(keys)
    except redis.RedisError:
        log.warning("rate limiter unavailable; letting the request through", exc_info=True)
        return None
    return [int(value or 0) for value in values]


class ApplicationRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        caller = getattr(request, "api_caller", None)
        if caller is None:
            return True  # unauthenticated requests never reach a handler anyway
        limit = caller.api_client.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        # The client_id, not the pk: pks are reused by fresh databases sharing one Redis.
        key = f"api:rate:{caller.client_id}:{window}"
        counts = window_incr([key], ttl_seconds=WINDOW_SECONDS + 1)
        if counts is None or counts[0] <= limit:
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return False

    def wait(self) -> float | None:
        return self._wait
