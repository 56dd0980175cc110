"""The events catalogue: every type the outbox carries, with what it means.

Customers subscribe to these names (an endpoint's `event_types`); a type missing here cannot
be subscribed to, but is still delivered to endpoints that take every type. Payloads are
minimal (ids, states, amounts as decimal strings); read the resource for the rest.
"""

from __future__ import annotations

from typing import Any

from fintech.core.models import OutboxEvent

CATALOGUE: dict[str, str] = {
    "customer.created": "A personal or business profile was created",
    "customer.verified": "A person's identity checks passed",
    "customer.member_added": "A user joined a business profile",
    "customer.member_removed": "A user left a business profile",
    "business.verified": "A business passed its KYB checks and may transact",
    "compliance.submitted": "Documents are in; the checks have started",
    "compliance.rejected": "The compliance checks failed",
    "compliance.review_required": "A compliance officer must review the profile",
    "compliance.review_cleared": "The compliance review is closed",
    "beneficiary.added": "A beneficiary was added",
    "beneficiary.deactivated": "A beneficiary was deactivated",
    "quote.created": "A quote was priced",
    "wallet.funded": "Money arrived in a wallet",
    "transfer.initiated": "A transfer was created",
    "transfer.funded": "A transfer's money is in",
    "transfer.submitted": "A transfer was handed to the payout partner",
    "transfer.completed": "The payout partner paid the beneficiary",
    "transfer.failed": "The payout failed",
    "transfer.cancelled": "A transfer was cancelled",
    "payment.refunded": "A transfer's money went back to the customer",
    **{
        f"dispute.{state}": f"A dispute on one of your transfers is now {label}"
        for state, label in (
            ("opened", "opened (the amount is on hold)"),
            ("evidence_requested", "waiting for your evidence"),
            ("under_review", "under review"),
            ("won", "closed in our favour (no refund)"),
            ("lost", "closed in your favour (the transfer is refunded)"),
            ("withdrawn", "withdrawn"),
        )
    },
    "invoice.synced": "An invoice was synced with the accounting tool",
    "ledger.entry.created": "A ledger entry was posted",
    "vendor.created": "An ERP vendor was synced in as a new beneficiary",
    "vendor.bank_details_changed": "An ERP vendor's bank details changed: re-approval needed",
    "vendor.deactivated": "An ERP vendor was deactivated",
    **{
        f"payment_request.{state}": f"An ERP payment request is now {label.lower()}"
        for state, label in (
            ("received", "Received"),
            ("held", "Held for review (possible duplicate or screening)"),
            ("validated", "Validated"),
            ("awaiting_approval", "Awaiting approval"),
            ("quoted", "Quoted"),
            ("transfer_created", "Transfer created"),
            ("funded", "Funded"),
            ("processing", "Processing"),
            ("completed", "Completed"),
            ("failed", "Failed"),
            ("rejected", "Rejected"),
            ("cancelled", "Cancelled"),
            ("expired", "Expired (not approved in time)"),
        )
    },
    "webhook.test": "A test event asked for by you (API or operator)",
    "webhook.endpoint_disabled": "One of your webhook endpoints was disabled (410 or failing)",
}

TEST_EVENT_TYPE = "webhook.test"


def event_body(
    *, event_id: str, type: str, version: int, occurred_at: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The JSON we POST: Standard Webhooks' recommended envelope plus our id and version."""
    return {
        "id": event_id,
        "type": type,
        "version": version,
        "timestamp": occurred_at,
        "data": data,
    }


def body_for_event(event: OutboxEvent) -> dict[str, Any]:
    return event_body(
        event_id=str(event.pk),
        type=event.type,
        version=event.version,
        occurred_at=event.occurred_at.isoformat(),
        data=event.payload,
    )
