"""The request's later states follow its transfer's own events (the handler that calls this
is registered by integrations/payments on transfer.* events and runs in the event's dispatch
transaction). An event that does not fit the request's state (a replay, out of order) changes
nothing."""

from __future__ import annotations

from typing import Any

from django_fsm import can_proceed

from fintech.core.services import Actor
from fintech.payments.models import PaymentRequest
from fintech.payments.services.lifecycle import move

ACTOR = Actor.system("payment-request-follow")

# transfer event type -> the request's transition
FOLLOWS: dict[str, str] = {
    "transfer.funded": "mark_funded",
    "transfer.submitted": "mark_processing",
    "transfer.completed": "mark_completed",
    "transfer.failed": "mark_failed",
    "transfer.cancelled": "cancel",
    # A completed payout that came back (returned) is refunded: for the ERP, it failed.
    "payment.refunded": "mark_failed",
}


def payment_request_follow_transfer(*, transfer_id: int, event_type: str, reason: str = "") -> bool:
    """Move the request of `transfer_id` per `event_type`; True if it moved."""
    action = FOLLOWS.get(event_type)
    if action is None:
        return False
    # Why the lock: a partner's webhook and an operator may move the transfer back to back;
    # their events are dispatched in any order by several workers.
    request = (
        PaymentRequest.objects.select_for_update(of=("self",))
        .select_related("quote", "transfer", "vendor", "batch")
        .filter(transfer_id=transfer_id)
        .first()
    )
    if request is None or not can_proceed(getattr(request, action)):
        return False
    reason = reason or event_type
    partner_said = request.transfer.failure_reason.strip() if request.transfer else ""
    if action == "mark_failed" and partner_said:
        # What the ERP's user needs first is why (the partner's words), then which event.
        reason = f"{partner_said} ({reason})"
    kwargs: dict[str, Any] = {"reason": reason} if action == "mark_failed" else {}
    move(request, actor=ACTOR, action=action, reason=reason, transition_kwargs=kwargs)
    return True
