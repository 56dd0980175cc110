"""The after-commit kick of the outbox relay (connected in IntegrationsConfig.ready).

fintech never imports integrations: it only writes outbox rows. Here we watch those rows being
created and, once the transaction that wrote them commits, ask a worker to relay now rather
than at the next beat tick.

One relay run serves every commit before it starts, so a kick publishes a task only if none is
waiting: it sets KICK_KEY (SET NX, one Redis command), and only the setter publishes; a relay
run deletes the key before it claims rows. A commit that finds the key set therefore came
before that delete, and its rows are seen by the claim that follows. Under load this turns a
Celery publish per commit into one Redis command per commit; in an API request that command
rides with the request log's, in one round trip after the response is made (redis_batch).

The kick is an optimisation: if Redis is down it is lost, the rows wait, and the beat relay
picks them up once Redis is back; a kick whose task was lost expires with the key's TTL.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.db import connections, transaction

from fintech.core.models import OutboxEvent
from fintech.core.redis_client import redis_later
from integrations.broker import broker_redis
from integrations.claims import task_named

logger = logging.getLogger(__name__)

KICK_KEY = "integrations:outbox:relay-kick"
KICK_TTL_MS = 10_000  # a kick whose task went missing stops holding back others after this


def relay_kick() -> None:
    if _broker_url() == settings.REDIS_URL:
        # With the request's other Redis commands, in one round trip (see redis_batch).
        redis_later(_set_kick_key, _publish_if_set)
        return
    client = broker_redis()
    if client is None:  # not a Redis broker: no key to share, every kick publishes
        _publish()
        return
    try:
        pipe = client.pipeline(transaction=False)
        _set_kick_key(pipe)
        results: list[Any] | redis.RedisError = pipe.execute()
    except redis.RedisError as exc:
        results = exc
    _publish_if_set(results)


def _broker_url() -> str:
    return str(current_app.conf.broker_url or "")


def _set_kick_key(pipe: redis.client.Pipeline) -> int:
    pipe.set(KICK_KEY, "1", nx=True, px=KICK_TTL_MS)
    return 1


def _publish_if_set(results: list[Any] | redis.RedisError) -> None:
    if isinstance(results, redis.RedisError):
        logger.warning("outbox relay kick not published (broker unavailable); beat will relay")
    elif results[0]:  # we set the key: no relay run is on its way yet
        _publish()


def _publish() -> None:
    try:
        # By name: the tasks module imports the relay, which imports this module.
        task_named("integrations.outbox_relay").apply_async(retry=False)
    except Exception:  # the broker is down: the beat relay will find the rows later
        logger.warning("outbox relay kick not published (broker unavailable); beat will relay")


def relay_kick_clear() -> None:
    """A relay run starts: commits from now on need a new kick (call before claiming rows)."""
    try:
        client = broker_redis()
        if client is not None:
            client.delete(KICK_KEY)
    except Exception:  # without Redis there are no kicks to clear
        logger.warning("could not clear the relay kick; the key expires by itself")


def _kick_pending(using: str) -> bool:
    # One kick per transaction, however many events it wrote.
    return any(entry[1] is relay_kick for entry in connections[using].run_on_commit)


def outbox_event_saved(
    sender: type[OutboxEvent], instance: OutboxEvent, created: bool, using: str, **kwargs: Any
) -> None:
    if not created or _kick_pending(using):
        return
    transaction.on_commit(relay_kick, using=using, robust=True)
