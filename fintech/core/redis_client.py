"""The platform's Redis (REDIS_URL) for request-path work: short timeouts, one client per
process. Callers must survive Redis being down (each says how)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings

# A request must not hang on Redis: fail fast and take the caller's fallback.
TIMEOUT_SECONDS = 0.5


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)
