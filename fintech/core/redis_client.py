"""Redis clients for request-path work: short timeouts, one client per URL and process.
Callers must survive Redis being down (each says how)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings

# A request must not hang on Redis: fail fast and take the caller's fallback.
TIMEOUT_SECONDS = 0.5


@functools.cache
def redis_at(url: str, *, timeout_seconds: float = TIMEOUT_SECONDS) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )


def redis_client() -> redis.Redis:
    """The platform's Redis (REDIS_URL)."""
    return redis_at(settings.REDIS_URL)
