"""The Accounting API (`/sandbox/xero/api.xro/2.0/...`), behind the gate (token, tenant,
limits, faults, Idempotency-Key). Every request body is checked with Xero's own models
(validation.py) before the business rules (documents.py, payments.py); refusals answer 400 in
Xero's ValidationException shape.

    GET  Organisation | Currencies | Accounts
    GET  <Resource>[?where=...&page=N&includeArchived=true] (If-Modified-Since)
    GET  <Resource>/<id or number>
    PUT|POST <Resource>            create (or update the elements naming their id)
    POST <Resource>/<id>           update (Status VOIDED / DELETED, fields)
    PUT  CreditNotes/<id>/Allocations
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_http_date_safe

from integrations.models import XeroSandboxObject as Obj
from integrations.models import XeroSandboxOrg
from integrations.simulators.xero import documents, payments, webhooks
from integrations.simulators.xero.gate import json_body, xero_api
from integrations.simulators.xero.responses import (
    XeroValidationError,
    envelope,
    json_safe,
    ms_datetime,
    not_found,
    problem,
    query_parse_error,
    with_errors,
)
from integrations.simulators.xero.rules import as_uuid, object_get
from integrations.simulators.xero.validation import validate_request
from integrations.simulators.xero.where import WhereError, where_parse

PAGE_SIZE = 100
Save = Callable[[XeroSandboxOrg, dict[str, Any], Obj | None], Obj]


@dataclass(frozen=True)
class Resource:
    kind: str
    id_key: str
    number_key: str | None
    filters: frozenset[str]
    save: Save | None


RESOURCES: dict[str, Resource] = {
    "Accounts": Resource(
        "Account", "AccountID", "Code", frozenset({"Code", "Type", "Status", "Name", "Class"}), None
    ),
    "Contacts": Resource(
        "Contact",
        "ContactID",
        None,
        frozenset({"ContactNumber", "Name", "EmailAddress", "ContactStatus", "AccountNumber"}),
        documents.contact_save,
    ),
    "Invoices": Resource(
        "Invoice",
        "InvoiceID",
        "InvoiceNumber",
        frozenset({"Reference", "InvoiceNumber", "Type", "Status", "Contact.ContactID"}),
        documents.invoice_save,
    ),
    "CreditNotes": Resource(
        "CreditNote",
        "CreditNoteID",
        "CreditNoteNumber",
        frozenset({"Reference", "CreditNoteNumber", "Type", "Status", "Contact.ContactID"}),
        documents.credit_note_save,
    ),
    "BankTransactions": Resource(
        "BankTransaction",
        "BankTransactionID",
        None,
        frozenset({"Reference", "Type", "Status", "Contact.ContactID"}),
        documents.bank_transaction_save,
    ),
    "Payments": Resource(
        "Payment",
        "PaymentID",
        None,
        frozenset({"Reference", "Status", "PaymentType", "Invoice.InvoiceID"}),
        payments.payment_save,
    ),
    "ManualJournals": Resource(
        "ManualJournal",
        "ManualJournalID",
        None,
        frozenset({"Narration", "Status"}),
        documents.manual_journal_save,
    ),
}


def _resource(name: str) -> Resource | None:
    return RESOURCES.get(name)


@xero_api
def collection(request: HttpRequest, org: XeroSandboxOrg, resource: str) -> HttpResponse:
    spec = _resource(resource)
    if spec is None:
        return not_found()
    if request.method == "GET":
        return _list(request, org, resource, spec)
    if request.method in ("PUT", "POST") and spec.save is not None:
        return _write(request, org, resource, spec, None)
    return problem(405, "Method Not Allowed", f"{request.method} is not supported here")


@xero_api
def item(request: HttpRequest, org: XeroSandboxOrg, resource: str, object_id: str) -> HttpResponse:
    spec = _resource(resource)
    if spec is None:
        return not_found()
    row = _lookup(org, spec, object_id)
    if row is None:
        return not_found()
    if request.method == "GET":
        return envelope(resource, [row.data])
    if request.method == "POST" and spec.save is not None:
        return _write(request, org, resource, spec, row)
    return problem(405, "Method Not Allowed", f"{request.method} is not supported here")


@xero_api
def allocations(request: HttpRequest, org: XeroSandboxOrg, object_id: str) -> HttpResponse:
    if request.method != "PUT":
        return problem(405, "Method Not Allowed", "use PUT")
    body = json_body(request)
    if "Allocations" not in body:
        body = {"Allocations": [body]}
    refused = _refused("Allocations", body)
    if refused is not None:
        return refused
    XeroSandboxOrg.objects.select_for_update().get(pk=org.pk)
    done = payments.allocations_save(org, object_id, body["Allocations"])
    credit_note = object_get(org, "CreditNote", object_id)
    if credit_note is not None and org.webhooks_on_api_changes:
        webhooks.event_queue(
            org=org,
            kind="CreditNote",
            resource_id=str(credit_note.pk),
            event_type="UPDATE",
            data=credit_note.data,
        )
    return envelope("Allocations", done)


@xero_api
def organisation(request: HttpRequest, org: XeroSandboxOrg) -> HttpResponse:
    return envelope(
        "Organisations",
        [
            {
                "OrganisationID": str(org.pk),
                "Name": org.name,
                "LegalName": org.name,
                "PaysTax": True,
                "Version": "UK",
                "OrganisationType": "COMPANY",
                "BaseCurrency": org.base_currency,
                "CountryCode": "GB",
                "IsDemoCompany": False,
                "OrganisationStatus": "ACTIVE",
                "ShortCode": org.short_code,
                "Timezone": "GMTSTANDARDTIME",
                "OrganisationEntityType": "COMPANY",
                "Class": "PREMIUM",
                "Edition": "BUSINESS",
                "CreatedDateUTC": ms_datetime(org.created_at),
            }
        ],
    )


@xero_api
def currencies(request: HttpRequest, org: XeroSandboxOrg) -> HttpResponse:
    return envelope("Currencies", [{"Code": c, "Description": c} for c in org.currencies])


def _lookup(org: XeroSandboxOrg, spec: Resource, object_id: str) -> Obj | None:
    if as_uuid(object_id) is not None:
        return object_get(org, spec.kind, object_id)
    if spec.number_key:  # Xero also finds invoices and credit notes by number
        return (
            Obj.objects.filter(org=org, kind=spec.kind, **{f"data__{spec.number_key}": object_id})
            .order_by("created_at")
            .first()
        )
    return None


def _list(request: HttpRequest, org: XeroSandboxOrg, resource: str, spec: Resource) -> HttpResponse:
    rows = Obj.objects.filter(org=org, kind=spec.kind)
    where = request.GET.get("where", "").strip()
    if where:
        try:
            clauses = where_parse(where, fields=spec.filters)
        except WhereError as exc:
            return query_parse_error(str(exc))
        for field, value in clauses:
            rows = rows.filter(**{f"data__{field.replace('.', '__')}": value})
    since = _modified_since(request.headers.get("If-Modified-Since", ""))
    if since is not None:
        rows = rows.filter(updated_at__gt=since)
    if spec.kind == "Contact" and request.GET.get("includeArchived", "").lower() != "true":
        rows = rows.filter(~Q(data__ContactStatus="ARCHIVED"))
    rows = rows.order_by("created_at")
    page = request.GET.get("page", "")
    if page.isdigit() and int(page) > 0:
        start = (int(page) - 1) * PAGE_SIZE
        rows = rows[start : start + PAGE_SIZE]
    return envelope(resource, [row.data for row in rows])


def _modified_since(value: str) -> datetime | None:
    """Xero's If-Modified-Since: `2026-12-01T10:00:00` (UTC) or an HTTP date."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        seconds = parse_http_date_safe(value)
        return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_INDEX = re.compile(r"^\w+\[(\d+)\]")


def _refused(resource: str, body: dict[str, Any], *, updating: bool = False) -> HttpResponse | None:
    """Checked with Xero's models: the elements with their problems, in Xero's shape."""
    problems = validate_request(resource, body, updating=updating)
    if not problems:
        return None
    elements = body.get(resource) or [{}]
    by_element: dict[int, list[str]] = {}
    for message in problems:
        found = _INDEX.match(message)
        by_element.setdefault(int(found.group(1)) if found else 0, []).append(message)
    return XeroValidationError(
        [with_errors(json_safe(elements[i]), m) for i, m in sorted(by_element.items())]
    ).response()


def _write(
    request: HttpRequest, org: XeroSandboxOrg, resource: str, spec: Resource, row: Obj | None
) -> HttpResponse:
    body = json_body(request)
    if resource not in body:
        body = {resource: [body]}
    refused = _refused(resource, body, updating=row is not None)
    if refused is not None:
        return refused
    assert spec.save is not None
    # Why lock the org: numbers and unique names are checked, then written; one writer per
    # tenant at a time keeps them unique under concurrent calls.
    XeroSandboxOrg.objects.select_for_update().get(pk=org.pk)
    saved: list[dict[str, Any]] = []
    for element in body[resource]:
        existing = row
        if existing is None and element.get(spec.id_key):
            existing = object_get(org, spec.kind, element[spec.id_key], lock=True)
            if existing is None:
                raise XeroValidationError.one(
                    json_safe(element), f"{spec.kind} {element[spec.id_key]} could not be found"
                )
        if existing is None and spec.kind == "Contact" and request.method == "POST":
            existing = documents.contact_existing(org, element)
        elif existing is not None:
            existing = Obj.objects.select_for_update().get(pk=existing.pk)
        stored = spec.save(org, element, existing)
        if org.webhooks_on_api_changes:
            webhooks.event_queue(
                org=org,
                kind=spec.kind,
                resource_id=str(stored.pk),
                event_type="UPDATE" if existing else "CREATE",
                data=stored.data,
            )
        saved.append(stored.data)
    return envelope(resource, saved)
