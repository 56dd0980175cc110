"""Retention of integrations' logs: webhook deliveries (with their attempts) and inbound
webhooks, deleted in bounded batches by `integrations.retention_purge` (beat, hourly).

Only finished rows older than their retention go. Never deleted: a delivery still pending
(it is a retry waiting), an inbound message not yet processed (received or processing), a
row whose last activity is recent (a redelivery, a reprocess), or a row parked as an open
dead letter (an operator has yet to look at it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q

from fintech.core.models import DeadLetter
from fintech.core.retention import delete_in_batches, retention_cutoff
from integrations.models import InboundWebhook, WebhookDelivery

FINISHED_DELIVERIES = [
    WebhookDelivery.Status.SUCCEEDED,
    WebhookDelivery.Status.FAILED,
    WebhookDelivery.Status.EXHAUSTED,
]
FINISHED_INBOUND = [
    InboundWebhook.Status.PROCESSED,
    InboundWebhook.Status.IGNORED,
    InboundWebhook.Status.FAILED,
    InboundWebhook.Status.REJECTED,
]


def _open_dead_letter_references(source: str) -> list[str]:
    return list(
        DeadLetter.objects.filter(source=source, resolved_at__isnull=True).values_list(
            "reference", flat=True
        )
    )


def webhook_deliveries_purge(*, now: dt.datetime | None = None) -> int:
    cutoff = retention_cutoff(days=settings.RETENTION_WEBHOOK_DELIVERIES_DAYS, now=now)
    if cutoff is None:
        return 0
    parked = [
        int(r)
        for r in _open_dead_letter_references(WebhookDelivery.DEAD_LETTER_SOURCE)
        if r.isdigit()
    ]
    return delete_in_batches(
        WebhookDelivery.objects.filter(
            Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff),
            status__in=FINISHED_DELIVERIES,
            created_at__lt=cutoff,
        ).exclude(pk__in=parked)
    )


def inbound_webhooks_purge(*, now: dt.datetime | None = None) -> int:
    cutoff = retention_cutoff(days=settings.RETENTION_INBOUND_WEBHOOKS_DAYS, now=now)
    if cutoff is None:
        return 0
    parked: list[uuid.UUID] = []
    for reference in _open_dead_letter_references(InboundWebhook.DEAD_LETTER_SOURCE):
        try:
            parked.append(uuid.UUID(reference.rpartition(":")[2]))
        except ValueError:
            continue
    return delete_in_batches(
        InboundWebhook.objects.filter(
            Q(processed_at__isnull=True) | Q(processed_at__lt=cutoff),
            status__in=FINISHED_INBOUND,
            received_at__lt=cutoff,
        ).exclude(pk__in=parked)
    )


def retention_purge(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """One bounded run over every integrations log; returns how many rows each lost."""
    return {
        "webhook_deliveries": webhook_deliveries_purge(now=now),
        "inbound_webhooks": inbound_webhooks_purge(now=now),
    }
