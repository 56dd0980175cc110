"""Operators' actions on the exception list: release a held request (a reviewed duplicate or
screening hit), reject it, or cancel a request before its transfer exists. Each asks for a
reason (kept on the timeline and in the audit trail)."""

from __future__ import annotations

from fintech.core.errors import FieldError, NotFound, TransitionNotAllowed, ValidationFailed
from fintech.core.services import Actor
from fintech.core.transactions import service_transaction
from fintech.payments.models import ApprovalFailure, PaymentRequest
from fintech.payments.selectors import approval_policy_for
from fintech.payments.services.lifecycle import move
from fintech.payments.services.requests import after_validation


def _locked(request_id: int) -> PaymentRequest:
    try:
        return (
            PaymentRequest.objects.select_for_update(of=("self",))
            .select_related("vendor", "beneficiary", "profile", "batch")
            .get(pk=request_id)
        )
    except PaymentRequest.DoesNotExist as exc:
        raise NotFound(f"payment request {request_id} not found") from exc


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([FieldError("reason", "required", "say why")])
    return reason[:2000]


@service_transaction
def payment_request_release(*, actor: Actor, request_id: int, reason: str) -> PaymentRequest:
    """held -> validated, then on as any validated request (approval rules, then execution)."""
    reason = _reason(reason)
    request = _locked(request_id)
    if request.state != PaymentRequest.State.HELD:
        raise TransitionNotAllowed(f"payment request {request.erp_payment_id} is not held")
    move(request, actor=actor, action="release", reason=reason)
    after_validation(request, actor=actor, policy=approval_policy_for(profile=request.profile_id))
    return request


@service_transaction
def payment_request_operator_reject(
    *, actor: Actor, request_id: int, reason: str
) -> PaymentRequest:
    reason = _reason(reason)
    request = _locked(request_id)
    reasons = [*request.reasons, FieldError("review", "rejected_by_operator", reason).as_dict()]
    move(request, actor=actor, action="reject", reason=reason, update={"reasons": reasons})
    if request.approval_reasons:
        ApprovalFailure.objects.create(
            profile_id=request.profile_id, reason="rejected_by_operator", request=request
        )
    return request


@service_transaction
def payment_request_cancel(*, actor: Actor, request_id: int, reason: str) -> PaymentRequest:
    """Before a transfer exists only: a transfer is cancelled through its own service, and
    its transfer.cancelled event cancels the request."""
    reason = _reason(reason)
    request = _locked(request_id)
    if request.transfer_id is not None:
        raise TransitionNotAllowed(
            f"payment request {request.erp_payment_id} has transfer {request.transfer_id}: "
            "cancel the transfer"
        )
    move(request, actor=actor, action="cancel", reason=reason)
    return request
