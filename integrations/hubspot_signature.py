"""HubSpot's request signature v3, shared by the CRM sandbox (which signs its webhooks) and the
HubSpot connector (which verifies them): `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(app
secret, method + URI + body + timestamp)), `X-HubSpot-Request-Timestamp` in milliseconds, and a
5-minute window. Below the connectors and the simulators so neither imports the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
WINDOW_SECONDS = 300


def sign_v3(*, secret: str, method: str, uri: str, body: str, timestamp_ms: int) -> str:
    source = f"{method}{uri}{body}{timestamp_ms}".encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_v3(
    *,
    secret: str,
    method: str,
    uri: str,
    body: str,
    timestamp: str | None,
    signature: str | None,
    now_ms: int | None = None,
) -> str:
    """ "valid", "missing", "stale" (timestamp outside the window, or not a number) or
    "invalid". The timestamp is checked first: an old, correctly signed request is a replay."""
    if not signature or not timestamp:
        return "missing"
    try:
        stamp = int(timestamp)
    except ValueError:
        return "stale"
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - stamp) > WINDOW_SECONDS * 1000:
        return "stale"
    if not secret:
        return "invalid"
    expected = sign_v3(secret=secret, method=method, uri=uri, body=body, timestamp_ms=stamp)
    return "valid" if hmac.compare_digest(expected, signature.strip()) else "invalid"
