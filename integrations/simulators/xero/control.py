"""Steering the Xero sandbox (tests, `make run`), authorised by the sandbox app's secret
(`Authorization: Bearer <XERO_SANDBOX_CLIENT_SECRET>`, or Basic with the client id):

    POST control/orgs                      {"name", "base_currency", "currencies"}: a new org,
                                           connected to the apps already connected
    GET|POST control/<tenant_id>           read or set {latency_ms, error_429_percent,
                                           error_5xx_percent, rate_per_minute, rate_per_day,
                                           concurrent_limit, webhooks_on_api_changes,
                                           currencies, reset_limits}
    POST control/<tenant_id>/objects/<type>/<id>
                                           change an object as a Xero user would
                                           ({"Status": "VOIDED"}, {"Total": 80.0},
                                           {"ContactStatus": "ARCHIVED"}); sends its webhook
    DELETE control/<tenant_id>/objects/<type>/<id>
                                           archive a contact, delete a draft, void the rest
    POST control/<tenant_id>/intent-to-receive
                                           Xero's webhook handshake against the webhook URL
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.models import XeroSandboxConnection, XeroSandboxOrg
from integrations.models import XeroSandboxObject as Obj
from integrations.simulators.xero import documents, limits, payments, tokens, webhooks
from integrations.simulators.xero.orgs import org_create
from integrations.simulators.xero.responses import XeroValidationError, dec, problem
from integrations.simulators.xero.rules import object_get

KINDS = {
    "invoice": ("Invoice", "InvoiceID", documents.invoice_save),
    "contact": ("Contact", "ContactID", documents.contact_save),
    "creditnote": ("CreditNote", "CreditNoteID", documents.credit_note_save),
    "banktransaction": ("BankTransaction", "BankTransactionID", documents.bank_transaction_save),
    "payment": ("Payment", "PaymentID", payments.payment_save),
    "manualjournal": ("ManualJournal", "ManualJournalID", documents.manual_journal_save),
}
SETTABLE_INTS = (
    "latency_ms",
    "error_429_percent",
    "error_5xx_percent",
    "rate_per_minute",
    "rate_per_day",
    "concurrent_limit",
)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}", parse_float=Decimal)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _guarded(request: HttpRequest) -> HttpResponse | None:
    if not tokens.control_authorized(request):
        return problem(401, "Unauthorized", "the sandbox client secret is required")
    return None


def _settings_json(org: XeroSandboxOrg) -> dict[str, Any]:
    per_minute, per_day, concurrent = limits.limits_of(org)
    return {
        "tenantId": str(org.pk),
        "name": org.name,
        "base_currency": org.base_currency,
        "currencies": org.currencies,
        "latency_ms": org.latency_ms,
        "error_429_percent": org.error_429_percent,
        "error_5xx_percent": org.error_5xx_percent,
        "rate_per_minute": per_minute,
        "rate_per_day": per_day,
        "concurrent_limit": concurrent,
        "webhooks_on_api_changes": org.webhooks_on_api_changes,
    }


@csrf_exempt
def org_new(request: HttpRequest) -> HttpResponse:
    refused = _guarded(request)
    if refused is not None or request.method != "POST":
        return refused or problem(405, "Method Not Allowed", "use POST")
    data = _body(request)
    if data is None or not str(data.get("name", "")).strip():
        return problem(400, "Bad Request", "name is required")
    base = str(data.get("base_currency", "GBP")).upper()
    others = [str(c).upper() for c in data.get("currencies", [])]
    with transaction.atomic():
        org = org_create(name=str(data["name"])[:200], base_currency=base, currencies=others)
        clients = XeroSandboxConnection.objects.values_list("client_id", flat=True).distinct()
        for client_id in set(clients):
            XeroSandboxConnection.objects.create(org=org, client_id=client_id)
    return JsonResponse(_settings_json(org), status=201)


@csrf_exempt
def org_settings(request: HttpRequest, tenant_id: str) -> HttpResponse:
    refused = _guarded(request)
    if refused is not None:
        return refused
    org = XeroSandboxOrg.objects.filter(pk=tenant_id).first()
    if org is None:
        return problem(404, "NotFound", "no such tenant")
    if request.method == "POST":
        data = _body(request)
        if data is None:
            return problem(400, "Bad Request", "a JSON object is expected")
        for name in SETTABLE_INTS:
            if name in data:
                value = data[name]
                if value is not None and (not isinstance(value, int) or value < 0):
                    return problem(400, "Bad Request", f"{name} must be a whole number >= 0")
                if name.endswith("_percent") and value is not None and value > 100:
                    return problem(400, "Bad Request", f"{name} must be at most 100")
                setattr(org, name, value or (0 if name in SETTABLE_INTS[:3] else None))
        if "webhooks_on_api_changes" in data:
            org.webhooks_on_api_changes = bool(data["webhooks_on_api_changes"])
        if isinstance(data.get("currencies"), list):
            wanted = [str(c).upper() for c in data["currencies"]]
            org.currencies = [org.base_currency] + [c for c in wanted if c != org.base_currency]
        org.save()
        if data.get("reset_limits"):
            limits.counters_reset(org)
    return JsonResponse(_settings_json(org))


def _total_change(data: dict[str, Any], total: Decimal) -> dict[str, Any]:
    """The lines changed so the document's total becomes `total` (the first line absorbs it)."""
    lines = [dict(line) for line in data.get("LineItems", [])]
    if not lines:
        return {}
    difference = total - dec(data.get("Total"))
    first = lines[0]
    amount = dec(first.get("LineAmount")) + difference
    first.update(Quantity=1.0, UnitAmount=float(amount), LineAmount=float(amount))
    return {"LineItems": lines}


@csrf_exempt
def object_change(request: HttpRequest, tenant_id: str, kind: str, object_id: str) -> HttpResponse:
    refused = _guarded(request)
    if refused is not None:
        return refused
    org = XeroSandboxOrg.objects.filter(pk=tenant_id).first()
    spec = KINDS.get(kind.lower().rstrip("s"))
    if org is None or spec is None:
        return problem(404, "NotFound", "no such tenant or object type")
    model_kind, id_key, save = spec
    patch = _body(request) if request.method == "POST" else {}
    if patch is None or request.method not in ("POST", "DELETE"):
        return problem(400, "Bad Request", "POST a JSON object, or DELETE")
    try:
        with transaction.atomic():
            row = object_get(org, model_kind, object_id, lock=True)
            if row is None:
                return problem(404, "NotFound", "no such object")
            if request.method == "DELETE":
                patch = _deletion(model_kind, row.data)
            element: dict[str, Any] = {id_key: str(row.pk), **patch}
            if "Total" in patch:
                element.pop("Total")
                element.update(_total_change(row.data, dec(patch["Total"])))
            stored = save(org, element, row)
            webhooks.event_queue(
                org=org,
                kind=model_kind,
                resource_id=str(stored.pk),
                event_type="UPDATE",
                data=stored.data,
            )
    except XeroValidationError as refusal:
        return refusal.response()
    return JsonResponse(stored.data)


def _deletion(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "Contact":
        return {"ContactStatus": "ARCHIVED"}
    if data.get("Status") in ("DRAFT", "SUBMITTED"):
        return {"Status": "DELETED"}
    return {"Status": "DELETED" if kind in ("BankTransaction", "Payment") else "VOIDED"}


@csrf_exempt
def intent_to_receive(request: HttpRequest, tenant_id: str) -> HttpResponse:
    refused = _guarded(request)
    if refused is not None or request.method != "POST":
        return refused or problem(405, "Method Not Allowed", "use POST")
    org = XeroSandboxOrg.objects.filter(pk=tenant_id).first()
    if org is None:
        return problem(404, "NotFound", "no such tenant")
    return JsonResponse(webhooks.intent_to_receive(org=org))


def objects_count(org: XeroSandboxOrg) -> int:
    return Obj.objects.filter(org=org).count()
