"""The outbox relay: hands committed events to Celery, then fans each one out.

An event is done only when the database says so. Redis carries wake-ups, never the truth:

1. `outbox_relay` (beat every few seconds, and a kick after every commit that wrote events)
   locks a batch of events due for a hand-out (pending, no lease running) with SKIP LOCKED,
   publishes one `event_dispatch` task per event and stamps a lease on exactly the published
   ones (`dispatch_until`, one more `dispatch_attempts`). If Redis is down the publish fails
   and the rest of the batch stays due for the next run.
2. `event_dispatch(event_id)` (in a worker) locks the event, creates its webhook deliveries,
   runs the connector handlers subscribed to its type (integrations/registry.py) and marks it
   `dispatched`, all in one transaction: the event is done exactly when its fan-out rows are
   committed.
3. Anything lost between the two (a message flushed with Redis, a worker killed, a dispatch
   that raised) needs no clean-up step: the lease lapses and the next relay run hands the
   event out again. An event handed out `OUTBOX_DISPATCH_MAX_ATTEMPTS` times without fanning
   out is parked `dead` with its last error, and the others flow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from fintech.core.logs import CELERY_HEADER as REQUEST_ID_HEADER
from fintech.core.metrics import metric_incr
from fintech.core.models import OutboxEvent
from fintech.core.services import (
    outbox_claim_batch,
    outbox_lease,
    outbox_lock_for_dispatch,
    outbox_mark_dispatched,
    outbox_note_failure,
    outbox_park_dead,
)
from integrations.claims import task_named
from integrations.registry import handlers_for
from integrations.signals import relay_kick_clear
from integrations.webhooks.services import deliveries_create_for_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayResult:
    claimed: int
    published: int
    parked: int = 0


def outbox_relay(*, limit: int | None = None) -> RelayResult:
    limit = limit or settings.OUTBOX_RELAY_BATCH_SIZE
    published: list[OutboxEvent] = []
    relay_kick_clear()  # before the claim: see integrations/signals.py
    with transaction.atomic():
        events = outbox_claim_batch(limit=limit)
        # Handed out that often and still not fanned out: a poison event (or a broker that
        # keeps losing it). Parked for an operator so it stops taking a worker every lease.
        most = settings.OUTBOX_DISPATCH_MAX_ATTEMPTS
        poison = {e.pk for e in events if e.dispatch_attempts >= most}
        parked = outbox_park_dead(event_ids=list(poison))
        if parked:
            logger.error("outbox relay: %d event(s) parked as dead after repeated failures", parked)
        due = [e for e in events if e.pk not in poison]
        for event in due:
            try:
                # Published while the rows are locked: no other relay can hand the same event
                # out meanwhile. The dispatch may start before we commit; it waits for our
                # row lock (see outbox_lock_for_dispatch), then finds the event pending.
                # With the id of the request that made the event, not of whatever kicked
                # this relay run (another request, or beat: none).
                task_named("integrations.event_dispatch").apply_async(
                    args=(str(event.pk),),
                    retry=False,
                    headers={REQUEST_ID_HEADER: event.request_id},
                )
            except Exception:  # the broker is down: leave the rest due for the next run
                logger.warning(
                    "outbox relay: broker unavailable, %d event(s) stay pending",
                    len(due) - len(published),
                )
                break
            published.append(event)
        outbox_lease(events=published, lease_seconds=settings.OUTBOX_DISPATCH_LEASE_SECONDS)
    # Handed out before and not fanned out since: the message (or its worker) was lost.
    metric_incr("outbox_redispatched", by=sum(1 for e in published if e.dispatch_attempts))
    return RelayResult(claimed=len(events), published=len(published), parked=parked)


def event_dispatch(*, event_id: str) -> int:
    """Fan one event out to webhook deliveries and connector handlers and mark it dispatched,
    in one transaction; returns the deliveries created (0 if it was done already).

    On failure nothing is written (the transaction rolls back) and nothing needs to be: the
    lease the relay stamped lapses and the event is handed out again. The error is kept for
    operators when the database allows it."""
    try:
        with transaction.atomic():
            event = outbox_lock_for_dispatch(event_id=event_id)
            if event is None:  # done by another copy, parked, or unknown
                return 0
            deliveries = deliveries_create_for_event(event=event)
            for handler in handlers_for(event.type):
                handler(event)
            outbox_mark_dispatched(event_ids=[event.pk])
        if event.dispatch_attempts > 1:  # an earlier hand-out was lost; this one made it
            metric_incr("outbox_recovered")
    except Exception as exc:
        logger.exception("event_dispatch %s failed; handed out again after its lease", event_id)
        try:
            outbox_note_failure(event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        except Exception:  # the database is what failed: the lease still lapses
            logger.warning("could not record the dispatch error of %s", event_id)
        raise
    return len(deliveries)
