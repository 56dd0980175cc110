"""What every Accounting API call goes through, in Xero's order: the Bearer token (401),
the `xero-tenant-id` (403), the token's scopes (403), JSON asked for (406: Xero would answer
XML), the tenant's limits (429), the steered faults (latency, 429, 5xx), then the view;
writes once per Idempotency-Key. Every answer from the limit check on carries
`X-MinLimit-Remaining` and `X-DayLimit-Remaining`."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.models import XeroSandboxOrg
from integrations.simulators.xero import idempotency, limits, tokens
from integrations.simulators.xero.responses import problem
from integrations.simulators.xero.scopes import scope_missing

View = Callable[..., HttpResponse]
WRITES = ("POST", "PUT", "DELETE")


class BadJson(Exception):
    pass


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request body; amounts as Decimal, exactly as sent."""
    try:
        data = json.loads(request.body or b"{}", parse_float=Decimal)
    except ValueError as exc:
        raise BadJson(str(exc)) from exc
    if not isinstance(data, dict):
        raise BadJson("a JSON object is expected")
    return data


def xero_api(view: View) -> View:
    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        checked = tokens.bearer_check(request)
        response: HttpResponse
        if checked.grant is None:
            response = problem(401, "Unauthorized", checked.problem)
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        org = tokens.tenant_for(checked.grant, request.headers.get("xero-tenant-id", ""))
        if org is None:
            return problem(403, "Forbidden", "AuthorizationUnsuccessful")
        resource = request.path.split("/api.xro/2.0/", 1)[-1].split("/", 1)[0]
        missing = scope_missing(
            granted=checked.grant.scope, resource=resource, write=request.method in WRITES
        )
        if missing:
            return problem(403, "Forbidden", f"AuthorizationUnsuccessful: needs scope {missing}")
        if "application/json" not in request.headers.get("Accept", ""):
            # Xero answers XML unless asked for JSON; the sandbox speaks JSON only, so a client
            # that forgot the header is told here rather than surprised in production.
            return problem(
                406, "Not Acceptable", "Send Accept: application/json (Xero answers XML otherwise)"
            )
        with limits.call_slot(org) as verdict:
            response = _answer(request, org, verdict, view, kwargs)
        for name, value in verdict.headers.items():
            response[name] = value
        response["Xero-Correlation-Id"] = str(uuid.uuid4())
        return response

    return wrapped


def _answer(
    request: HttpRequest,
    org: XeroSandboxOrg,
    verdict: limits.Verdict,
    view: View,
    kwargs: dict[str, Any],
) -> HttpResponse:
    if verdict.problem:
        return too_many(verdict.problem, verdict.retry_after)
    if org.latency_ms:
        time.sleep(org.latency_ms / 1000)
    fault = limits.fault_for(org)
    if fault == "429":
        return too_many("minute", 1)
    if fault == "5xx":
        return problem(503, "Service Unavailable", "The sandbox was steered to fail this call")
    if request.method in WRITES:
        return idempotency.run_once(request, org, lambda: _call(view, request, org, kwargs))
    return _call(view, request, org, kwargs)


def _call(view: View, request: HttpRequest, org: XeroSandboxOrg, kwargs: dict[str, Any]) -> Any:
    try:
        return view(request, org, **kwargs)
    except BadJson as exc:
        return problem(400, "Bad Request", f"The request body is not valid JSON: {exc}")


def too_many(which: str, retry_after: int) -> HttpResponse:
    response = problem(429, "Too Many Requests", f"Rate limit exceeded: {which}")
    response["Retry-After"] = str(retry_after)
    response["X-Rate-Limit-Problem"] = which
    return response
