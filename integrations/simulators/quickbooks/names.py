"""Name-list entities (Intuit's lists): Customer, Vendor, Account, Item, CompanyCurrency.
Each `<entity>_prepare(company, body, existing)` returns the object to store, or raises the
Fault Intuit answers. Lists are never deleted: `Active: false` makes them inactive."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxObject as Obj
from integrations.simulators.quickbooks import checks, faults
from integrations.simulators.quickbooks.companies import (
    CLASSIFICATION,
    CURRENCY_NAMES,
    currency_ref,
)

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
ITEM_TYPES = {"Service", "NonInventory", "Inventory", "Category"}


def _name_taken(
    company: Company, entities: tuple[str, ...], field: str, name: str, me: str
) -> bool:
    rows = Obj.objects.filter(company=company, entity__in=entities, deleted=False)
    return rows.filter(**{f"data__{field}__iexact": name}).filter(~Q(object_id=me)).exists()


def person_prepare(
    entity: str, company: Company, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    """Customer and Vendor: DisplayName (or the name parts it is made of) unique among
    customers, vendors and employees, inactive ones too, and without a colon."""
    data = dict(body)
    display = str(data.get("DisplayName") or "").strip()
    if not display:
        display = " ".join(str(data[p]) for p in NAME_PARTS if data.get(p)).strip()
        display = display or str(data.get("CompanyName") or "").strip()
    if not display:
        raise faults.required(f"{entity}.DisplayName")
    data["DisplayName"] = display
    checks.max_length(data, "DisplayName", 500, entity)
    checks.max_length(data, "CompanyName", 100, entity)
    if ":" in display:
        raise faults.business(
            f"{entity}.DisplayName: a name cannot contain a colon (:)", f"{entity}.DisplayName"
        )
    me = str((existing or {}).get("Id", ""))
    if _name_taken(company, ("Customer", "Vendor", "Employee"), "DisplayName", display, me):
        raise faults.duplicate_name(display)
    previous = (existing or {}).get("CurrencyRef", {}).get("value")
    code = checks.currency(
        company,
        {"CurrencyRef": data.get("CurrencyRef"), "ExchangeRate": 1},
        entity,
        default=previous,
    )
    if previous and code != previous:
        raise faults.business(
            f"{entity}.CurrencyRef: a {entity}'s currency cannot change", f"{entity}.CurrencyRef"
        )

    data["CurrencyRef"] = currency_ref(code)
    data.setdefault("Active", True)
    data["FullyQualifiedName"] = display
    data.setdefault("Balance", 0)
    if entity == "Customer":
        data.setdefault("BalanceWithJobs", 0)
        data.setdefault("Job", False)
    return data


def customer_prepare(
    company: Company, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    return person_prepare("Customer", company, body, existing)


def vendor_prepare(
    company: Company, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    return person_prepare("Vendor", company, body, existing)


def account_prepare(
    company: Company, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    data = dict(body)
    name = str(checks.required(data, "Name", "Account")).strip()
    checks.max_length(data, "Name", 100, "Account")
    if ":" in name or '"' in name:
        raise faults.business('Account.Name: a name cannot contain : or "', "Account.Name")
    kind = checks.enum(data, "AccountType", set(CLASSIFICATION), "Account")
    me = str((existing or {}).get("Id", ""))
    if _name_taken(company, ("Account",), "Name", name, me):
        raise faults.duplicate_name(name)
    code = checks.currency(
        company,
        {"CurrencyRef": data.get("CurrencyRef"), "ExchangeRate": 1},
        "Account",
        default=None,
    )

    data.update(
        Name=name,
        FullyQualifiedName=name,
        Classification=CLASSIFICATION[kind],
        CurrencyRef=currency_ref(code),
        SubAccount=bool(data.get("SubAccount", False)),
    )
    data.setdefault("Active", True)
    data.setdefault("CurrentBalance", 0)
    data.setdefault("CurrentBalanceWithSubAccounts", 0)
    return data


def item_prepare(
    company: Company, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    data = dict(body)
    name = str(checks.required(data, "Name", "Item")).strip()
    checks.max_length(data, "Name", 100, "Item")
    kind = checks.enum(data, "Type", ITEM_TYPES, "Item")
    if kind in ("Service", "NonInventory"):
        checks.account(company, data, "IncomeAccountRef", "Item", types={"Income", "Other Income"})
    me = str((existing or {}).get("Id", ""))
    if _name_taken(company, ("Item",), "Name", name, me):
        raise faults.duplicate_name(name)
    data.update(Name=name, FullyQualifiedName=name)
    data.setdefault("Active", True)
    return data


def company_currency_prepare(
    company: Company, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    if not company.multi_currency:
        raise faults.business(
            "CompanyCurrency: multicurrency is off in this company", "CompanyCurrency"
        )
    data = dict(body)
    code = str(checks.required(data, "Code", "CompanyCurrency")).upper()
    if len(code) != 3 or not code.isalpha() or code == company.home_currency:
        raise faults.business(
            f"CompanyCurrency.Code: {code} cannot be added", "CompanyCurrency.Code"
        )
    me = str((existing or {}).get("Id", ""))
    if _name_taken(company, ("CompanyCurrency",), "Code", code, me):
        raise faults.duplicate_name(code)
    data.update(Code=code, Name=CURRENCY_NAMES.get(code, code))
    data.setdefault("Active", True)
    return data
