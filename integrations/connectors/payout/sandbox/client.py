"""HTTP client of the payout partner sandbox (served by this project under /sandbox/)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.http import PartnerClient

PARTNER = "payout-sandbox"


class PayoutSandboxClient(PartnerClient):
    partner = PARTNER

    @classmethod
    def from_settings(cls) -> PayoutSandboxClient:
        return cls(
            base_url=settings.PAYOUT_SANDBOX_BASE_URL,
            api_key=settings.PAYOUT_SANDBOX_API_KEY,
            timeout_seconds=settings.PAYOUT_SANDBOX_TIMEOUT_SECONDS,
        )

    def payout_create(self, instruction: dict[str, Any]) -> dict[str, Any]:
        """Create a payout; the client reference makes a retry return the same payout."""
        return self.request(
            "POST",
            "payouts",
            json=instruction,
            idempotency_key=str(instruction["client_reference"]),
        )

    def recall_create(self, recall: dict[str, Any]) -> dict[str, Any]:
        """Ask for a sent payout back (or its trace); the recall reference makes a retry
        return the same recall."""
        return self.request(
            "POST", "recalls", json=recall, idempotency_key=str(recall["recall_reference"])
        )

    def payout_get(self, payout_id: str) -> dict[str, Any]:
        return self.request("GET", f"payouts/{payout_id}")

    def settlement_report(self, *, day: str, currency: str) -> dict[str, Any]:
        """The partner's settlement report for one day and currency (reconciliation)."""
        return self.request("GET", f"settlement-report?date={day}&currency={currency}")


def settlement_report_fetch(*, day: str, currency: str) -> dict[str, Any]:
    client = PayoutSandboxClient.from_settings()
    try:
        return client.settlement_report(day=day, currency=currency)
    finally:
        client.session.close()
