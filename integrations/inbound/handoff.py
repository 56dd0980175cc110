"""Handing stored inbound webhooks to the workers, cheaply, on the request path.

The endpoint's job is to answer fast (see integrations/broker.py). So the request pushes
only the row id onto a Redis list (one LPUSH, on the broker's own Redis), and a drain task
pops the ids and publishes one `integrations.inbound_process` per id from the worker.

Nothing waits on the list for long, and nothing is lost with it:
- the push that finds the list empty (LPUSH answers 1) publishes a drain, and a drain stops
  only after it has seen the list empty; so every id on the list has a drain coming, and
  under load one drain serves many requests;
- the beat scanner (`integrations.scan_due`, every few seconds) drains too, in case a
  drain's publish or its worker was lost;
- the database stays the source of truth: a row whose push failed has `enqueued_at` cleared
  and the scanner publishes it at its next tick; a row whose id was lost with Redis (a
  restart without persistence, a drain killed mid-way) is republished by the scanner once
  its `enqueued_at` is older than the lease.
With a broker that is not Redis, the request publishes the task itself, as before.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis

from fintech.core.dead_letters import dead_letter_record
from integrations import claims
from integrations.broker import broker_redis
from integrations.models import InboundWebhook

logger = logging.getLogger(__name__)

KEY = "integrations:inbound:received"
DRAIN_BATCH = 100
DEAD_LETTER_SOURCE = "integrations.inbound.handoff"
# The tasks (inbound/tasks.py), published by name: tasks import this module, not back.
PROCESS_TASK = "integrations.inbound_process"
DRAIN_TASK = "integrations.inbound_drain"


def hand_off(inbound_id: Any) -> None:
    """After commit: get stored row `inbound_id` processed soon. Never raises."""
    client = broker_redis()
    if client is None:
        published = claims.enqueue(PROCESS_TASK, inbound_id) == 1
    else:
        try:
            first = client.lpush(KEY, str(inbound_id)) == 1
            published = True
        except redis.RedisError:
            logger.warning("could not hand off inbound webhook %s; the scanner will", inbound_id)
            published = first = False
        if first:
            # The list was empty: no drain is due to see this id; start one.
            _kick(DRAIN_TASK)
    if not published:
        # Redis is down: the scanner publishes rows without `enqueued_at` at its next tick.
        InboundWebhook.objects.filter(pk=inbound_id).update(enqueued_at=None)


def _kick(task: str) -> None:
    try:
        claims.task_named(task).apply_async(retry=False)
    except Exception:  # the broker failed: the scanner's drain takes the list at its next tick
        logger.warning("could not publish %s; the scanner will drain", task)


def drain() -> int:
    """Publish a processing task for every id on the list; returns how many were published."""
    client = broker_redis()
    if client is None:
        return 0
    published = 0
    while True:
        try:
            popped: list[bytes] | None = client.rpop(KEY, DRAIN_BATCH)  # type: ignore[assignment]
        except redis.RedisError:
            logger.warning("could not drain %s; the next drain will", KEY)
            return published
        if not popped:
            return published
        ids = _row_ids(popped)
        if not ids:
            continue
        sent = claims.enqueue(PROCESS_TASK, *ids)
        published += sent
        if sent < len(ids):
            # The broker failed mid-way: the scanner publishes the rest at its next tick.
            InboundWebhook.objects.filter(pk__in=ids[sent:]).update(enqueued_at=None)
            return published


def _row_ids(popped: list[bytes]) -> list[str]:
    """The row ids among `popped`; anything else (only a bug or a stray writer could put it
    there) is parked as a dead letter instead of failing the drain for every id behind it."""
    ids = []
    for raw in popped:
        text = raw.decode("utf-8", "backslashreplace")
        try:
            ids.append(str(uuid.UUID(text)))
        except ValueError as exc:
            dead_letter_record(
                source=DEAD_LETTER_SOURCE, reference=text[:200], payload=raw, error=exc
            )
    return ids
