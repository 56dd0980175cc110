"""What both partner simulators share: API-key auth, JSON bodies, signed callbacks."""

from __future__ import annotations

import hmac
import json
import uuid
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from integrations import partner_signing

CALLBACK_TIMEOUT_SECONDS = 10


def authorized(request: HttpRequest, api_key: str) -> bool:
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(api_key) and hmac.compare_digest(supplied.encode(), api_key.encode())


def error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def callback_allowed(url: str) -> bool:
    """The simulators call back only our own server: never an open relay to anywhere."""
    return url.startswith(settings.FINTECH_BASE_URL + "/webhooks/")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def send_signed(*, url: str, secret: str, event: dict[str, Any]) -> bool:
    """POST one signed event; True when the receiver acknowledged it (2xx)."""
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        partner_signing.HEADER: partner_signing.sign(secret=secret, body=body),
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS)
    except requests.RequestException:
        return False
    return 200 <= response.status_code < 300


def partner_event(*, event_id: str, type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": type,
        "created_at": timezone.now().isoformat(),
        "data": data,
    }
