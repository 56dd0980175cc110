"""A plain Redis client on the broker's own Redis, for the request path's cheap hand-offs.

A Celery publish costs several times a plain Redis command (message envelope, kombu's channel
and client set-up), so code that runs on every request (the relay kick, the inbound webhook
hand-off) uses one Redis command where it can, and publishes only when it must.
"""

from __future__ import annotations

import redis
from celery import current_app
from django.conf import settings

from fintech.core.redis_client import redis_at


def broker_redis() -> redis.Redis | None:
    """A client of the broker's Redis (the broker URL, not REDIS_URL: they may differ), or
    None if the broker is not Redis. It fails as fast as the broker's publish would, so the
    beat scanners take over."""
    url = str(current_app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        return None
    return redis_at(url, timeout_seconds=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
