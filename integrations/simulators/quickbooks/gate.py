"""What every Accounting API call goes through, in Intuit's order: the Bearer token (401
AuthenticationFault), the realm in the URL (401 when unknown; 403 AuthorizationFault when
the token is another company's), JSON asked for (406: Intuit answers XML otherwise), the
realm's limits (429 ThrottleExceeded: QUICKBOOKS_SANDBOX_RATE_PER_MINUTE and
..._CONCURRENT_LIMIT), the steered faults (latency, 429, 503), then the view; writes once per
`requestid`. Every answer carries an `intuit_tid`."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxGrant as Grant
from integrations.simulators import limits, oauth
from integrations.simulators.quickbooks import faults, requestids

View = Callable[..., HttpResponse]
PREFIX = "qbo-sandbox"


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request body; amounts as Decimal, exactly as sent."""
    try:
        data = json.loads(request.body or b"{}", parse_float=Decimal)
    except ValueError as exc:
        raise faults.Fault(
            "Request has invalid or unsupported property",
            f"The body is not JSON: {exc}",
            code="2010",
        ) from exc
    if not isinstance(data, dict):
        raise faults.Fault(
            "Request has invalid or unsupported property",
            "A JSON object is expected",
            code="2010",
        )
    return data


def limits_of(company: Company) -> tuple[int, int]:
    return (
        company.rate_per_minute or settings.QUICKBOOKS_SANDBOX_RATE_PER_MINUTE,
        company.concurrent_limit or settings.QUICKBOOKS_SANDBOX_CONCURRENT_LIMIT,
    )


def _authenticated(request: HttpRequest, realm_id: str) -> Company | HttpResponse:
    checked = oauth.bearer_check(Grant, request)
    if checked.grant is None:
        detail = (
            f"Token expired: {checked.expired_at:%Y-%m-%dT%H:%M:%SZ}"
            if checked.expired_at
            else "Token invalid"
        )
        return faults.authentication(detail).response()
    company = Company.objects.filter(pk=realm_id).first()
    if company is None:
        return faults.authentication(f"Unknown realm {realm_id}").response()
    if checked.grant.company_id != company.pk:
        return faults.Fault(
            "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
            f"The token is not for realm {realm_id}",
            code="003100",
            kind="AuthorizationFault",
            status=403,
        ).response()
    return company


def quickbooks_api(view: View) -> View:
    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request: HttpRequest, realm_id: str, **kwargs: Any) -> HttpResponse:
        company = _authenticated(request, realm_id)
        if isinstance(company, HttpResponse):
            return _tagged(company)
        if "application/json" not in request.headers.get("Accept", ""):
            # Intuit answers XML unless asked for JSON; the sandbox speaks JSON only.
            return _tagged(
                faults.Fault(
                    "Unsupported Accept header",
                    "Send Accept: application/json (QuickBooks answers XML otherwise)",
                    code="4001",
                    status=406,
                ).response()
            )
        per_minute, concurrent = limits_of(company)
        with limits.call_slot(
            PREFIX, company.pk, per_minute=per_minute, per_day=None, concurrent=concurrent
        ) as verdict:
            response = _answer(request, company, verdict, view, kwargs)
        if verdict.problem:
            response["Retry-After"] = str(verdict.retry_after)
        return _tagged(response)

    return wrapped


def _tagged(response: HttpResponse) -> HttpResponse:
    response["intuit_tid"] = str(uuid.uuid4())
    return response


def _answer(
    request: HttpRequest,
    company: Company,
    verdict: limits.Verdict,
    view: View,
    kwargs: dict[str, Any],
) -> HttpResponse:
    if verdict.problem:
        what = "10 concurrent requests" if verdict.problem == "concurrent" else "500 a minute"
        return faults.throttled(f"The request limit was reached ({what} per realm)").response()
    if company.latency_ms:
        time.sleep(company.latency_ms / 1000)
    fault = limits.fault_for(company)
    if fault == "429":
        return faults.throttled("The request limit was reached (steered)").response()
    if fault == "5xx":
        return faults.system().response()

    def work() -> HttpResponse:
        return view(request, company, **kwargs)

    if request.method == "POST" and not request.path.rstrip("/").endswith("/query"):
        return requestids.run_once(company, request.GET.get("requestid", "").strip(), work)
    try:
        with transaction.atomic():
            return work()
    except faults.Fault as refused:
        return refused.response()
