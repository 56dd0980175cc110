"""Redis clients for request-path work: short timeouts, one client per URL and process.
Callers must survive Redis being down (each says how)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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


# --- commands that ride together ------------------------------------------------------------
#
# An API request talks to Redis after its work is done: the request log's RPUSH and, when it
# wrote events, the outbox relay's kick. Inside `redis_batch()` (the API middleware wraps every
# request in it) such commands are queued and sent to REDIS_URL in one round trip at the end,
# or, with after_response=True, once the server has sent the response (Django's
# request_finished): the client need not wait for them.

Added = Callable[[redis.client.Pipeline], int]  # queues commands; returns how many
Done = Callable[[list[Any] | redis.RedisError], None]  # their results, or the error

_queued: ContextVar[list[tuple[Added, Done]] | None] = ContextVar("redis_batch", default=None)


_after_response = threading.local()


@contextmanager
def redis_batch(*, after_response: bool = False) -> Iterator[None]:
    """Commands given to `redis_later` inside are sent in one round trip when the block ends,
    or with `after_response` when the request has finished (see send_after_response)."""
    token = _queued.set([])
    try:
        yield
    finally:
        queued = _queued.get() or []
        _queued.reset(token)
        if after_response:
            _after_response.__dict__.setdefault("queued", []).extend(queued)
        else:
            _send(queued)


def send_after_response(**kwargs: Any) -> None:
    """Send what redis_batch(after_response=True) left for after the response: connected to
    request_finished, which the WSGI server triggers once it has sent the response."""
    queued = _after_response.__dict__.pop("queued", None)
    if queued:
        _send(queued)


def redis_later(add: Added, done: Done) -> None:
    """Send `add`'s commands to REDIS_URL with the enclosing batch's, or now outside one; then
    call `done` with their results or the Redis error (it must not raise)."""
    queued = _queued.get()
    if queued is None:
        _send([(add, done)])
    else:
        queued.append((add, done))


def _send(queued: list[tuple[Added, Done]]) -> None:
    if not queued:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        counts = [add(pipe) for add, _done in queued]
        results = pipe.execute()
    except redis.RedisError as exc:
        for _add, done in queued:
            done(exc)
        return
    start = 0
    for (_add, done), count in zip(queued, counts, strict=True):
        done(results[start : start + count])
        start += count
