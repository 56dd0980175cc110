"""The payout partner's schema and ours, both ways."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.models import PayoutInstruction

# Their webhook type -> our instruction status.
STATUS_BY_EVENT = {
    "payout.accepted": PayoutInstruction.Status.ACCEPTED,
    "payout.sent": PayoutInstruction.Status.SENT,
    "payout.failed": PayoutInstruction.Status.FAILED,
    "payout.returned": PayoutInstruction.Status.RETURNED,
}


def payout_request(*, event_payload: dict[str, Any], beneficiary_name: str) -> dict[str, Any]:
    """Our transfer.submitted payload -> their create-payout body (the minimum they need)."""
    return {
        "client_reference": event_payload["reference"],
        "amount": event_payload["target_amount"],
        "currency": event_payload["target_currency"],
        "beneficiary": {"name": beneficiary_name},
        "callback_url": f"{settings.FINTECH_BASE_URL}/webhooks/payout-sandbox/",
    }


def failure_reason(data: dict[str, Any]) -> str:
    code = str(data.get("failure_code") or "unknown")
    message = str(data.get("failure_message") or "no reason given")
    return f"payout partner: {code}: {message}"[:2000]


# Their webhook type answering a recall or trace we asked for (integrations/.../recalls.py).
RECALL_ANSWERED = "payout.recall_answered"


def recall_request(*, dispute_payload: dict[str, Any]) -> dict[str, Any]:
    """Our dispute.opened payload -> their recall body. "Not received" asks where the money
    is (a trace); every other reason asks for it back (a recall)."""
    reason = dispute_payload["reason"]
    return {
        "client_reference": dispute_payload["transfer_reference"],
        "recall_reference": f"dispute-{dispute_payload['id']}",
        "type": "trace" if reason == "not_received" else "recall",
        "reason": reason,
        "callback_url": f"{settings.FINTECH_BASE_URL}/webhooks/payout-sandbox/",
    }
