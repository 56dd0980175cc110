"""Handlers: transfer events move the ERP payment request that made the transfer."""

from __future__ import annotations

from fintech.core.models import OutboxEvent
from fintech.payments.services.approvals import payment_requests_expire_due
from fintech.payments.services.follow import FOLLOWS, payment_request_follow_transfer

FOLLOWED_EVENTS = tuple(FOLLOWS)


def on_transfer_event(event: OutboxEvent) -> None:
    """Runs in the event's dispatch transaction; a replay changes nothing."""
    transfer_id = event.payload.get("id")
    if transfer_id is None:
        return
    reason = ""
    if event.type in ("transfer.failed", "payment.refunded"):
        reason = f"{event.type}: transfer {event.payload.get('reference', transfer_id)}"
    payment_request_follow_transfer(
        transfer_id=int(transfer_id), event_type=event.type, reason=reason
    )


def expire_due() -> int:
    """The beat scan: expire unapproved requests past their approval due time."""
    return payment_requests_expire_due()
