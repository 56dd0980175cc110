"""Claiming work rows: the one pattern every integrations task uses.

A task carries only a row id. Before doing anything it claims the row with a conditional
UPDATE that must change exactly one row (`locked_until` empty or lapsed); a second copy of the
same message (a broker redelivery, a scanner re-enqueue) changes nothing and stops. A worker
that dies while holding a claim leaves `locked_until` to lapse; the beat scanner then
re-enqueues the row. So every task is safe to run twice, and nothing waits on Redis for
anything longer than a lease.

Leases are sized to the work (a little above the longest call the task makes: the webhook
timeout, a partner's timeout), never to the broker's visibility timeout: a killed worker's row
is picked up by the scanner (every 5 s) once its lease lapses, within about a minute.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from celery import current_app
from celery.canvas import Signature
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from fintech.core.metrics import metric_incr

logger = logging.getLogger(__name__)


def lock_free(now: Any = None) -> Q:
    now = now or timezone.now()
    return Q(locked_until__isnull=True) | Q(locked_until__lt=now)


def claim_one(
    model: type[models.Model],
    pk: Any,
    *,
    lease_seconds: int,
    ready: Q | None = None,
    count_attempt: bool = True,
    **also: Any,
) -> bool:
    """Claim row `pk` if it is `ready` and nobody holds it; True if this caller won it."""
    now = timezone.now()
    updates: dict[str, Any] = {"locked_until": now + timedelta(seconds=lease_seconds), **also}
    if count_attempt:
        updates["attempts"] = F("attempts") + 1
    # Why a conditional UPDATE rather than SELECT then UPDATE: the check and the claim are one
    # statement, so of two workers given the same id exactly one sees "1 row changed".
    changed = model._default_manager.filter(Q(pk=pk), ready or Q(), lock_free(now)).update(
        **updates
    )
    return changed == 1


def release(model: type[models.Model], pk: Any, **fields: Any) -> None:
    model._default_manager.filter(pk=pk).update(locked_until=None, **fields)


def take_due(
    model: type[models.Model],
    *,
    ready: Q,
    limit: int,
    republish_after_seconds: int,
    order_by: Sequence[str] = ("pk",),
    due_field: str | None = None,
) -> list[Any]:
    """Ids of rows that are ready, not held and not published recently, stamped as published
    now. Used by the beat scanner: a row whose message was lost (Redis down, a worker killed)
    is published again after `republish_after_seconds`, but a healthy backlog is not flooded
    with copies.

    `due_field` names the row's due time (`next_attempt_at`): a row rescheduled after its
    last publication (a retry due in 5 s) is published when it falls due, not held back by
    the republish window, which only guards against copies of the same wake-up."""
    now = timezone.now()
    recent = now - timedelta(seconds=republish_after_seconds)
    not_recent = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=recent)
    if due_field is not None:
        not_recent |= Q(enqueued_at__lt=F(due_field))
    with transaction.atomic():
        # Why SKIP LOCKED: two beat scanners (or a scanner and a kick) must not both stamp and
        # publish the same rows; each takes what the other has not locked.
        rows = list(
            model._default_manager.select_for_update(skip_locked=True)
            .filter(ready, lock_free(now))
            .filter(not_recent)
            .order_by(*order_by)
            .annotate(
                # Published before, for this due time (or without one): that wake-up was lost.
                was_lost=Q(enqueued_at__isnull=False)
                & (Q(enqueued_at__gte=F(due_field)) if due_field else Q())
            )
            .values_list("pk", "was_lost")[:limit]
        )
        ids = [pk for pk, _ in rows]
        model._default_manager.filter(pk__in=ids).update(enqueued_at=now)
    metric_incr(
        "scan_republished",
        by=sum(1 for _, lost in rows if lost),
        labels={"kind": model._meta.model_name or ""},
    )
    return ids


def task_named(name: str) -> Signature:
    """A task by its stable name (`integrations.payout_submit`). Modules a tasks module imports
    publish through this, never by importing the task: the dependency then points one way
    (tasks -> services). Published as the task itself would be (its options, the app's
    routes); where the task is not registered in this process, by name (send_task)."""
    return current_app.signature(name)


def publish_taken(task: str, model: type[models.Model], ids: list[Any]) -> int:
    """Publish task `task` (its stable name) for rows stamped by `take_due`. Those the broker
    refused are un-stamped, so the next scanner tick (seconds) tries them again instead of
    waiting out the republish window."""
    published = enqueue(task, *ids)
    if published < len(ids):
        model._default_manager.filter(pk__in=ids[published:]).update(enqueued_at=None)
    return published


def enqueue(task: str, *ids: Any) -> int:
    """Publish one task `task` (its stable name) per id; a broker failure is logged, not
    raised: the row stays due and the beat scanner publishes it later. Returns how many were
    published."""
    published = 0
    for pk in ids:
        try:
            task_named(task).apply_async(args=(str(pk),), retry=False)
        except Exception:  # the broker is down: the scanner retries from the database
            logger.warning("could not publish %s(%s); the scanner will retry", task, pk)
            return published
        published += 1
    return published


def enqueue_on_commit(task: str, model: type[models.Model], *ids: Any) -> None:
    """Publish task `task` (its stable name) after the current transaction commits (never
    before: the worker must find the rows it is given). The rows were stamped `enqueued_at`;
    those the broker refuses are un-stamped (publish_taken), so the scanner's next tick
    publishes them, not a lease later."""
    if ids:
        transaction.on_commit(lambda: publish_taken(task, model, list(ids)), robust=True)
