"""The one way a payment request changes state: lock (by the caller), transition, record the
transition, audit, emit `payment_request.<state>`."""

from __future__ import annotations

from typing import Any

import pghistory
from django_fsm import can_proceed

from fintech.core.errors import TransitionNotAllowed
from fintech.core.money import format_minor
from fintech.core.services import Actor, audit_record, event_emit
from fintech.core.sql import insert
from fintech.payments.models import PaymentRequest, PaymentRequestTransition


def payment_request_payload(request: PaymentRequest, *, previous_state: str = "") -> dict[str, Any]:
    """What the ERP needs to close its bill: its own ids, ours, the money and the value date."""
    quote, transfer = request.quote, request.transfer
    payload: dict[str, Any] = {
        "id": request.pk,
        "erp_payment_id": request.erp_payment_id,
        "erp_approval_ref": request.erp_approval_ref,
        "erp_batch_id": request.batch.erp_batch_id if request.batch is not None else None,
        "erp_vendor_id": request.vendor.erp_vendor_id if request.vendor is not None else None,
        "beneficiary_id": request.beneficiary_id,
        "state": request.state,
        "previous_state": previous_state,
        "amount": format_minor(request.amount_minor, request.currency),
        "currency": request.currency,
        "amount_side": request.amount_side,
        "due_date": request.due_date.isoformat(),
        "bill_reference": request.bill_reference,
        "remittance_reference": request.remittance_reference,
        "reasons": request.reasons,
        "transfer_id": request.transfer_id,
        "accounting_reference": transfer.reference if transfer is not None else None,
        "rate": None,
        "fee": None,
        "source_amount": None,
        "source_currency": request.source_currency,
        "target_amount": None,
        "target_currency": request.target_currency,
        "value_date": None,
        "failure_reason": request.failure_reason,
    }
    if quote is not None:
        payload.update(
            rate=str(quote.customer_rate),
            fee=format_minor(quote.fee_minor, quote.source_currency),
            source_amount=format_minor(quote.source_amount_minor, quote.source_currency),
            target_amount=format_minor(quote.target_amount_minor, quote.target_currency),
            value_date=quote.delivery_estimate.date().isoformat(),
        )
    return payload


def record_transition(
    request: PaymentRequest, *, actor: Actor, transition: str, source_state: str, reason: str = ""
) -> None:
    insert(
        PaymentRequestTransition(
            payment_request=request,
            transition=transition,
            source_state=source_state,
            target_state=request.state,
            actor_label=actor.label,
            actor_user_id=actor.user_id,
            reason=reason[:2000],
            request_id=actor.request_id,
        )
    )
    audit_record(
        actor=actor,
        action=f"payment_request.{transition}",
        target=request,
        reason=reason[:2000],
        data={"erp_payment_id": request.erp_payment_id, "from": source_state, "to": request.state},
    )
    event_emit(
        type=f"payment_request.{request.state}",
        payload=payment_request_payload(request, previous_state=source_state),
        profile_id=request.profile_id,
    )


def move(
    request: PaymentRequest,
    *,
    actor: Actor,
    action: str,
    reason: str = "",
    update: dict[str, Any] | None = None,
    transition_kwargs: dict[str, Any] | None = None,
) -> PaymentRequest:
    """Run transition `action` on a request the caller has locked (or just inserted), save,
    record, audit and emit. Refused (409, nothing changed) if the state does not allow it."""
    method = getattr(request, action)
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {action} payment request {request.erp_payment_id}: it is {request.state}"
        )
    source_state = request.state
    method(**(transition_kwargs or {}))
    for name, value in (update or {}).items():
        setattr(request, name, value)
    with pghistory.context(actor=actor.label, reason=reason, request_id=actor.request_id):
        request.save()
    record_transition(
        request, actor=actor, transition=action, source_state=source_state, reason=reason
    )
    return request
