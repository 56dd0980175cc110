"""Writes shared by every domain: the audit row and the outbox event of an action.

Both run in nearly every business transaction, so they insert with SQL built once
(fintech.core.sql.insert) rather than compiled by the ORM on each call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fintech.core.logs import current_request_id
from fintech.core.models import AuditEvent, OutboxEvent
from fintech.core.sql import insert


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a staff or customer user, an OAuth application, or a system job."""

    label: str
    user_id: int | None = None
    request_id: str = ""

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(label=f"system:{job}")

    @classmethod
    def for_user(cls, user: AbstractBaseUser | AnonymousUser, *, request_id: str = "") -> Actor:
        if not user.is_authenticated:
            return cls(label="anonymous", request_id=request_id)
        return cls(label=f"user:{user.get_username()}", user_id=user.pk, request_id=request_id)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: Any,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return insert(
        AuditEvent(
            actor_id=actor.user_id,
            actor_label=actor.label,
            action=action,
            target_type=target._meta.label_lower,
            target_id=str(target.pk),
            reason=reason,
            request_id=actor.request_id,
            data=data or {},
        )
    )


def login_lockout_record(
    *, username: str, ip_address: str, path: str, failures: int, request_id: str
) -> AuditEvent | None:
    """A login lockout (django-axes: too many failed attempts) in the audit trail.

    The object is the user whose name was tried, or the attempt row itself when no such user
    exists (a lockout by address, or a guessed name)."""
    target: Any = get_user_model().objects.filter(username=username).first()
    if target is None:
        target = (
            AccessAttempt.objects.filter(username=username, ip_address=ip_address)
            .order_by("-attempt_time")
            .first()
        )
    if target is None:
        return None
    return audit_record(
        actor=Actor(label=f"address:{ip_address}", request_id=request_id),
        action="login.locked_out",
        target=target,
        reason=f"{failures} failed login attempts",
        data={"username": username, "ip_address": ip_address, "path": path, "failures": failures},
    )


def event_emit(
    *, type: str, payload: dict[str, Any], profile_id: int | None, version: int = 1
) -> OutboxEvent:
    """Write an event into the outbox; must run inside the transaction that made the fact."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction that made the fact")
    return insert(
        OutboxEvent(
            type=type,
            version=version,
            occurred_at=timezone.now(),
            profile_id=profile_id,
            payload=payload,
            request_id=current_request_id(),
        )
    )


# ---------------------------------------------------------------------------------------------
# Outbox relay support (the relay itself lives in integrations; it never writes core tables).


def outbox_claim_batch(*, limit: int) -> list[OutboxEvent]:
    """Lock up to `limit` events due for a hand-out, oldest first: pending, and no hand-out
    awaited (never handed out, or its lease lapsed: the message was lost, the worker died or
    the dispatch failed). Must run inside a transaction.

    Why SKIP LOCKED: several relays (the beat tick and after-commit kicks, on several workers)
    run at once. Each takes rows no other relay holds and skips the rest instead of queueing
    behind them, so no event is handed out twice concurrently and no relay waits. The locks
    last until the caller's transaction ends, after it has published and leased the rows.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_claim_batch must run inside a transaction")
    now = timezone.now()
    return list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(status=OutboxEvent.Status.PENDING)
        .filter(Q(dispatch_until__isnull=True) | Q(dispatch_until__lt=now))
        .order_by("occurred_at", "id")[:limit]
    )


def outbox_lease(*, events: list[OutboxEvent], lease_seconds: int) -> None:
    """Record a hand-out of `events` (locked by outbox_claim_batch): one more attempt, and no
    other hand-out until the lease lapses. The lease doubles with each attempt (capped at an
    hour), so a backlog the workers are slow to drain is not flooded with copies."""
    now = timezone.now()
    by_attempts: dict[int, list[Any]] = {}
    for event in events:
        by_attempts.setdefault(event.dispatch_attempts, []).append(event.pk)
    for attempts, ids in by_attempts.items():
        seconds = min(lease_seconds * 2 ** min(attempts, 16), 3600)
        OutboxEvent.objects.filter(pk__in=ids).update(
            dispatch_attempts=attempts + 1, dispatch_until=now + timedelta(seconds=seconds)
        )


def outbox_lock_for_dispatch(*, event_id: Any) -> OutboxEvent | None:
    """Lock a pending event for its fan-out; None if it is done, dead or unknown. Must run in
    the transaction that writes the fan-out and then calls outbox_mark_dispatched.

    Why FOR UPDATE: two copies of one dispatch (a lease that lapsed while the first copy
    waited in the queue, a broker redelivery) fan out one after the other; the second finds
    the event dispatched and does nothing."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_lock_for_dispatch must run inside a transaction")
    return (
        OutboxEvent.objects.select_for_update()
        .filter(pk=event_id, status=OutboxEvent.Status.PENDING)
        .first()
    )


def outbox_mark_dispatched(*, event_ids: list[Any]) -> int:
    """Mark events fanned out: called in the transaction that committed their fan-out rows
    (or for events nobody should act on, as the demo's history). Conditional on `pending`:
    marking twice is a no-op."""
    if not event_ids:
        return 0
    return OutboxEvent.objects.filter(pk__in=event_ids, status=OutboxEvent.Status.PENDING).update(
        status=OutboxEvent.Status.DISPATCHED,
        dispatched_at=timezone.now(),
        dispatch_until=None,
        last_error="",
    )


def outbox_note_failure(*, event_id: Any, error: str) -> None:
    """Keep the last dispatch error for operators. Best effort: the event is handed out again
    when its lease lapses whether or not this write happens."""
    OutboxEvent.objects.filter(pk=event_id, status=OutboxEvent.Status.PENDING).update(
        last_error=error[:1000]
    )


def outbox_park_dead(*, event_ids: list[Any]) -> int:
    """Park events whose dispatch kept failing, so the rest flow; an operator dispatches them
    again after a fix (outbox_requeue)."""
    if not event_ids:
        return 0
    events = OutboxEvent.objects.filter(pk__in=event_ids, status=OutboxEvent.Status.PENDING)
    events.filter(last_error="").update(last_error="handed out, never fanned out (lost?)")
    return events.update(status=OutboxEvent.Status.DEAD, dispatch_until=None)


def outbox_requeue(*, event_ids: list[Any]) -> int:
    """Put dispatched or dead events back to pending, attempts reset, so the relay hands them
    out again (operators' "dispatch again" action; consumers are idempotent per event id)."""
    return OutboxEvent.objects.filter(
        pk__in=event_ids,
        status__in=[OutboxEvent.Status.DISPATCHED, OutboxEvent.Status.DEAD],
    ).update(
        status=OutboxEvent.Status.PENDING,
        dispatched_at=None,
        dispatch_until=None,
        dispatch_attempts=0,
        last_error="",
    )
