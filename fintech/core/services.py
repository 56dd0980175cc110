"""Writes shared by every domain: the audit row and the outbox event of an action.

Both run in nearly every business transaction, so they insert with SQL built once
(fintech.core.sql.insert) rather than compiled by the ORM on each call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

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
        )
    )


# ---------------------------------------------------------------------------------------------
# Outbox relay support (the relay itself lives in integrations; it never writes core tables).


def outbox_claim_batch(*, limit: int) -> list[OutboxEvent]:
    """Lock up to `limit` pending events, oldest first; must run inside a transaction.

    Why SKIP LOCKED: several relays (the beat tick and after-commit kicks, on several workers)
    run at once. Each takes rows no other relay holds and skips the rest instead of queueing
    behind them, so no event is handed out twice concurrently and no relay waits. The locks
    last until the caller's transaction ends, after it has published and marked the rows.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_claim_batch must run inside a transaction")
    return list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(status=OutboxEvent.Status.PENDING)
        .order_by("occurred_at", "id")[:limit]
    )


def outbox_mark_dispatched(*, event_ids: list[Any]) -> int:
    """Mark events handed to the queue. Conditional on `pending`: marking twice is a no-op."""
    if not event_ids:
        return 0
    return OutboxEvent.objects.filter(pk__in=event_ids, status=OutboxEvent.Status.PENDING).update(
        status=OutboxEvent.Status.DISPATCHED, dispatched_at=timezone.now()
    )


def outbox_requeue(*, event_ids: list[Any]) -> int:
    """Put dispatched events back to pending so the relay hands them out again (operators'
    "re-dispatch" action; consumers are idempotent per event id)."""
    return OutboxEvent.objects.filter(
        pk__in=event_ids, status=OutboxEvent.Status.DISPATCHED
    ).update(status=OutboxEvent.Status.PENDING, dispatched_at=None)
