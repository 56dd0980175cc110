"""Deleting old operational rows (logs, delivery records) in bounded batches.

One DELETE of millions of rows holds its locks and bloats the WAL for as long as it runs;
batches of RETENTION_BATCH_SIZE rows, at most RETENTION_MAX_BATCHES per run, keep each
statement short and each beat run bounded (a backlog is worked off over several runs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


def retention_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """The time before which rows kept `days` days may go; None when `days` is 0 (kept
    forever)."""
    if days <= 0:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


def delete_in_batches(
    queryset: models.QuerySet[Any],
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> int:
    """Delete the rows of `queryset` (related rows cascade), `batch_size` at a time, at most
    `max_batches` batches; returns how many rows of its model were deleted."""
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    max_batches = max_batches or settings.RETENTION_MAX_BATCHES
    model = queryset.model
    deleted = 0
    for _ in range(max_batches):
        # Each batch its own transaction: a run stopped half-way keeps what it did.
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            _, per_model = model._default_manager.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            break
    return deleted
