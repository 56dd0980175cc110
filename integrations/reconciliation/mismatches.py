"""Mismatches: raised by runs, worked by operators to zero.

Every service locks the mismatch row, runs the FSM transition, writes the audit row and
emits the event in one transaction. Nothing is deleted (a trigger refuses it); a resolution
is by a manual match, a correcting ledger entry (through `ledger.services.entry_post`, with
a reason), a note, or a write-off, which above `RECONCILIATION_WRITE_OFF_THRESHOLD_MINOR`
needs a second operator (the maker cannot approve their own request).

A resolved or written-off mismatch reopens when a later run finds the same exception with
different facts (its fingerprint: difference, our side, their side): new data contradicts
the resolution. The same facts again leave the resolution standing (a written-off stray
line is still unmatched: that is what was written off).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fintech.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from fintech.core.services import Actor, audit_record, event_emit
from integrations.reconciliation.models import (
    Mismatch,
    ReconMatch,
    ReconMatchItem,
    ReconRun,
    StatementLine,
)
from integrations.reconciliation.selectors import postings_signed
from ledger.services import PostingSpec, entry_post


@dataclass(frozen=True)
class Exception_:
    """One exception a check lists: its stable key and the facts on both sides."""

    key: str
    detail: str
    ours: dict[str, Any] = field(default_factory=dict)
    theirs: dict[str, Any] = field(default_factory=dict)
    currency: str = ""
    difference_minor: int = 0
    bank_account_id: int | None = None

    def fingerprint(self) -> str:
        blob = json.dumps([self.difference_minor, self.ours, self.theirs], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def write_off_threshold_minor() -> int:
    return int(getattr(settings, "RECONCILIATION_WRITE_OFF_THRESHOLD_MINOR", 1000))


def _fingerprint(m: Mismatch) -> str:
    blob = json.dumps([m.difference_minor, m.ours, m.theirs], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _announce(m: Mismatch, what: str) -> None:
    event_emit(
        type=f"reconciliation.mismatch.{what}",
        payload={"mismatch_id": m.pk, "check": m.check_name, "key": m.key, "state": m.state,
                 "currency": m.currency, "difference_minor": m.difference_minor},
        profile_id=None,
    )  # fmt: skip


def _locked(mismatch_id: int) -> Mismatch:
    # The row lock serialises two operators (or an operator and a run) on one mismatch.
    try:
        return Mismatch.objects.select_for_update().get(pk=mismatch_id)
    except Mismatch.DoesNotExist:
        raise NotFound(f"mismatch {mismatch_id} does not exist") from None


def _refuse_unless(m: Mismatch, *states: str) -> None:
    if m.state not in states:
        raise Conflict(f"mismatch {m.pk} is {m.state}; this needs {' or '.join(states)}")


@transaction.atomic
def mismatch_raise(*, exc: Exception_, check_name: str, as_of: date, run: ReconRun) -> str:
    """Record what a run found: 'opened', 'reopened', 'seen' (still open) or 'standing'
    (resolved earlier on the same facts)."""
    actor = Actor.system("reconciliation")
    m = Mismatch.objects.select_for_update().filter(check_name=check_name, key=exc.key).first()
    facts = {"detail": exc.detail, "ours": exc.ours, "theirs": exc.theirs,
             "currency": exc.currency, "difference_minor": exc.difference_minor}  # fmt: skip
    if m is None:
        m = Mismatch.objects.create(
            check_name=check_name, key=exc.key, as_of=as_of, last_seen_run=run,
            bank_account_id=exc.bank_account_id, **facts,
        )  # fmt: skip
        audit_record(actor=actor, action="mismatch.opened", target=m, data={"run": run.pk})
        _announce(m, "opened")
        return "opened"
    if m.state in (Mismatch.State.OPEN, Mismatch.State.INVESTIGATING):
        for name, value in facts.items():
            setattr(m, name, value)
        m.last_seen_run = run
        m.save()
        return "seen"
    if _fingerprint(m) == exc.fingerprint():
        return "standing"
    before = {"state": m.state, "resolution": m.resolution, "difference_minor": m.difference_minor}
    for name, value in facts.items():
        setattr(m, name, value)
    m.reopen()
    m.last_seen_run = run
    m.save()
    audit_record(
        actor=actor, action="mismatch.reopened", target=m,
        reason="a later run found different facts", data={"run": run.pk, "before": before},
    )  # fmt: skip
    _announce(m, "reopened")
    return "reopened"


@transaction.atomic
def mismatch_clear(*, mismatch_id: int, run: ReconRun) -> None:
    """The run no longer finds it: resolved as cleared (e.g. the missing line arrived)."""
    m = _locked(mismatch_id)
    if m.state not in (Mismatch.State.OPEN, Mismatch.State.INVESTIGATING):
        return
    m.resolve()
    m.resolution = Mismatch.Resolution.CLEARED
    m.resolved_by = "system:reconciliation"
    m.resolution_note = f"no longer found by run {run.pk} ({run.as_of})"
    m.save()
    audit_record(
        actor=Actor.system("reconciliation"), action="mismatch.cleared", target=m,
        data={"run": run.pk},
    )  # fmt: skip
    _announce(m, "resolved")


@transaction.atomic
def mismatch_investigate(*, actor: Actor, mismatch_id: int, owner_id: int | None = None) -> None:
    """Take it: open -> investigating, owned by `owner_id` (default: the actor)."""
    m = _locked(mismatch_id)
    _refuse_unless(m, Mismatch.State.OPEN)
    m.investigate()
    m.owner_id = owner_id or actor.user_id
    m.save()
    audit_record(actor=actor, action="mismatch.investigating", target=m,
                 data={"owner_id": m.owner_id})  # fmt: skip


@transaction.atomic
def mismatch_assign(*, actor: Actor, mismatch_id: int, owner_id: int | None) -> None:
    m = _locked(mismatch_id)
    before = m.owner_id
    m.owner_id = owner_id
    m.save(update_fields=["owner"])
    audit_record(actor=actor, action="mismatch.assigned", target=m,
                 data={"from": before, "to": owner_id})  # fmt: skip


def _finish(m: Mismatch, *, actor: Actor, resolution: str, note: str, what: str) -> None:
    m.resolution = resolution
    m.resolution_note = note
    m.resolved_by = actor.label
    m.save()
    audit_record(actor=actor, action=f"mismatch.{what}", target=m, reason=note,
                 data={"resolution": resolution, "entry_id": m.correcting_entry_id,
                       "match_id": m.match_id})  # fmt: skip
    _announce(m, what)


def _reason(reason: str, *, name: str = "reason") -> str:
    if not reason.strip():
        raise ValidationFailed([FieldError(name, "required", "say why, for the audit trail")])
    return reason.strip()


@transaction.atomic
def mismatch_resolve_note(*, actor: Actor, mismatch_id: int, note: str) -> None:
    m = _locked(mismatch_id)
    _refuse_unless(m, Mismatch.State.OPEN, Mismatch.State.INVESTIGATING)
    m.resolve()
    _finish(m, actor=actor, resolution=Mismatch.Resolution.NOTE,
            note=_reason(note, name="note"), what="resolved")  # fmt: skip


@transaction.atomic
def match_manual(
    *, actor: Actor, bank_account_id: int, line_ids: list[int], posting_ids: list[int], note: str
) -> ReconMatch:
    """An operator's match of lines and postings (any number on each side) whose amounts
    add up; the database refuses a line or posting already in a live match."""
    if not line_ids:
        raise ValidationFailed([FieldError("line_ids", "required", "pick at least one line")])
    if not posting_ids:
        raise ValidationFailed([FieldError("posting_ids", "required", "pick a ledger record")])
    lines = list(
        StatementLine.objects.filter(pk__in=line_ids, statement__bank_account_id=bank_account_id)
    )
    if len(lines) != len(set(line_ids)):
        raise ValidationFailed(
            [FieldError("line_ids", "unknown", "a line is not on this bank account")]
        )
    postings = postings_signed(bank_account_id=bank_account_id, posting_ids=posting_ids)
    if len(postings) != len(set(posting_ids)):
        raise ValidationFailed(
            [FieldError("posting_ids", "unknown", "a posting is not on this account's ledger")]
        )
    total_lines = sum(x.amount_minor for x in lines)
    total_postings = sum(postings.values())
    if total_lines != total_postings:
        raise ValidationFailed([FieldError(
            "posting_ids", "amounts_differ",
            f"lines add up to {total_lines}, ledger records to {total_postings}",
        )])  # fmt: skip
    taken = ReconMatchItem.objects.filter(active=True).filter(
        statement_line_id__in=line_ids
    ) | ReconMatchItem.objects.filter(active=True, posting_id__in=posting_ids)
    if taken.exists():
        raise Conflict("a line or ledger record is already matched")
    match = ReconMatch.objects.create(
        bank_account_id=bank_account_id, rule=ReconMatch.Rule.MANUAL, confidence=100,
        created_by=actor.label, note=_reason(note, name="note"),
    )  # fmt: skip
    ReconMatchItem.objects.bulk_create(
        [
            ReconMatchItem(
                match=match,
                statement_line=x,
                amount_minor=x.amount_minor,
                created_at=match.created_at,
            )
            for x in lines
        ]
        + [
            ReconMatchItem(match=match, posting_id=p, amount_minor=a, created_at=match.created_at)
            for p, a in postings.items()
        ]
    )
    audit_record(actor=actor, action="reconciliation.matched", target=match, reason=note,
                 data={"line_ids": line_ids, "posting_ids": posting_ids})  # fmt: skip
    return match


@transaction.atomic
def mismatch_resolve_by_match(
    *, actor: Actor, mismatch_id: int, line_ids: list[int], posting_ids: list[int], note: str
) -> ReconMatch:
    m = _locked(mismatch_id)
    _refuse_unless(m, Mismatch.State.OPEN, Mismatch.State.INVESTIGATING)
    if m.bank_account_id is None:
        raise Conflict(f"mismatch {m.pk} has no bank account: match from the workbench")
    match = match_manual(actor=actor, bank_account_id=m.bank_account_id, line_ids=line_ids,
                         posting_ids=posting_ids, note=note)  # fmt: skip
    m.resolve()
    m.match = match
    _finish(m, actor=actor, resolution=Mismatch.Resolution.MANUAL_MATCH, note=note,
            what="resolved")  # fmt: skip
    return match


@transaction.atomic
def mismatch_resolve_by_entry(
    *, actor: Actor, mismatch_id: int, postings: list[PostingSpec], reason: str
) -> int:
    """Post a correcting entry through the ledger (balanced, idempotent per mismatch and
    reopening), then resolve. Returns the entry id."""
    m = _locked(mismatch_id)
    _refuse_unless(m, Mismatch.State.OPEN, Mismatch.State.INVESTIGATING)
    reason = _reason(reason)
    entry = entry_post(
        idempotency_key=f"recon-correction:{m.pk}:{m.times_reopened}",
        postings=postings,
        memo=f"reconciliation correction for mismatch {m.pk}: {reason}"[:500],
        metadata={"mismatch_id": m.pk, "reason": reason, "actor": actor.label,
                  "reference": f"RECON-{m.pk}"},
    )  # fmt: skip
    m.resolve()
    m.correcting_entry_id = entry.pk
    _finish(m, actor=actor, resolution=Mismatch.Resolution.CORRECTING_ENTRY, note=reason,
            what="resolved")  # fmt: skip
    return int(entry.pk)


@transaction.atomic
def mismatch_write_off(*, actor: Actor, mismatch_id: int, reason: str) -> bool:
    """Write off at once up to the threshold (True); above it, record the request for a
    second operator (False)."""
    m = _locked(mismatch_id)
    _refuse_unless(m, Mismatch.State.OPEN, Mismatch.State.INVESTIGATING)
    reason = _reason(reason)
    if abs(m.difference_minor) <= write_off_threshold_minor():
        m.write_off()
        _finish(m, actor=actor, resolution=Mismatch.Resolution.WRITE_OFF, note=reason,
                what="written_off")  # fmt: skip
        return True
    m.write_off_requested_by = actor.label
    m.write_off_requested_by_user_id = actor.user_id
    m.write_off_requested_at = timezone.now()
    m.write_off_reason = reason
    m.save()
    audit_record(actor=actor, action="mismatch.write_off_requested", target=m, reason=reason,
                 data={"difference_minor": m.difference_minor})  # fmt: skip
    return False


@transaction.atomic
def mismatch_write_off_approve(*, actor: Actor, mismatch_id: int) -> None:
    m = _locked(mismatch_id)
    _refuse_unless(m, Mismatch.State.OPEN, Mismatch.State.INVESTIGATING)
    if not m.write_off_requested_at:
        raise Conflict(f"mismatch {m.pk} has no write-off request to approve")
    if actor.label == m.write_off_requested_by or (
        actor.user_id is not None and actor.user_id == m.write_off_requested_by_user_id
    ):
        raise Conflict("the operator who asked for the write-off cannot approve it")
    m.write_off()
    m.write_off_approved_by = actor.label
    _finish(m, actor=actor, resolution=Mismatch.Resolution.WRITE_OFF,
            note=f"{m.write_off_reason} (asked by {m.write_off_requested_by})",
            what="written_off")  # fmt: skip
