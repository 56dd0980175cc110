"""A plain Redis client on the broker's own Redis, for the request path's cheap hand-offs.

A Celery publish costs several times a plain Redis command (message envelope, kombu's channel
and client set-up), so code that runs on every request (the relay kick, the inbound webhook
hand-off) uses one Redis command where it can, and publishes only when it must.
"""

from __future__ import annotations

import functools

import redis
from celery import current_app
from django.conf import settings


@functools.cache
def _client(url: str) -> redis.Redis:
    timeout = settings.CELERY_BROKER_CONNECTION_TIMEOUT
    # Fails fast when Redis is down, like the broker's publish: the beat scanners take over.
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def broker_redis() -> redis.Redis | None:
    """A client of the broker's Redis (the broker URL, not REDIS_URL: they may differ), or
    None if the broker is not Redis."""
    url = str(current_app.conf.broker_url or "")
    return _client(url) if url.startswith(("redis://", "rediss://")) else None
