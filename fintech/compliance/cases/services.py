"""Case writes. Each is one transaction: lock the case, check, change, audit, emit.

Events (`case.opened`, `case.item_added`, `case.assigned`, `case.note_added`,
`case.attachment_added`, `case.investigation_started`, `case.escalated`,
`case.returned_to_investigation`, `case.close_proposed`, `case.close_rejected`,
`case.closed`) are emitted with no profile, like the screening events: nothing about a case
may reach the customer's webhooks (tipping off). The customer learns only what a decision
does to their transfers (a cancelled transfer is announced as any cancellation is).

Holds are released, kept or turned into cancelled transfers only here, by a case decision,
through the alert kinds' registered callbacks (registry.py).
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.utils import timezone
from django_fsm import can_proceed

from fintech.compliance.cases.attach import (
    _proposal_clear,
    _record,
    _save,
)
from fintech.compliance.cases.attach import case_attach as case_attach  # all case writes here
from fintech.compliance.cases.attachments import attachment_check
from fintech.compliance.cases.registry import case_source
from fintech.compliance.models import (
    Case,
    CaseAttachment,
    CaseItem,
    CaseNote,
)
from fintech.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    TransitionNotAllowed,
    ValidationFailed,
)
from fintech.core.safe_input import text_checked
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import service_transaction
from fintech.transfers.services import transfer_cancel

MAX_NOTE_LENGTH = 4000
ASSIGNABLE_PERMISSION = "compliance.change_case"
# What the customer's transfer timeline says: never the case, its alerts or its notes.
CANCEL_REASON = "cancelled after a compliance review"


class MakerCannotApprove(Conflict):
    code = "maker_cannot_approve"
    title = "The officer who proposed a decision cannot approve it"


def _clean_text(text: str, *, field: str = "note", required: bool = True) -> str:
    return text_checked(text, field=field, max_length=MAX_NOTE_LENGTH, required=required)


def _locked(case_id: int) -> Case:
    # Why the lock: two officers acting on one case (a close and an escalation, a proposal
    # and its approval) serialise here; the second re-reads the state the first left.
    case = Case.objects.select_for_update(of=("self",)).filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


# ---------------------------------------------------------------------------------------------
# Working a case


@service_transaction
def case_assign(
    *, actor: Actor, case_id: int, assignee: AbstractUser | None, note: str = ""
) -> Case:
    """Give the case to a compliance officer (or to nobody, with None)."""
    note = _clean_text(note, required=False)
    if assignee is not None and not (
        assignee.is_active and assignee.is_staff and assignee.has_perm(ASSIGNABLE_PERMISSION)
    ):
        raise ValidationFailed(
            [FieldError("assignee", "not_compliance", f"{assignee} is not a compliance officer")]
        )
    case = _locked(case_id)
    if not case.is_active:
        raise TransitionNotAllowed(f"Cannot assign {case}: it is closed")
    case.assignee_id = assignee.pk if assignee is not None else None
    _save(case, actor=actor, reason=note)
    _record(
        case,
        actor=actor,
        action="assigned",
        reason=note,
        data={"assignee": assignee.get_username() if assignee is not None else ""},
    )
    return case


@service_transaction
def case_note_add(*, actor: Actor, case_id: int, text: str) -> CaseNote:
    """An officer's note; allowed on a closed case too (e.g. the regulator's reference)."""
    text = _clean_text(text, field="text")
    case = _locked(case_id)
    note = CaseNote.objects.create(
        case=case, author_id=actor.user_id, author_label=actor.label, text=text
    )
    _record(case, actor=actor, action="note_added", data={"note_id": note.pk})
    return note


@service_transaction
def case_attachment_add(
    *, actor: Actor, case_id: int, filename: str, content: bytes
) -> CaseAttachment:
    """Keep a document with the case (types and size in attachments.py); refused files store
    nothing."""
    checked = attachment_check(
        filename=filename, content=content, max_bytes=settings.CASE_ATTACHMENT_MAX_BYTES
    )
    case = _locked(case_id)
    attachment = CaseAttachment.objects.create(
        case=case,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        content=content,
        uploaded_by_id=actor.user_id,
        uploaded_by_label=actor.label,
    )
    _record(
        case,
        actor=actor,
        action="attachment_added",
        data={
            "attachment_id": attachment.pk,
            "filename": checked.filename,
            "sha256": checked.sha256,
            "size": checked.size,
        },
    )
    return attachment


def _step(*, actor: Actor, case_id: int, transition: str, action: str, note: str) -> Case:
    note = _clean_text(note)
    case = _locked(case_id)
    source_state = case.state
    method = getattr(case, transition)
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {transition.replace('_', ' ')} {case}: it is {source_state}"
        )
    if case.proposed_decision:
        raise Conflict(
            f"{case} has a proposed decision awaiting approval: approve or reject it first"
        )
    method()
    _save(case, actor=actor, reason=note)
    _record(case, actor=actor, action=action, reason=note, data={"from": source_state})
    return case


@service_transaction
def case_start_investigation(*, actor: Actor, case_id: int, note: str) -> Case:
    """open -> investigating."""
    return _step(
        actor=actor,
        case_id=case_id,
        transition="start_investigation",
        action="investigation_started",
        note=note,
    )


@service_transaction
def case_escalate(*, actor: Actor, case_id: int, note: str) -> Case:
    """investigating -> escalated (to the MLRO or a senior officer)."""
    return _step(actor=actor, case_id=case_id, transition="escalate", action="escalated", note=note)


@service_transaction
def case_return_to_investigation(*, actor: Actor, case_id: int, note: str) -> Case:
    """escalated -> investigating."""
    return _step(
        actor=actor,
        case_id=case_id,
        transition="return_to_investigation",
        action="returned_to_investigation",
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# Closing: four eyes at or above CASE_FOUR_EYES_RISK


def _transition_for(decision: str) -> str:
    return "close_cleared" if decision == Case.Decision.CLEARED else "close_reported"


def _decide(
    case: Case,
    *,
    actor: Actor,
    decision: str,
    note: str,
    cancel_transfers: bool,
    decided_by: str,
    approved_by: str,
) -> Case:
    """Run the decision on every item, cancel the held transfers if asked, close the case."""
    source_state = case.state
    items = list(case.items.select_for_update().order_by("pk"))
    transfer_ids: set[int] = set()
    for item in items:
        source = case_source(item.source)
        if decision == Case.Decision.CLEARED:
            source.release(actor, item.source_id, note)
            item.outcome = CaseItem.Outcome.RELEASED
        else:
            source.confirm(actor, item.source_id, note)
            item.outcome = CaseItem.Outcome.CONFIRMED
            if cancel_transfers and source.transfers is not None:
                transfer_ids.update(source.transfers(item.source_id))
        with pghistory.context(actor=actor.label, reason=note, request_id=actor.request_id):
            item.save(update_fields=["outcome"])
    cancelled: list[int] = []
    for transfer_id in sorted(transfer_ids):
        # transfer_cancel posts the cancellation (a funded transfer's money goes back to the
        # customer's wallet) with its own audit row and event; it locks the transfer, so a
        # transfer that moved on meanwhile is refused and left as it is.
        try:
            transfer_cancel(actor=actor, transfer_id=transfer_id, reason=CANCEL_REASON)
        except TransitionNotAllowed:
            continue
        cancelled.append(transfer_id)
    getattr(case, _transition_for(decision))()
    case.decision, case.decision_note = decision, note
    case.decided_by, case.approved_by = decided_by, approved_by
    case.transfers_cancelled = cancelled
    _proposal_clear(case)
    _save(case, actor=actor, reason=note)
    _record(
        case,
        actor=actor,
        action="closed",
        reason=note,
        data={
            "from": source_state,
            "decided_by": decided_by,
            "approved_by": approved_by,
            "items": [[i.source, i.source_id] for i in items],
            "transfers_cancelled": cancelled,
        },
    )
    return case


def _close(*, actor: Actor, case_id: int, decision: str, note: str, cancel_transfers: bool) -> Case:
    note = _clean_text(note)
    case = _locked(case_id)
    if not can_proceed(getattr(case, _transition_for(decision))):
        raise TransitionNotAllowed(f"Cannot close {case} as {decision}: it is {case.state}")
    if case.proposed_decision:
        raise Conflict(
            f"{case} already has a proposed decision ({case.proposed_decision}, by "
            f"{case.proposed_by}): approve or reject it"
        )
    if case.risk_score >= settings.CASE_FOUR_EYES_RISK:
        case.proposed_decision = decision
        case.proposed_cancel_transfers = cancel_transfers
        case.proposed_note = note
        case.proposed_by, case.proposed_by_user_id = actor.label, actor.user_id
        case.proposed_at = timezone.now()
        _save(case, actor=actor, reason=note)
        _record(
            case,
            actor=actor,
            action="close_proposed",
            reason=note,
            data={"proposed_decision": decision, "cancel_transfers": cancel_transfers},
        )
        return case
    return _decide(
        case,
        actor=actor,
        decision=decision,
        note=note,
        cancel_transfers=cancel_transfers,
        decided_by=actor.label,
        approved_by="",
    )


@service_transaction
def case_close_cleared(*, actor: Actor, case_id: int, note: str) -> Case:
    """Close as cleared (false positives): every item's hold is released. At or above
    CASE_FOUR_EYES_RISK this only proposes the decision; another officer approves it."""
    return _close(
        actor=actor,
        case_id=case_id,
        decision=Case.Decision.CLEARED,
        note=note,
        cancel_transfers=False,
    )


@service_transaction
def case_close_reported(
    *, actor: Actor, case_id: int, note: str, cancel_transfers: bool = False
) -> Case:
    """Close as reported (suspicion confirmed; the SAR is filed outside): every item's hold
    is kept, and with `cancel_transfers` the transfers the items hold are cancelled through
    `transfer_cancel` (a funded one's money returns to the customer's wallet). Four eyes as
    for case_close_cleared."""
    return _close(
        actor=actor,
        case_id=case_id,
        decision=Case.Decision.REPORTED,
        note=note,
        cancel_transfers=cancel_transfers,
    )


def _is_maker(case: Case, actor: Actor) -> bool:
    return actor.label == case.proposed_by or (
        actor.user_id is not None and actor.user_id == case.proposed_by_user_id
    )


@service_transaction
def case_decision_approve(*, actor: Actor, case_id: int, note: str = "") -> Case:
    """The second officer approves the proposed decision, which then runs. The officer who
    proposed it cannot approve it (MakerCannotApprove, 409)."""
    note = _clean_text(note, required=False)
    case = _locked(case_id)
    if not case.proposed_decision:
        raise Conflict(f"{case} has no proposed decision to approve")
    if _is_maker(case, actor):
        raise MakerCannotApprove(
            f"{case.proposed_by} proposed this decision: another officer approves it"
        )
    if not can_proceed(getattr(case, _transition_for(case.proposed_decision))):
        raise TransitionNotAllowed(f"Cannot close {case}: it is {case.state}")  # pragma: no cover
    decision_note = case.proposed_note + (f"\n\nApproved: {note}" if note else "")
    return _decide(
        case,
        actor=actor,
        decision=case.proposed_decision,
        note=decision_note,
        cancel_transfers=case.proposed_cancel_transfers,
        decided_by=case.proposed_by,
        approved_by=actor.label,
    )


@service_transaction
def case_decision_reject(*, actor: Actor, case_id: int, note: str) -> Case:
    """The second officer sends the proposal back; the case stays where it was. The maker may
    withdraw their own proposal the same way."""
    note = _clean_text(note)
    case = _locked(case_id)
    if not case.proposed_decision:
        raise Conflict(f"{case} has no proposed decision to reject")
    proposed, by = case.proposed_decision, case.proposed_by
    _proposal_clear(case)
    _save(case, actor=actor, reason=note)
    _record(
        case,
        actor=actor,
        action="close_rejected",
        reason=note,
        data={"proposed_decision": proposed, "proposed_by": by},
    )
    return case


def case_attachment_download(*, actor: Actor, attachment_id: int) -> CaseAttachment:
    """The attachment to send, its download audited (`case.attachment_downloaded`)."""
    attachment = CaseAttachment.objects.select_related("case").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} not found")
    audit_record(
        actor=actor,
        action="case.attachment_downloaded",
        target=attachment.case,
        data={"attachment_id": attachment.pk, "sha256": attachment.sha256},
    )
    return attachment
