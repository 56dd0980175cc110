"""What both partner simulators share: API-key auth, JSON bodies, signed callbacks, and
their steps as rows with a due time."""

from __future__ import annotations

import hmac
import json
import uuid
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db.models import Model, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from integrations import claims, partner_signing

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


# --- steps: a simulator's delayed actions are rows with a due time, never countdown tasks ---

# A step's claim: above CALLBACK_TIMEOUT_SECONDS, the longest thing a step does.
STEP_LEASE_SECONDS = 30
# Our endpoint did not acknowledge a callback: send it again after this.
RESEND_SECONDS = 5


def step_fields(*, delay_seconds: float) -> dict[str, Any]:
    """The fields that schedule a row's next step `delay_seconds` from now. A step due at once
    is published right away (step_publish), so it is stamped enqueued; a later one is left to
    the scanner."""
    now = timezone.now()
    return {
        "next_step_at": now + timedelta(seconds=delay_seconds),
        "enqueued_at": now if delay_seconds <= 0 else None,
        "locked_until": None,
    }


def step_publish(task: str, model: type[Model], pk: str, *, delay_seconds: float) -> None:
    """After commit, publish a step due at once (a wake-up: the row says what to do)."""
    if delay_seconds <= 0:
        claims.enqueue_on_commit(task, model, pk)


def step_claim(model: type[Model], pk: str) -> bool:
    """Claim the row's step if it is due and nobody is on it: of two copies of one message,
    or a message and the scanner's, one takes the step."""
    return claims.claim_one(
        model,
        pk,
        lease_seconds=STEP_LEASE_SECONDS,
        ready=Q(next_step_at__lte=timezone.now()),
        count_attempt=False,
    )


def step_resend_later(model: type[Model], pk: str) -> None:
    claims.release(model, pk, next_step_at=timezone.now() + timedelta(seconds=RESEND_SECONDS))


def steps_due(model: type[Model]) -> list[Any]:
    """For the beat scanner: rows whose step is due and whose wake-up is not in flight."""
    return claims.take_due(
        model,
        ready=Q(next_step_at__lte=timezone.now()),
        limit=200,
        republish_after_seconds=STEP_LEASE_SECONDS,
        order_by=("next_step_at",),
        due_field="next_step_at",
    )
