"""The KYC provider simulator: checks created over HTTP, completed by a signed webhook.

POST /sandbox/kyc-provider/checks (Bearer KYC_SANDBOX_API_KEY) creates a check (the same
client_reference returns the same check). After KYC_SANDBOX_LATENCY_SECONDS it completes with
`clear`, or `consider` when the subject's name contains "consider" or for
KYC_SANDBOX_CONSIDER_PERCENT of checks, and sends `check.completed` signed with
KYC_SANDBOX_WEBHOOK_SECRET. The completion is due at the check's `next_step_at`, found by the
beat scanner (a message, when it is due at once, only wakes a worker sooner).
"""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.models import SandboxKycCheck
from integrations.simulators.common import (
    authorized,
    callback_allowed,
    error,
    json_body,
    new_id,
    partner_event,
    send_signed,
    step_claim,
    step_fields,
    step_publish,
    step_resend_later,
    steps_due,
)


def result_for(name: str) -> str:
    if "consider" in name.lower():
        return "consider"
    if random.randrange(100) < settings.KYC_SANDBOX_CONSIDER_PERCENT:  # noqa: S311
        return "consider"
    return "clear"


def as_json(check: SandboxKycCheck) -> dict[str, Any]:
    return {
        "id": check.id,
        "client_reference": check.client_reference,
        "status": check.status,
        "result": check.result or None,
    }


def _publish(check_id: str) -> None:
    step_publish(
        "integrations.sandbox_kyc_complete",
        SandboxKycCheck,
        check_id,
        delay_seconds=settings.KYC_SANDBOX_LATENCY_SECONDS,
    )


@csrf_exempt
@require_POST
def check_create(request: HttpRequest) -> JsonResponse:
    if not authorized(request, settings.KYC_SANDBOX_API_KEY):
        return error(401, "unauthorized", "a valid API key is required")
    data = json_body(request)
    if data is None:
        return error(400, "invalid_json", "the body must be a JSON object")
    reference = data.get("client_reference")
    callback = data.get("callback_url")
    subject = data.get("subject") if isinstance(data.get("subject"), dict) else {}
    if not isinstance(reference, str) or not 0 < len(reference) <= 100:
        return error(422, "invalid_request", "client_reference must be 1 to 100 characters")
    if not isinstance(callback, str) or not callback_allowed(callback):
        return error(422, "invalid_request", "callback_url must be this platform's /webhooks/")
    existing = SandboxKycCheck.objects.filter(client_reference=reference).first()
    if existing is not None:
        return JsonResponse(as_json(existing), status=200)
    name = str((subject or {}).get("name", ""))[:200]
    try:
        with transaction.atomic():
            check = SandboxKycCheck.objects.create(
                id=new_id("chk"),
                client_reference=reference,
                subject_name=name,
                callback_url=callback,
                result=result_for(name),
                **step_fields(delay_seconds=settings.KYC_SANDBOX_LATENCY_SECONDS),
            )
            _publish(check.id)
    except IntegrityError:
        check = SandboxKycCheck.objects.get(client_reference=reference)
        return JsonResponse(as_json(check), status=200)
    return JsonResponse(as_json(check), status=201)


def check_complete(*, check_id: str) -> str:
    """Send the check's result if it is due and nobody else is on it: "completed", "retry"
    (not acknowledged: sent again after RESEND_SECONDS), "skipped" or "done"."""
    if not step_claim(SandboxKycCheck, check_id):
        return "skipped"
    check = SandboxKycCheck.objects.get(pk=check_id)
    if check.status == SandboxKycCheck.Status.COMPLETED:
        SandboxKycCheck.objects.filter(pk=check.id).update(next_step_at=None, locked_until=None)
        return "done"
    event = partner_event(
        event_id=f"evt_{check.id}",
        type="check.completed",
        data={
            "check_id": check.id,
            "client_reference": check.client_reference,
            "result": check.result,
            "reasons": ["sanctions_list_partial_match"] if check.result == "consider" else [],
        },
    )
    if not send_signed(
        url=check.callback_url, secret=settings.KYC_SANDBOX_WEBHOOK_SECRET, event=event
    ):
        step_resend_later(SandboxKycCheck, check.id)
        return "retry"
    SandboxKycCheck.objects.filter(pk=check.id).update(
        status=SandboxKycCheck.Status.COMPLETED, next_step_at=None, locked_until=None
    )
    return "completed"


def check_steps_due() -> list[str]:
    return steps_due(SandboxKycCheck)
