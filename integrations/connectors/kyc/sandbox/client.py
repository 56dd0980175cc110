"""HTTP client of the KYC provider sandbox (served by this project under /sandbox/)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.http import PartnerClient

PROVIDER = "kyc-sandbox"


class KycSandboxClient(PartnerClient):
    partner = PROVIDER

    @classmethod
    def from_settings(cls) -> KycSandboxClient:
        return cls(
            base_url=settings.KYC_SANDBOX_BASE_URL,
            api_key=settings.KYC_SANDBOX_API_KEY,
            timeout_seconds=settings.KYC_SANDBOX_TIMEOUT_SECONDS,
        )

    def check_create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request(
            "POST", "checks", json=body, idempotency_key=str(body["client_reference"])
        )
