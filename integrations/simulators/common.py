"""What both partner simulators share: API-key auth, JSON bodies, signed callbacks, and
their steps as rows with a due time."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from django.db.models import Model, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from integrations import claims, partner_signing
from integrations.models import SandboxWebhook

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


def json_safe(value: Any) -> Any:
    """Request values (Decimal amounts) in a form JsonResponse and JSONField take."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


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


# --- a sandbox's webhooks (Xero's, Intuit's): rows holding the exact body, sent signed ---

# Not acknowledged with a 2xx: sent again after these delays, then given up.
WEBHOOK_RESEND_DELAYS = [5, 30, 120, 600, 1800]
# Each sandbox's webhook model -> the task that sends one (integrations/simulators/tasks.py).
WEBHOOK_TASKS = {
    "XeroSandboxWebhook": "integrations.sandbox_xero_webhook_send",
    "QuickBooksSandboxWebhook": "integrations.sandbox_quickbooks_webhook_send",
    "CrmSandboxWebhook": "integrations.sandbox_crm_webhook_send",
}


def webhook_queue(model: type[SandboxWebhook], *, url: str, body: Any, **fields: Any) -> Any:
    """Inside the caller's transaction: a webhook row holding the exact body, due at once and
    published after commit (the scanner finds it if the message is lost)."""
    hook = model._default_manager.create(
        url=url,
        body=json.dumps(body, separators=(",", ":")),
        **fields,
        **step_fields(delay_seconds=0),
    )
    step_publish(WEBHOOK_TASKS[model.__name__], model, str(hook.pk), delay_seconds=0)
    return hook


def webhook_deliver(
    model: type[SandboxWebhook], webhook_id: str, headers: Callable[[bytes], dict[str, str]]
) -> str:
    """POST the webhook row's body with `headers(body)` (its signature) if it is due and nobody
    else is on it: "delivered", "retry", "gave up" or "skipped"."""
    if not step_claim(model, webhook_id):
        return "skipped"
    hook = model._default_manager.get(pk=webhook_id)
    body = hook.body.encode()
    try:
        response = requests.post(
            hook.url,
            data=body,
            headers={"Content-Type": "application/json", **headers(body)},
            timeout=CALLBACK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = str(response.status_code)
        delivered = 200 <= response.status_code < 300
    except requests.RequestException as exc:
        status, delivered = type(exc).__name__, False
    attempts = hook.attempts + 1
    done: dict[str, Any] = {"attempts": attempts, "locked_until": None, "next_step_at": None}
    if delivered:
        model._default_manager.filter(pk=hook.pk).update(
            **done, last_status=status, delivered_at=timezone.now()
        )
        return "delivered"
    if attempts > len(WEBHOOK_RESEND_DELAYS):
        model._default_manager.filter(pk=hook.pk).update(**done, last_status=f"gave up: {status}")
        return "gave up"
    again = timezone.now() + timedelta(seconds=WEBHOOK_RESEND_DELAYS[attempts - 1])
    model._default_manager.filter(pk=hook.pk).update(
        **{**done, "next_step_at": again}, last_status=status
    )
    return "retry"
