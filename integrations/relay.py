"""The outbox relay: hands committed events to Celery, then fans each one out.

1. `outbox_relay` (beat every few seconds, and a kick after every commit that wrote events)
   locks a batch of pending events with SKIP LOCKED, publishes one `event_dispatch` task per
   event and marks exactly the published ones dispatched. If Redis is down the publish fails,
   the rest of the batch stays pending and the next run picks it up: nothing is lost.
2. `event_dispatch(event_id)` (in a worker) creates the event's webhook deliveries and runs
   the connector handlers subscribed to its type. Everything it writes is unique per event,
   so an event handed out twice (publish succeeded, commit lost) is acted on once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from fintech.core.models import OutboxEvent
from fintech.core.selectors import outbox_event_get
from fintech.core.services import outbox_claim_batch, outbox_mark_dispatched
from integrations.signals import relay_kick_clear

logger = logging.getLogger(__name__)

EventHandler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class RelayResult:
    claimed: int
    published: int


def outbox_relay(*, limit: int | None = None) -> RelayResult:
    from integrations.tasks import event_dispatch

    limit = limit or settings.OUTBOX_RELAY_BATCH_SIZE
    published: list[object] = []
    relay_kick_clear()  # before the claim: see integrations/signals.py
    with transaction.atomic():
        events = outbox_claim_batch(limit=limit)
        for event in events:
            try:
                # Published while the rows are locked: no other relay can hand the same event
                # out meanwhile. The dispatch task may even start before we commit; it reads
                # the event row, which was committed by the business transaction long ago.
                event_dispatch.apply_async(args=(str(event.pk),), retry=False)
            except Exception:  # the broker is down: leave the rest pending for the next run
                logger.warning(
                    "outbox relay: broker unavailable, %d event(s) stay pending",
                    len(events) - len(published),
                )
                break
            published.append(event.pk)
        outbox_mark_dispatched(event_ids=published)
    return RelayResult(claimed=len(events), published=len(published))


def handlers_for(event_type: str) -> list[EventHandler]:
    """Connector handlers subscribed to an event type (per the configured connectors)."""
    handlers: list[EventHandler] = []
    if settings.PAYOUT_CONNECTOR == "sandbox" and event_type == "transfer.submitted":
        from integrations.connectors.payout.sandbox.handlers import on_transfer_submitted

        handlers.append(on_transfer_submitted)
    if settings.KYC_CONNECTOR == "sandbox" and event_type == "compliance.submitted":
        from integrations.connectors.kyc.sandbox.handlers import on_compliance_submitted

        handlers.append(on_compliance_submitted)
    return handlers


def event_dispatch(*, event_id: str) -> int:
    """Fan one event out to webhook deliveries and connector handlers; returns deliveries."""
    from integrations.webhooks.services import deliveries_create_for_event

    event = outbox_event_get(event_id=event_id)
    if event is None:
        logger.error("event_dispatch: no outbox event %s", event_id)
        return 0
    with transaction.atomic():
        deliveries = deliveries_create_for_event(event=event)
        for handler in handlers_for(event.type):
            handler(event)
    return len(deliveries)
