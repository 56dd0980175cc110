"""The Accounting API v3 (`/sandbox/quickbooks/v3/company/<realmId>/...`), behind the gate
(token, realm, limits, faults, requestid). Bodies are read through python-quickbooks'
classes (shapes.py) and checked by QuickBooks' rules (names.py, transactions.py); refusals
are Intuit Faults (faults.py).

    POST <entity>[?requestid&minorversion]              create, or update (Id + SyncToken)
    POST <entity>?operation=void | ?operation=delete    body {"Id", "SyncToken"}
    GET  <entity>/<id>                                  read
    GET  query?query=<select ...>  (or POST query, the statement as the body)
    GET  cdc?entities=Customer,Bill&changedSince=<ISO 8601>
    GET  companyinfo/<realmId>, preferences
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxObject as Obj
from integrations.simulators.quickbooks import faults, writes
from integrations.simulators.quickbooks.companies import currency_ref
from integrations.simulators.quickbooks.entities import BY_NAME, ENTITIES, LISTS, Entity
from integrations.simulators.quickbooks.faults import answer, intuit_time
from integrations.simulators.quickbooks.gate import json_body, quickbooks_api
from integrations.simulators.quickbooks.query import Query, field_value, matches, query_parse
from integrations.simulators.quickbooks.races import races_run
from integrations.simulators.quickbooks.store import object_get

CDC_DAYS = 30
CDC_MAX = 1000


def _entity(name: str) -> Entity:
    spec = ENTITIES.get(name.lower())
    if spec is None:
        raise faults.Fault(
            "Unsupported Operation",
            f"Operation on {name} is not supported",
            code="500",
            status=400,
        )
    return spec


@quickbooks_api
def entity_write(request: HttpRequest, company: Company, entity: str) -> HttpResponse:
    if request.method != "POST":
        raise faults.Fault("Unsupported Operation", "use POST to write", code="500", status=405)
    spec = _entity(entity)
    body = json_body(request)
    operation = request.GET.get("operation", "").lower()
    if operation == "delete":
        return answer({spec.name: writes.delete(company, spec, body)})
    if operation == "void":
        return answer({spec.name: writes.void(company, spec, body).data})
    if operation:
        raise faults.Fault("Unsupported Operation", f"operation={operation}", code="500")
    return answer({spec.name: writes.write(company, spec, body).data})


@quickbooks_api
def entity_read(
    request: HttpRequest, company: Company, entity: str, object_id: str
) -> HttpResponse:
    spec = _entity(entity)
    if request.method != "GET":
        raise faults.Fault("Unsupported Operation", "use GET to read", code="500", status=405)
    row = object_get(company, spec.name, object_id)
    if row is None:
        raise faults.not_found(spec.name, object_id)
    (data,) = races_run(company, spec.name, [row.data])
    return answer({spec.name: data})


def company_info(company: Company) -> dict[str, Any]:
    created = intuit_time(company.created_at)
    return {
        "CompanyName": company.name,
        "LegalName": company.name,
        "Country": company.country,
        "CompanyStartDate": company.created_at.date().isoformat(),
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "NameValue": [{"Name": "NeoEnabled", "Value": "true"}],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {"CreateTime": created, "LastUpdatedTime": intuit_time(company.updated_at)},
    }


def preferences_of(company: Company) -> dict[str, Any]:
    return {
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": company.multi_currency,
            "HomeCurrency": currency_ref(company.home_currency),
        },
        "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False},
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {
            "CreateTime": intuit_time(company.created_at),
            "LastUpdatedTime": intuit_time(company.updated_at),
        },
    }


@quickbooks_api
def companyinfo(request: HttpRequest, company: Company, company_id: str) -> HttpResponse:
    if company_id not in (company.realm_id, "1"):
        raise faults.not_found("CompanyInfo", company_id)
    return answer({"CompanyInfo": company_info(company)})


@quickbooks_api
def preferences(request: HttpRequest, company: Company) -> HttpResponse:
    return answer({"Preferences": preferences_of(company)})


def _rows(company: Company, query: Query) -> list[dict[str, Any]]:
    if query.entity == "CompanyInfo":
        return [company_info(company)]
    if query.entity == "Preferences":
        return [preferences_of(company)]
    spec = BY_NAME.get(query.entity) or ENTITIES.get(query.entity.lower())
    if spec is None:
        raise faults.query_error(f"Invalid context declaration : {query.entity}")
    query.entity = spec.name
    rows = Obj.objects.filter(company=company, entity=spec.name, deleted=False)
    found = [row.data for row in rows.order_by("created_at", "id")]
    where = list(query.where)
    if spec.name in LISTS and not any(name == "Active" for name, _op, _v in where):
        where.append(("Active", "=", True))
    found = [data for data in found if matches(data, where)]
    if query.order_by:
        name, descending = query.order_by
        found.sort(key=lambda d: _sort_key(field_value(d, name)), reverse=descending)
    return found


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        return (0, float(value))
    return (1, str(value or ""))


@quickbooks_api
def query(request: HttpRequest, company: Company) -> HttpResponse:
    # GET ?query=..., or POST with the statement as the body (python-quickbooks sends it as
    # application/text) or in ?query= as a GET would.
    text = request.GET.get("query", "")
    if request.method == "POST" and not text:
        text = request.body.decode(errors="replace")
    if not text.strip():
        raise faults.query_error("query is required")
    parsed = query_parse(text)
    found = _rows(company, parsed)
    if parsed.count:
        return answer({"QueryResponse": {"totalCount": len(found)}})
    page = found[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
    if not page:
        return answer({"QueryResponse": {}})
    page = races_run(company, parsed.entity, page)
    return answer(
        {
            "QueryResponse": {
                parsed.entity: page,
                "startPosition": parsed.start,
                "maxResults": len(page),
            }
        }
    )


@quickbooks_api
def cdc(request: HttpRequest, company: Company) -> HttpResponse:
    names = [n.strip() for n in request.GET.get("entities", "").split(",") if n.strip()]
    if not names:
        raise faults.required("entities")
    since = parse_datetime(request.GET.get("changedSince", "").replace(" ", "+"))
    if since is None:
        raise faults.required("changedSince")
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if since < timezone.now() - timedelta(days=CDC_DAYS):
        raise faults.business(f"changedSince may be at most {CDC_DAYS} days ago", "changedSince")
    responses = []
    for name in names:
        spec = BY_NAME.get(name) or ENTITIES.get(name.lower())
        if spec is None:
            raise faults.Fault("Unsupported Operation", f"CDC for {name}", code="500")
        rows = Obj.objects.filter(company=company, entity=spec.name, updated_at__gt=since)
        found = [_cdc_data(row) for row in rows.order_by("updated_at")[:CDC_MAX]]
        entry: dict[str, Any] = {spec.name: found} if found else {}
        if found:
            entry.update(startPosition=1, maxResults=len(found))
        responses.append(entry)
    return answer({"CDCResponse": [{"QueryResponse": responses}]})


def _cdc_data(row: Obj) -> dict[str, Any]:
    if not row.deleted:
        data: dict[str, Any] = row.data
        return data
    return {
        "domain": "QBO",
        "status": "Deleted",
        "Id": row.object_id,
        "MetaData": {"LastUpdatedTime": row.data.get("MetaData", {}).get("LastUpdatedTime")},
    }
