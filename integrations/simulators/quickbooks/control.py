"""Steering the QuickBooks sandbox (tests, `make run`), authorised by the sandbox app's secret
(`Authorization: Bearer <QUICKBOOKS_SANDBOX_CLIENT_SECRET>`, or Basic with the client id):

    POST control/companies              {"name", "home_currency", "currencies",
                                        "multi_currency"}: a new company (realm)
    GET|POST control/<realmId>          read or set {latency_ms, error_429_percent,
                                        error_5xx_percent, rate_per_minute, concurrent_limit,
                                        refuse_refresh, webhooks_on, webhook_format,
                                        multi_currency, reset_limits}
    POST control/<realmId>/objects/<entity>/<id>
                                        change an object as a QuickBooks user would (the
                                        fields sent replace the object's; SyncToken + 1);
                                        sends its webhook (Update). With ?after=read: armed,
                                        made right after the next API read or query answers
                                        the object (a stale SyncToken race, races.py)
    DELETE control/<realmId>/objects/<entity>/<id>
                                        a list entity (Customer, ...) made inactive, a
                                        transaction deleted; sends its webhook (Delete)
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.simulators import limits, oauth
from integrations.simulators.quickbooks import faults, webhooks
from integrations.simulators.quickbooks.companies import company_create, currencies_enabled
from integrations.simulators.quickbooks.entities import BY_NAME, ENTITIES
from integrations.simulators.quickbooks.gate import PREFIX, limits_of
from integrations.simulators.quickbooks.identity import client_valid
from integrations.simulators.quickbooks.races import race_arm
from integrations.simulators.quickbooks.store import object_get, object_save

SETTABLE_INTS = (
    "latency_ms",
    "error_429_percent",
    "error_5xx_percent",
    "rate_per_minute",
    "concurrent_limit",
)
SETTABLE_BOOLS = ("refuse_refresh", "webhooks_on", "multi_currency")


def _refusal(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"error": detail}, status=status)


def _authorized(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return oauth.same(header[7:].strip(), settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET)
    basic = oauth.basic_credentials(request)
    return basic is not None and client_valid(*basic)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def settings_json(company: Company) -> dict[str, Any]:
    per_minute, concurrent = limits_of(company)
    return {
        "realmId": company.realm_id,
        "name": company.name,
        "home_currency": company.home_currency,
        "multi_currency": company.multi_currency,
        "currencies": sorted(currencies_enabled(company)),
        "latency_ms": company.latency_ms,
        "error_429_percent": company.error_429_percent,
        "error_5xx_percent": company.error_5xx_percent,
        "rate_per_minute": per_minute,
        "concurrent_limit": concurrent,
        "refuse_refresh": company.refuse_refresh,
        "webhooks_on": company.webhooks_on,
        "webhook_format": company.webhook_format,
    }


@csrf_exempt
def company_new(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        return _refusal(401, "the sandbox client secret is required")
    data = _body(request)
    if request.method != "POST" or data is None:
        return _refusal(400, "POST a JSON object")
    name = str(data.get("name", "")).strip()
    if not name:
        return _refusal(400, "name is required")
    company = company_create(
        name=name[:200],
        home_currency=str(data.get("home_currency", "GBP")).upper(),
        currencies=[str(c).upper() for c in data.get("currencies", [])],
        multi_currency=bool(data.get("multi_currency", True)),
    )
    return JsonResponse(settings_json(company), status=201)


@csrf_exempt
def company_settings(request: HttpRequest, realm_id: str) -> HttpResponse:
    if not _authorized(request):
        return _refusal(401, "the sandbox client secret is required")
    company = Company.objects.filter(pk=realm_id).first()
    if company is None:
        return _refusal(404, "no such realm")
    if request.method == "POST":
        data = _body(request)
        if data is None:
            return _refusal(400, "a JSON object is expected")
        problem = _apply(company, data)
        if problem:
            return _refusal(400, problem)
        company.save()
        if data.get("reset_limits"):
            limits.counters_reset(PREFIX, company.pk)
    return JsonResponse(settings_json(company))


def _apply(company: Company, data: dict[str, Any]) -> str:
    for name in SETTABLE_INTS:
        if name in data:
            value = data[name]
            if value is not None and (not isinstance(value, int) or value < 0):
                return f"{name} must be a whole number >= 0"
            if name.endswith("_percent") and value is not None and value > 100:
                return f"{name} must be at most 100"
            setattr(company, name, value or (None if name in SETTABLE_INTS[3:] else 0))
    for name in SETTABLE_BOOLS:
        if name in data:
            setattr(company, name, bool(data[name]))
    if "webhook_format" in data:
        if data["webhook_format"] not in Company.WebhookFormat.values:
            return f"webhook_format must be one of {', '.join(Company.WebhookFormat.values)}"
        company.webhook_format = data["webhook_format"]
    return ""


@csrf_exempt
def object_change(request: HttpRequest, realm_id: str, entity: str, object_id: str) -> HttpResponse:
    if not _authorized(request):
        return _refusal(401, "the sandbox client secret is required")
    company = Company.objects.filter(pk=realm_id).first()
    spec = BY_NAME.get(entity) or ENTITIES.get(entity.lower())
    if company is None or spec is None:
        return _refusal(404, "no such realm or entity")
    patch = _body(request) if request.method == "POST" else {}
    if patch is None or request.method not in ("POST", "DELETE"):
        return _refusal(400, "POST a JSON object, or DELETE")
    with transaction.atomic():
        row = object_get(company, spec.name, object_id, lock=True)
        if row is None:
            return faults.not_found(spec.name, object_id).response()
        if request.method == "POST" and request.GET.get("after") == "read":
            race_arm(company, spec.name, object_id, patch)
            return JsonResponse({"armed": True, **row.data})
        fixed = {"Id", "SyncToken", "MetaData", "domain", "sparse"}
        data = {k: v for k, v in row.data.items() if k not in fixed}
        if request.method == "DELETE":
            if spec.is_list:
                object_save(row, {**data, "Active": False})
            else:
                object_save(row, data, deleted=True)
            operation = "Delete"
        else:
            object_save(row, {**data, **{k: v for k, v in patch.items() if k not in fixed}})
            operation = "Update"
        webhooks.change_queue(company=company, row=row, operation=operation)
    return JsonResponse(row.data)
