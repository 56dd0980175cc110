"""The KYC provider's schema and ours."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.models import KycCheck

RESULTS = {"clear": KycCheck.Status.CLEAR, "consider": KycCheck.Status.CONSIDER}


def check_request(*, check: KycCheck, subject_name: str, kind: str) -> dict[str, Any]:
    """What the provider needs to run a check: a reference, who, and where to call back."""
    return {
        "client_reference": str(check.event_id),
        "subject": {"name": subject_name, "kind": kind},
        "callback_url": f"{settings.FINTECH_BASE_URL}/webhooks/kyc-sandbox/",
    }


def review_reason(data: dict[str, Any]) -> str:
    reasons = data.get("reasons") or []
    listed = ", ".join(str(r) for r in reasons) if isinstance(reasons, list) else str(reasons)
    return f"KYC provider result 'consider': {listed or 'no detail given'}"[:2000]
