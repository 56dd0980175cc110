"""Standard Webhooks signing (https://www.standardwebhooks.com/), with the reference library.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`; during a secret
rotation both the new and the previous secret sign, space-separated, so a receiver holding
either verifies. Customers verify with `standardwebhooks.Webhook(secret).verify(body, headers)`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix the spec gives secrets, not a secret)
USER_AGENT = "FintechWebhooks/1.0"


def secret_generate() -> str:
    """24 random bytes, base64, with the `whsec_` prefix the libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(*, secret: str, webhook_id: str, timestamp: datetime, body: str) -> str:
    return Webhook(secret).sign(msg_id=webhook_id, timestamp=timestamp, data=body)


def signed_headers(
    *, secrets_in_use: list[str], webhook_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """Headers of one attempt. `timestamp` must be UTC (the library reads it as UTC)."""
    signatures = " ".join(
        signature(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
        for secret in secrets_in_use
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
