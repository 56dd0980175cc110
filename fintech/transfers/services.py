"""Transfer writes: create, then one service per business step of the state machine.

Every step runs in one transaction: lock the transfer row, check the transition is allowed,
run it (the FSM field is protected: only transitions set `state`), save, [post the ledger
entry], record the transition, write the audit row, emit the outbox event. Either all of it
happens or none of it does.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pghistory
from django_fsm import can_proceed

from fintech.compliance.models import ComplianceStatus
from fintech.compliance.screening.selectors import screening_hold_check
from fintech.core.errors import (
    ComplianceBlocked,
    Conflict,
    FieldError,
    LedgerRefused,
    NotFound,
    QuoteExpired,
    TransitionNotAllowed,
    ValidationFailed,
)
from fintech.core.money import format_minor
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.sql import insert, insert_unless_conflict
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.monitoring.selectors import (
    compliance_hold_known,
    monitoring_hold_check,
    rules_from_rows,
)
from fintech.monitoring.services import monitoring_transfer_check
from fintech.quotes.models import Quote
from fintech.transfers import postings
from fintech.transfers.models import Transfer, TransferTransition
from fintech.transfers.selectors import RULE_COLUMNS, timeline_known, transfer_inputs
from fintech.wallets.services import ledger_entries_announce
from ledger.errors import LedgerError

# Crockford's base32: no I, L, O or U, so a reference read over the phone is unambiguous.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "TR"
REFERENCE_LENGTH = 10  # 50 random bits
CUSTOMER_TRANSACTION_ID_MAX = Transfer._meta.get_field("customer_transaction_id").max_length or 100

MAX_REASON_LENGTH = 2000


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(
        secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
    )


def transfer_payload(transfer: Transfer, *, previous_state: str = "") -> dict[str, Any]:
    """The minimal event payload: enough to act on without reading our database."""
    return {
        "id": transfer.pk,
        "reference": transfer.reference,
        "customer_transaction_id": transfer.customer_transaction_id,
        "state": transfer.state,
        "previous_state": previous_state,
        "source_currency": transfer.source_currency,
        "source_amount": format_minor(transfer.source_amount_minor, transfer.source_currency),
        "target_currency": transfer.target_currency,
        "target_amount": format_minor(transfer.target_amount_minor, transfer.target_currency),
    }


# ---------------------------------------------------------------------------------------------
# Create


def _require_verified(profile: Profile, state: str | None) -> None:
    if state != ComplianceStatus.State.VERIFIED:
        raise ComplianceBlocked(
            f"profile {profile.pk} cannot create transfers until verified "
            f"(compliance is {state or 'unverified'})"
        )


def _require_not_held(transfer: Transfer) -> None:
    screening_hold_check(profile_id=transfer.profile_id, beneficiary_id=transfer.beneficiary_id)
    monitoring_hold_check(transfer=transfer)


def _validated_customer_transaction_id(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > CUSTOMER_TRANSACTION_ID_MAX:
        raise ValidationFailed(
            [
                FieldError(
                    "customer_transaction_id",
                    "invalid",
                    f"must be a non-empty string of at most {CUSTOMER_TRANSACTION_ID_MAX} "
                    "characters",
                )
            ]
        )
    return text


def _duplicate_customer_transaction_id(profile: Profile, ctid: str) -> Conflict:
    reference = (
        Transfer.objects.filter(profile=profile, customer_transaction_id=ctid)
        .values_list("reference", flat=True)
        .first()
    )
    return Conflict(
        f"customer_transaction_id {ctid!r} is already used by transfer {reference}",
        fields=[
            FieldError(
                "customer_transaction_id",
                "duplicate_customer_transaction_id",
                f"already used by transfer {reference}",
            )
        ],
    )


def _quote_already_used(quote: Quote) -> Conflict:
    return Conflict(
        f"quote {quote.pk} has already been used for a transfer",
        fields=[FieldError("quote_id", "quote_already_used", "this quote is already used")],
    )


def _insert_transfer(fields: dict[str, Any], *, profile: Profile, quote: Quote) -> Transfer:
    """Insert, or say which unique rule it breaks. ON CONFLICT DO NOTHING: a concurrent request
    that committed the same quote or customer_transaction_id first (our INSERT waits for it on
    the index) makes this skip the row, not fail, so the transaction stays usable for the clear
    Conflict; no savepoint is needed on the happy path."""
    ctid = fields["customer_transaction_id"]
    for _attempt in range(3):
        transfer = Transfer(reference=new_reference(), **fields)
        if insert_unless_conflict(transfer):
            return transfer
        if Transfer.objects.filter(quote=quote).exists():
            raise _quote_already_used(quote)
        if Transfer.objects.filter(profile=profile, customer_transaction_id=ctid).exists():
            raise _duplicate_customer_transaction_id(profile, ctid)
        # Neither: 50 random bits collided with another transfer's reference. Draw again.
    raise RuntimeError("could not draw a unique transfer reference")  # pragma: no cover


def _transition_recorded(
    transfer: Transfer, *, actor: Actor, transition: str, source_state: str, reason: str = ""
) -> TransferTransition:
    """The timeline's row for a step the transfer just took (to its current state)."""
    return insert(
        TransferTransition(
            transfer=transfer,
            transition=transition,
            source_state=source_state,
            target_state=transfer.state,
            actor_label=actor.label,
            actor_user_id=actor.user_id,
            reason=reason,
            request_id=actor.request_id,
        )
    )


@service_transaction
def transfer_create(
    *,
    actor: Actor,
    profile: Profile,
    quote_id: uuid.UUID | str,
    beneficiary_id: int | str,
    customer_transaction_id: str,
) -> Transfer:
    """A transfer from `profile` to its beneficiary at the price of its (unexpired, unused) quote.

    Raises ComplianceBlocked (profile not verified), NotFound (quote or beneficiary missing or
    another profile's), QuoteExpired, Conflict (quote used, customer_transaction_id reused) or
    ValidationFailed (beneficiary inactive or in the wrong currency).
    """
    # Read fresh, in this transaction (not the profile's cached compliance): a profile
    # rejected a moment ago must not create a transfer on a stale object. The quote is not
    # locked: two requests spending it race to the unique index on transfers.quote_id, and the
    # loser is told with a clear Conflict (see _insert_transfer); likewise for a
    # reused customer_transaction_id.
    inputs = transfer_inputs(
        profile_id=profile.pk, quote_id=quote_id, beneficiary_id=beneficiary_id
    )
    _require_verified(profile, inputs.compliance_state)
    ctid = _validated_customer_transaction_id(customer_transaction_id)
    quote, beneficiary = inputs.quote, inputs.beneficiary
    if quote is None:
        raise NotFound(
            f"quote {quote_id} not found",
            fields=[FieldError("quote_id", "not_found", "no such quote")],
        )
    if beneficiary is None:
        raise NotFound(
            f"beneficiary {beneficiary_id} not found",
            fields=[FieldError("beneficiary_id", "not_found", "no such beneficiary")],
        )
    if inputs.screening_held:  # read with the inputs; the check reads the hits for its message
        screening_hold_check(profile_id=profile.pk, beneficiary_id=beneficiary.pk)
    with pghistory.context(actor=actor.label, request_id=actor.request_id):
        if quote.is_expired():
            raise QuoteExpired(
                f"quote {quote.pk} expired at {quote.expires_at.isoformat()}; ask for a new quote",
                fields=[FieldError("quote_id", "quote_expired", "the quote has expired")],
            )
        if not beneficiary.is_active:
            raise ValidationFailed(
                [
                    FieldError(
                        "beneficiary_id", "beneficiary_inactive", "the beneficiary is inactive"
                    )
                ]
            )
        if beneficiary.currency != quote.target_currency:
            raise ValidationFailed(
                [
                    FieldError(
                        "beneficiary_id",
                        "currency_mismatch",
                        f"the beneficiary receives {beneficiary.currency}; "
                        f"the quote pays out {quote.target_currency}",
                    )
                ]
            )

        transfer = _insert_transfer(
            {
                "profile": profile,
                "beneficiary": beneficiary,
                "quote": quote,
                "customer_transaction_id": ctid,
                "source_currency": quote.source_currency,
                "source_amount_minor": quote.source_amount_minor,
                "target_currency": quote.target_currency,
                "target_amount_minor": quote.target_amount_minor,
                "fee_minor": quote.fee_minor,
            },
            profile=profile,
            quote=quote,
        )
        created = _transition_recorded(transfer, actor=actor, transition="create", source_state="")
        # A new transfer's whole timeline is its creation: no need to read it back.
        timeline_known(transfer, [created])
        audit_record(
            actor=actor,
            action="transfer.create",
            target=transfer,
            data={"reference": transfer.reference, "quote_id": str(quote.pk)},
        )
        event_emit(
            type="transfer.initiated", payload=transfer_payload(transfer), profile_id=profile.pk
        )
        # Transaction monitoring: a hit holds the transfer (an alert for compliance), it does
        # not refuse it; the customer sees on_hold, never why.
        alerts = monitoring_transfer_check(
            actor=actor,
            transfer=transfer,
            profile=profile,
            beneficiary=beneficiary,
            rules=rules_from_rows(inputs.monitoring_rules, RULE_COLUMNS),
        )
        # No screening hold (refused above otherwise): the representation need not read one.
        compliance_hold_known(transfer, held=bool(alerts))
    return transfer


# ---------------------------------------------------------------------------------------------
# Steps


@service_transaction
def _transition(
    *,
    actor: Actor,
    transfer_id: int,
    action: str,
    event_type: str,
    reason: str,
    post: Callable[[Transfer, str], list[Any]],
    reason_required: bool = False,
    transition_kwargs: dict[str, Any] | None = None,
    guard: Callable[[Transfer], None] | None = None,
) -> Transfer:
    """Lock, check, transition, save, post the step's ledger entries, record the transition,
    audit and emit. One transaction around all of it: a refused posting (InsufficientFunds,
    say) rolls the transition back, so the transfer never says what the ledger does not."""
    reason = reason.strip()
    if reason_required and not reason:
        raise ValidationFailed([FieldError("reason", "required", f"say why you {action} it")])
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            [FieldError("reason", "too_long", f"must be at most {MAX_REASON_LENGTH} characters")]
        )
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        try:
            # Row lock until commit: two workers (an operator's click and a partner's webhook,
            # say) can never both move the same transfer. The second waits here, then reads the
            # state the first committed, so can_proceed judges the real, current state.
            transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        except Transfer.DoesNotExist as exc:
            raise NotFound(f"transfer {transfer_id} not found") from exc
        source_state = transfer.state
        if guard is not None:
            guard(transfer)
        method = getattr(transfer, action)
        if not can_proceed(method):
            raise TransitionNotAllowed(
                f"Cannot {action} transfer {transfer.reference}: it is {source_state}"
            )
        method(**(transition_kwargs or {}))
        transfer.save()

        try:
            entries = post(transfer, source_state)
        except LedgerError as exc:
            raise LedgerRefused(
                f"Cannot {action} transfer {transfer.reference}: {exc.message}",
                code=exc.code,
                status=exc.status,
            ) from exc
        ledger_entries_announce(entries=entries, profile_id=transfer.profile_id)

        _transition_recorded(
            transfer, actor=actor, transition=action, source_state=source_state, reason=reason
        )
        audit_record(
            actor=actor,
            action=f"transfer.{action}",
            target=transfer,
            reason=reason,
            data={
                "reference": transfer.reference,
                "from": source_state,
                "to": transfer.state,
                "ledger_entries": [entry.pk for entry in entries],
            },
        )
        event_emit(
            type=event_type,
            payload=transfer_payload(transfer, previous_state=source_state),
            profile_id=transfer.profile_id,
        )
    return transfer


def transfer_fund(*, actor: Actor, transfer_id: int, reason: str = "") -> Transfer:
    """created -> funded: the customer's money has arrived (or is reserved in their wallet)."""
    return _transition(
        actor=actor,
        transfer_id=transfer_id,
        action="fund",
        event_type="transfer.funded",
        reason=reason,
        post=postings.post_fund,
    )


def transfer_submit(*, actor: Actor, transfer_id: int, reason: str = "") -> Transfer:
    """funded -> processing: handed to the payout partner."""
    return _transition(
        actor=actor,
        transfer_id=transfer_id,
        action="submit",
        event_type="transfer.submitted",
        reason=reason,
        post=postings.post_submit,
        # A screening hit placed after the transfer was created stops the payout here (the
        # money stays funded, for compliance's decision); funding is not refused, since the
        # customer's money arriving is not a payment to the held party.
        guard=_require_not_held,
    )


def transfer_complete(*, actor: Actor, transfer_id: int, reason: str = "") -> Transfer:
    """processing -> completed: the partner paid the beneficiary."""
    return _transition(
        actor=actor,
        transfer_id=transfer_id,
        action="complete",
        event_type="transfer.completed",
        reason=reason,
        post=postings.post_complete,
    )


def transfer_fail(*, actor: Actor, transfer_id: int, reason: str) -> Transfer:
    """processing -> failed: the partner could not pay out; `reason` is kept on the transfer."""
    return _transition(
        actor=actor,
        transfer_id=transfer_id,
        action="fail",
        event_type="transfer.failed",
        reason=reason,
        reason_required=True,
        transition_kwargs={"reason": reason.strip()},
        post=postings.post_fail,
    )


def transfer_cancel(*, actor: Actor, transfer_id: int, reason: str) -> Transfer:
    """created | funded | processing -> cancelled. From processing only before payout: the
    payout connector refuses the cancel once the partner has sent the money."""
    return _transition(
        actor=actor,
        transfer_id=transfer_id,
        action="cancel",
        event_type="transfer.cancelled",
        reason=reason,
        reason_required=True,
        post=postings.post_cancel,
    )


def transfer_refund(*, actor: Actor, transfer_id: int, reason: str) -> Transfer:
    """completed | failed -> refunded: the customer gets their money back."""
    return _transition(
        actor=actor,
        transfer_id=transfer_id,
        action="refund",
        event_type="payment.refunded",
        reason=reason,
        reason_required=True,
        post=postings.post_refund,
    )


# The admin and the API dispatch by action name; every entry is a service, never a bare
# transition, so the ledger posting, the audit row and the event always happen.
TRANSITION_SERVICES: dict[str, Callable[..., Transfer]] = {
    "fund": transfer_fund,
    "submit": transfer_submit,
    "complete": transfer_complete,
    "fail": transfer_fail,
    "cancel": transfer_cancel,
    "refund": transfer_refund,
}
