"""Dispute writes: open, then one service per step of the lifecycle (fintech/disputes/models.py).

Like the transfer services, each step is one transaction: lock the dispute, check the
transition, run it, move the money through the ledger (fintech.disputes.money), write the audit
row and emit `dispute.<state>`. A decision retried (a double click, a task run twice) finds the
dispute already decided the same way and changes nothing, so the refund is posted once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pghistory
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from fintech.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    TransitionNotAllowed,
    ValidationFailed,
)
from fintech.core.money import format_minor
from fintech.core.safe_input import text_checked
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.disputes import money
from fintech.disputes.models import Dispute
from fintech.transfers.models import Transfer
from ledger.errors import InsufficientFunds

MAX_TEXT_LENGTH = 2000
State = Dispute.State


class DisputeRefused(DomainError):
    """The transfer cannot be disputed (already refunded, past the window, not paid out)."""

    code = "dispute_not_allowed"
    status = 422
    title = "This transfer cannot be disputed"


def dispute_payload(dispute: Dispute, *, previous_state: str = "") -> dict[str, Any]:
    """The minimal event payload. No decision reason: customers see outcomes, not our notes."""
    return {
        "id": dispute.pk,
        "transfer_id": dispute.transfer_id,
        "transfer_reference": dispute.transfer.reference if dispute.transfer else "",
        "funding_entry_id": dispute.funding_entry_id,
        "reason": dispute.reason,
        "state": dispute.state,
        "previous_state": previous_state,
        "currency": dispute.currency,
        "amount": format_minor(dispute.amount_minor, dispute.currency),
        "respond_by": dispute.respond_by.isoformat(),
    }


def _checked_text(value: str, *, field: str, required: bool, what: str = "") -> str:
    return text_checked(
        value, field=field, max_length=MAX_TEXT_LENGTH, required=required,
        missing=what or "required",
    )  # fmt: skip


def _refused(code: str, message: str) -> DisputeRefused:
    return DisputeRefused(message, fields=[FieldError("transfer_id", code, message)])


def _check_disputable(transfer: Transfer, *, now: datetime) -> None:
    if transfer.state == Transfer.State.REFUNDED:
        raise _refused("already_refunded", f"transfer {transfer.reference} is already refunded")
    if transfer.state != Transfer.State.COMPLETED or transfer.completed_at is None:
        raise _refused(
            "not_paid_out",
            f"transfer {transfer.reference} is {transfer.state}: only a paid-out transfer "
            "can be disputed",
        )
    window = timedelta(days=settings.DISPUTE_OPEN_MAX_DAYS)
    if transfer.completed_at + window < now:
        raise _refused(
            "dispute_window_closed",
            f"transfer {transfer.reference} was paid out more than "
            f"{settings.DISPUTE_OPEN_MAX_DAYS} days ago",
        )


# A funding is disputed because it should not be in the wallet (the payer did not authorise it,
# it was paid twice, the payer's bank recalled it): losing returns it to the payer. "Not
# received" and "wrong amount" are about money that never arrived: a reconciliation question
# (a suggested funding), not a dispute of an entry that exists.
FUNDING_REASONS = (
    Dispute.Reason.UNAUTHORISED,
    Dispute.Reason.DUPLICATE,
    Dispute.Reason.PARTNER_RETURN,
)


@service_transaction
def dispute_open(
    *,
    actor: Actor,
    profile: Profile,
    reason: str,
    transfer_id: int | str | None = None,
    funding_entry_id: int | str | None = None,
    description: str = "",
) -> Dispute:
    """A dispute on one of `profile`'s paid-out transfers or wallet fundings (exactly one of
    `transfer_id`, `funding_entry_id`), with the disputed amount on hold.

    Raises NotFound (no such transfer or funding, or another profile's), DisputeRefused (422:
    refunded or returned, not paid out, past DISPUTE_OPEN_MAX_DAYS, a funding already spent),
    Conflict (a dispute is already open on it) or ValidationFailed. Nothing is held unless the
    dispute is created.
    """
    if reason not in Dispute.Reason.values:
        raise ValidationFailed(
            [FieldError("reason", "invalid", f"one of {', '.join(Dispute.Reason.values)}")]
        )
    if (transfer_id is None) == (funding_entry_id is None):
        message = "give exactly one of transfer_id and funding_entry_id"
        raise ValidationFailed(
            [FieldError("transfer_id", "one_required", message),
             FieldError("funding_entry_id", "one_required", message)]
        )  # fmt: skip
    description = _checked_text(description, field="description", required=False)
    now = timezone.now()
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        if transfer_id is not None:
            dispute = _open_on_transfer(profile, transfer_id, reason, description, now)
        else:
            dispute = _open_on_funding(profile, funding_entry_id, reason, description, now)
        audit_record(
            actor=actor,
            action="dispute.open",
            target=dispute,
            data={"subject": dispute.subject, "reason": reason, "hold_id": dispute.hold_id},
        )
        event_emit(type="dispute.opened", payload=dispute_payload(dispute), profile_id=profile.pk)
    return dispute


def _open_on_transfer(
    profile: Profile, transfer_id: int | str, reason: str, description: str, now: datetime
) -> Dispute:
    # Lock the transfer: a partner's return refunding it right now either commits first
    # (and we see `refunded`) or waits for this dispute; never both refund and hold.
    transfer = (
        Transfer.objects.select_for_update()
        .filter(pk=transfer_id if str(transfer_id).isdigit() else None, profile=profile)
        .first()
    )
    if transfer is None:
        raise NotFound(
            f"transfer {transfer_id} not found",
            fields=[FieldError("transfer_id", "not_found", "no such transfer")],
        )
    _check_disputable(transfer, now=now)
    if Dispute.objects.filter(transfer=transfer, state__in=Dispute.OPEN_STATES).exists():
        raise Conflict(
            f"transfer {transfer.reference} already has an open dispute",
            fields=[FieldError("transfer_id", "dispute_open", "a dispute is already open")],
        )
    try:
        dispute = Dispute.objects.create(
            profile=profile,
            transfer=transfer,
            reason=reason,
            description=description,
            currency=transfer.source_currency,
            amount_minor=transfer.source_amount_minor,
            respond_by=now + timedelta(days=settings.DISPUTE_RESPONSE_DAYS),
        )
    except IntegrityError as exc:  # pragma: no cover - the transfer lock serialises opens
        raise Conflict(f"transfer {transfer.reference} already has an open dispute") from exc
    dispute.hold_id = money.dispute_hold_place(dispute)
    dispute.save(update_fields=["hold_id"])
    return dispute


def _funding_refused(code: str, message: str) -> DisputeRefused:
    return DisputeRefused(message, fields=[FieldError("funding_entry_id", code, message)])


def _open_on_funding(
    profile: Profile, entry_id: int | str | None, reason: str, description: str, now: datetime
) -> Dispute:
    if reason not in FUNDING_REASONS:
        raise ValidationFailed(
            [FieldError("reason", "not_for_funding",
                        f"a wallet funding is disputed as one of {', '.join(FUNDING_REASONS)}")]
        )  # fmt: skip
    funding = money.funding_of(profile, entry_id)
    if funding is None:
        raise NotFound(
            f"wallet funding {entry_id} not found",
            fields=[FieldError("funding_entry_id", "not_found", "no such wallet funding")],
        )
    if funding.returned:
        raise _funding_refused(
            "already_returned", f"wallet funding {funding.entry_id} was returned"
        )
    window = timedelta(days=settings.DISPUTE_OPEN_MAX_DAYS)
    if funding.effective_at + window < now:
        raise _funding_refused(
            "dispute_window_closed",
            f"wallet funding {funding.entry_id} was credited more than "
            f"{settings.DISPUTE_OPEN_MAX_DAYS} days ago",
        )
    try:
        # A savepoint: two opens racing on one funding meet the partial unique index, and the
        # loser's transaction must stay usable to answer with a Conflict.
        with transaction.atomic():
            dispute = Dispute.objects.create(
                profile=profile,
                funding_entry_id=funding.entry_id,
                reason=reason,
                description=description,
                currency=funding.currency,
                amount_minor=funding.amount_minor,
                respond_by=now + timedelta(days=settings.DISPUTE_RESPONSE_DAYS),
            )
    except IntegrityError as exc:
        raise Conflict(
            f"wallet funding {funding.entry_id} already has an open dispute",
            fields=[FieldError("funding_entry_id", "dispute_open", "a dispute is already open")],
        ) from exc
    try:
        dispute.hold_id = money.dispute_hold_place(dispute)
    except InsufficientFunds as exc:
        raise _funding_refused(
            "funding_spent",
            f"the wallet no longer holds the {format_minor(funding.amount_minor, funding.currency)}"
            f" {funding.currency} of wallet funding {funding.entry_id}: contact support",
        ) from exc
    dispute.save(update_fields=["hold_id"])
    return dispute


# ---------------------------------------------------------------------------------------------
# Steps


def _no_money(dispute: Dispute, actor: Actor, reason: str) -> dict[str, Any]:
    return {}


def _release(dispute: Dispute, actor: Actor, reason: str) -> dict[str, Any]:
    money.dispute_hold_release(dispute, reason=f"dispute {dispute.state}: {reason}")
    return {"hold_released": dispute.hold_id}


def _refund(dispute: Dispute, actor: Actor, reason: str) -> dict[str, Any]:
    # Void first: the refund then pays out of an account with nothing earmarked any more.
    money.dispute_hold_release(dispute, reason=f"dispute lost: {reason}")
    refunded = money.dispute_refund(dispute, actor=actor, reason=f"dispute lost: {reason}")
    return {"hold_released": dispute.hold_id, "refund_posted": refunded}


@service_transaction
def _step(
    *,
    actor: Actor,
    dispute_id: int,
    action: str,
    reason: str,
    money_step: Callable[[Dispute, Actor, str], dict[str, Any]] = _no_money,
    respond_within: timedelta | None = None,
    partner_answer: dict[str, Any] | None = None,
    replay_state: str = "",
) -> Dispute:
    reason = _checked_text(reason, field="reason", required=True, what=f"say why you {action} it")
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        # Row lock until commit: an operator's decision, the customer's withdrawal and the
        # deadline scan can race; the second waits and then judges the state the first left.
        dispute = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("transfer")
            .filter(pk=dispute_id)
            .first()
        )
        if dispute is None:
            raise NotFound(f"dispute {dispute_id} not found")
        if replay_state and dispute.state == replay_state:
            return dispute  # the same decision again: already done, nothing posted twice
        source_state = dispute.state
        method = getattr(dispute, action)
        if not can_proceed(method):
            raise TransitionNotAllowed(
                f"Cannot {action} dispute {dispute.pk}: it is {source_state}"
            )
        method()
        if respond_within is not None:
            dispute.respond_by = timezone.now() + respond_within
        if partner_answer is not None:
            dispute.partner_answer = partner_answer
        if not dispute.is_open:
            dispute.decision_reason = reason
        dispute.save()
        moved = money_step(dispute, actor, reason)
        audit_record(
            actor=actor,
            action=f"dispute.{action}",
            target=dispute,
            reason=reason,
            data={"from": source_state, "to": dispute.state, **moved},
        )
        event_emit(
            type=f"dispute.{dispute.state}",
            payload=dispute_payload(dispute, previous_state=source_state),
            profile_id=dispute.profile_id,
        )
    return dispute


def dispute_request_evidence(*, actor: Actor, dispute_id: int, reason: str) -> Dispute:
    """opened -> evidence_requested: the customer has DISPUTE_EVIDENCE_DAYS to answer."""
    return _step(
        actor=actor,
        dispute_id=dispute_id,
        action="request_evidence",
        reason=reason,
        respond_within=timedelta(days=settings.DISPUTE_EVIDENCE_DAYS),
    )


def dispute_review(
    *, actor: Actor, dispute_id: int, reason: str, partner_answer: dict[str, Any] | None = None
) -> Dispute:
    """-> under_review: the evidence (or the partner's answer to our recall) is in."""
    return _step(
        actor=actor,
        dispute_id=dispute_id,
        action="review",
        reason=reason,
        respond_within=timedelta(days=settings.DISPUTE_RESPONSE_DAYS),
        partner_answer=partner_answer,
    )


DECISIONS: dict[str, tuple[str, Callable[[Dispute, Actor, str], dict[str, Any]]]] = {
    State.WON: ("win", _release),
    State.LOST: ("lose", _refund),
    State.WITHDRAWN: ("withdraw", _release),
}


def dispute_decide(*, actor: Actor, dispute_id: int, outcome: str, reason: str) -> Dispute:
    """under_review -> won (hold released) | lost (hold released, transfer refunded once);
    any open state -> withdrawn (hold released). Deciding the same outcome again is a no-op;
    another outcome on a decided dispute is a TransitionNotAllowed (409)."""
    if outcome not in DECISIONS:
        raise ValidationFailed([FieldError("outcome", "invalid", f"one of {', '.join(DECISIONS)}")])
    action, money_step = DECISIONS[outcome]
    return _step(
        actor=actor,
        dispute_id=dispute_id,
        action=action,
        reason=reason,
        money_step=money_step,
        replay_state=outcome,
    )


def dispute_withdraw(*, actor: Actor, profile: Profile, dispute_id: int, reason: str) -> Dispute:
    """The customer withdraws their own dispute (another profile's is a 404)."""
    if not Dispute.objects.filter(pk=dispute_id, profile=profile).exists():
        raise NotFound(f"dispute {dispute_id} not found")
    return dispute_decide(
        actor=actor, dispute_id=dispute_id, outcome=State.WITHDRAWN, reason=reason
    )


EXPIRY_ACTOR = Actor.system("dispute-deadlines")


def disputes_expire(*, now: datetime | None = None, limit: int = 200) -> int:
    """The deadline scan: a dispute still waiting for the customer's evidence past its
    `respond_by` is withdrawn (hold released). Each in its own transaction; returns how many.
    Disputes waiting on us are not decided by a clock: they show as overdue to operators."""
    now = now or timezone.now()
    due = list(
        Dispute.objects.filter(state=State.EVIDENCE_REQUESTED, respond_by__lte=now)
        .order_by("respond_by")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for dispute_id in due:
        try:
            dispute_decide(
                actor=EXPIRY_ACTOR,
                dispute_id=dispute_id,
                outcome=State.WITHDRAWN,
                reason="no evidence by the deadline",
            )
        except TransitionNotAllowed:
            continue  # decided in the meantime
        count += 1
    return count
