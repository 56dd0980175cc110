"""Reads of the cross-cutting records: the outbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import QuerySet

from fintech.core.models import OutboxEvent


def outbox_event_get(*, event_id: uuid.UUID | str) -> OutboxEvent | None:
    return OutboxEvent.objects.filter(pk=event_id).first()


def outbox_pending_count(*, older_than: datetime | None = None) -> int:
    """Events not fanned out yet, handed out or not (a dashboard and alerting figure)."""
    queryset: QuerySet[OutboxEvent] = OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING)
    if older_than is not None:
        queryset = queryset.filter(occurred_at__lt=older_than)
    return queryset.count()
