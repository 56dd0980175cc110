"""The sandbox partners' webhook signature (the shape Stripe and most payout rails use).

Header `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed
with the provider's webhook secret. Several `v1=` values may appear (their key rotation).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from enum import StrEnum

HEADER = "Sandbox-Signature"


class Verdict(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    STALE = "stale"


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(*, secret: str, header: str | None, body: bytes, tolerance_seconds: int) -> Verdict:
    """Check the signature over the raw bytes first, then the timestamp's freshness."""
    if not header:
        return Verdict.MISSING
    if not secret:
        return Verdict.INVALID  # a provider without a configured secret accepts nothing
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return Verdict.INVALID
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not any(hmac.compare_digest(expected.hexdigest(), c) for c in candidates):
        return Verdict.INVALID
    if abs(time.time() - timestamp) > tolerance_seconds:
        # A genuine message too old (or too far ahead): a replay of a captured request.
        return Verdict.STALE
    return Verdict.VALID
