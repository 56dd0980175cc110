"""What every CRM API call of the sandbox goes through, in HubSpot's order: the Bearer token
(an OAuth access token or a private app's token; 401), the portal's limits per 10 seconds and
per day (429 with HubSpot's RATE_LIMIT body and its X-HubSpot-RateLimit-* headers), the faults
steered over the control endpoint, a JSON body; then the view, and the steered latency
(after the view: the change is made, its answer late). Every request and its body are
kept (CrmSandboxRequest): what the CRM would hold, for the tests to scan."""

from __future__ import annotations

import functools
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.models import CrmSandboxGrant, CrmSandboxPortal, CrmSandboxRequest

View = Callable[..., HttpResponse]
WINDOW = timedelta(seconds=10)
DAY = timedelta(days=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hubspot_error(
    status: int,
    message: str,
    category: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> JsonResponse:
    """HubSpot's error body."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def portal_for(request: HttpRequest) -> CrmSandboxPortal | None:
    supplied = request.headers.get("Authorization", "")
    if not supplied.startswith("Bearer "):
        return None
    digest = token_hash(supplied.removeprefix("Bearer ").strip())
    grant = (
        CrmSandboxGrant.objects.select_related("portal")
        .filter(token_hash=digest, kind=CrmSandboxGrant.Kind.ACCESS, expires_at__gt=timezone.now())
        .first()
    )
    if grant is not None:
        return grant.portal
    return CrmSandboxPortal.objects.filter(private_app_token_hash=digest).first()


def _limits(portal_id: int) -> tuple[HttpResponse | None, dict[str, str]]:
    """Count the call (a row lock on the portal: the sandbox's calls queue per portal), or
    the 429 HubSpot gives."""
    now = timezone.now()
    with transaction.atomic():
        portal = CrmSandboxPortal.objects.select_for_update().get(pk=portal_id)
        per_10s = portal.rate_per_10s or settings.CRM_SANDBOX_RATE_PER_10S
        per_day = portal.rate_per_day or settings.CRM_SANDBOX_RATE_PER_DAY
        if portal.window_started_at is None or portal.window_started_at <= now - WINDOW:
            portal.window_started_at, portal.window_calls = now, 0
        if portal.day_started_at is None or portal.day_started_at <= now - DAY:
            portal.day_started_at, portal.day_calls = now, 0
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": str(per_10s),
            "X-HubSpot-RateLimit-Daily": str(per_day),
        }
        refused: HttpResponse | None = None
        if portal.day_calls >= per_day:
            refused = hubspot_error(
                429,
                "You have reached your daily limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="DAILY",
            )
        elif portal.window_calls >= per_10s:
            refused = hubspot_error(
                429,
                "You have reached your ten_secondly_rolling limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
            )
        else:
            portal.window_calls += 1
            portal.day_calls += 1
        portal.save(
            update_fields=["window_started_at", "window_calls", "day_started_at", "day_calls"]
        )
        headers["X-HubSpot-RateLimit-Remaining"] = str(max(per_10s - portal.window_calls, 0))
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(per_day - portal.day_calls, 0))
        if refused is None and portal.fault_remaining > 0 and portal.fault_status:
            CrmSandboxPortal.objects.filter(pk=portal_id).update(
                fault_remaining=portal.fault_remaining - 1
            )
            status = portal.fault_status
            if status == 429:
                refused = hubspot_error(
                    429,
                    "You have reached your ten_secondly_rolling limit.",
                    "RATE_LIMITS",
                    errorType="RATE_LIMIT",
                    policyName="TEN_SECONDLY_ROLLING",
                )
            else:
                refused = hubspot_error(status, "internal error (steered)", "INTERNAL_ERROR")
    return refused, headers


class BadJson(Exception):
    pass


def json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except ValueError as exc:
        raise BadJson(str(exc)) from exc


def crm_api(view: View) -> View:
    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        portal = portal_for(request)
        response: HttpResponse
        if portal is None:
            response = hubspot_error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and private app access tokens.",
                "INVALID_AUTHENTICATION",
            )
        else:
            refused, headers = _limits(portal.pk)
            try:
                response = refused or view(request, portal, **kwargs)
            except BadJson as exc:
                response = hubspot_error(400, f"Invalid input JSON: {exc}", "VALIDATION_ERROR")
            if portal.latency_ms:
                # After the work is done (committed): a client that gives up or dies while
                # it waits has had its change made and lost the answer.
                time.sleep(portal.latency_ms / 1000)
            for name, value in headers.items():
                response[name] = value
        CrmSandboxRequest.objects.create(
            portal=portal,
            method=request.method or "",
            path=request.path[:500],
            body=request.body.decode("utf-8", "replace")[:20_000],
            status=response.status_code,
        )
        return response

    return wrapped
