"""Operators' writes on exception items: assign, snooze, resolve. Each locks the items it
changes, writes one audit row per item with the staff user as actor, in one transaction.

Items of sources the actor may not see are not touched: the caller passes the ids it chose
from the actor's own list, and every function filters them again by the actor's sources
(a forged id of another role's item changes nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from fintech.core.errors import FieldError, ValidationFailed
from fintech.core.services import Actor, audit_record
from integrations.inbox.selectors import items_visible_to
from integrations.models import ExceptionItem

NOTE_CHARS = 2000


def _open_locked(*, user: Any, item_ids: Iterable[int]) -> QuerySet[ExceptionItem]:
    # Row locks in id order: two operators acting on overlapping selections cannot deadlock,
    # and the second sees the first's change (an item resolved meanwhile is skipped).
    return (
        items_visible_to(user)
        .select_for_update()
        .filter(pk__in=list(item_ids), resolved_at__isnull=True)
        .order_by("pk")
    )


def _required(field: str, text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed([FieldError(field, "required", f"A {field} is required.")])
    return text[:NOTE_CHARS]


def exception_assign(*, actor: Actor, user: Any, item_ids: Iterable[int], owner: Any) -> int:
    """Give the open items to `owner` (a staff user, or None to unassign); returns how many."""
    if owner is not None and not (owner.is_active and owner.is_staff):
        raise ValidationFailed([FieldError("owner", "not_staff", "Assign to active staff only.")])
    changed = 0
    with transaction.atomic():
        for item in _open_locked(user=user, item_ids=item_ids):
            if item.owner_id == (owner.pk if owner else None):
                continue
            previous = item.owner_id
            item.owner = owner
            item.save(update_fields=["owner"])
            audit_record(
                actor=actor,
                action="exception.assign",
                target=item,
                data={"owner_id": item.owner_id, "previous_owner_id": previous},
            )
            changed += 1
    return changed


def exception_snooze(
    *, actor: Actor, user: Any, item_ids: Iterable[int], until: datetime, reason: str
) -> int:
    """Hide the open items from the open list until `until`, with a reason; they come back by
    themselves then (the open list is "not snoozed past now": nothing has to wake them)."""
    reason = _required("reason", reason)
    if until <= timezone.now():
        raise ValidationFailed([FieldError("until", "in_past", "Snooze until a future time.")])
    changed = 0
    with transaction.atomic():
        for item in _open_locked(user=user, item_ids=item_ids):
            item.snoozed_until = until
            item.snooze_reason = reason
            item.save(update_fields=["snoozed_until", "snooze_reason"])
            audit_record(
                actor=actor,
                action="exception.snooze",
                target=item,
                reason=reason,
                data={"until": until.isoformat()},
            )
            changed += 1
    return changed


def exception_resolve(*, actor: Actor, user: Any, item_ids: Iterable[int], note: str) -> int:
    """Resolve the open items with a note. The source is not changed: if its problem happens
    again later, the scan opens a new item (scan.py)."""
    note = _required("note", note)
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        for item in _open_locked(user=user, item_ids=item_ids):
            item.resolved_at = now
            item.resolved_by_id = actor.user_id
            item.resolution_note = note
            item.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
            audit_record(actor=actor, action="exception.resolve", target=item, reason=note)
            changed += 1
    return changed
