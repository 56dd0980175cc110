"""Operators close sync mismatches with a note; nothing on either side is adjusted here."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from fintech.core.services import Actor, audit_record
from integrations.errors import PermanentError
from integrations.sync.models import SyncMismatch


def mismatch_resolve(*, actor: Actor, mismatch_id: int, note: str) -> SyncMismatch:
    """Mark an open mismatch resolved, saying how (the note is the evidence auditors read)."""
    if not note.strip():
        raise PermanentError("say how the mismatch was resolved")
    with transaction.atomic():
        # Why a row lock: two operators resolving at once must not both write their note.
        mismatch = SyncMismatch.objects.select_for_update().get(pk=mismatch_id)
        if mismatch.status != SyncMismatch.Status.OPEN:
            raise PermanentError("this mismatch is already resolved")
        mismatch.status = SyncMismatch.Status.RESOLVED
        mismatch.resolved_by = actor.label[:200]
        mismatch.resolution_note = note[:2000]
        mismatch.resolved_at = timezone.now()
        mismatch.save(update_fields=["status", "resolved_by", "resolution_note", "resolved_at"])
        audit_record(actor=actor, action="sync_mismatch.resolve", target=mismatch, reason=note)
    return mismatch
