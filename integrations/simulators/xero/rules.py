"""The business rules Xero enforces on documents, shared by every kind: accounts that exist
and are active, currencies the org has enabled, contacts that exist and are not archived,
line amounts that add up. Each check appends Xero's message to the element's `errors`."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from integrations.models import XeroSandboxObject as Obj
from integrations.models import XeroSandboxOrg
from integrations.simulators.xero.responses import (
    date_string,
    dec,
    json_safe,
    money,
    ms_date,
    ms_datetime,
    parse_day,
)

Element = dict[str, Any]


def now_ms() -> str:
    return ms_datetime(timezone.now())


def as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def object_get(org: XeroSandboxOrg, kind: str, pk: Any, *, lock: bool = False) -> Obj | None:
    key = as_uuid(pk)
    if key is None:
        return None
    rows = Obj.objects.filter(org=org, kind=kind, pk=key)
    return (rows.select_for_update() if lock else rows).first()


def object_find(org: XeroSandboxOrg, kind: str, *, lock: bool = False, **data: Any) -> Obj | None:
    rows = Obj.objects.filter(org=org, kind=kind, **{f"data__{k}": v for k, v in data.items()})
    return (rows.select_for_update() if lock else rows).order_by("created_at").first()


def account_ref(org: XeroSandboxOrg, ref: Any, errors: list[str], *, bank: bool = False) -> Element:
    """The account a document names (by Code or AccountID): it must exist and be ACTIVE."""
    ref = ref if isinstance(ref, dict) else {"Code": ref}
    found = None
    if ref.get("AccountID"):
        found = object_get(org, "Account", ref["AccountID"])
    elif ref.get("Code") not in (None, ""):
        found = object_find(org, "Account", Code=str(ref["Code"]))
    label = ref.get("Code") or ref.get("AccountID") or ""
    if found is None:
        errors.append(f"Account code '{label}' is not a valid code for this document.")
        return {}
    data = found.data
    if data.get("Status") != "ACTIVE":
        errors.append(
            f"Account code '{data['Code']}' has been archived, or deleted. Each line item "
            "must reference a valid account."
        )
    elif bank and data.get("Type") != "BANK" and not data.get("EnablePaymentsToAccount"):
        errors.append(f"Account code '{data['Code']}' is not a bank account.")
    return data


def currency_check(org: XeroSandboxOrg, code: Any, errors: list[str]) -> str:
    currency = str(code or org.base_currency)
    if currency not in org.currencies:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    return currency


def contact_ref(org: XeroSandboxOrg, ref: Any, errors: list[str]) -> Element:
    """The contact a document names, by ContactID, ContactNumber or Name (a new name creates
    the contact, as Xero does); an archived contact is refused."""
    if not isinstance(ref, dict):
        errors.append("A Contact must be specified for this type of transaction")
        return {}
    found = None
    if ref.get("ContactID"):
        found = object_get(org, "Contact", ref["ContactID"])
        if found is None:
            errors.append("Contact could not be found")  # Xero's words for an unknown id
            return {}
    elif ref.get("ContactNumber"):
        found = object_find(org, "Contact", ContactNumber=ref["ContactNumber"])
    if found is None and ref.get("Name"):
        found = object_find(org, "Contact", Name=ref["Name"], ContactStatus="ACTIVE")
        if found is None:
            found = Obj.objects.create(org=org, kind="Contact")
            found.data = {
                "ContactID": str(found.pk),
                "Name": ref["Name"],
                "ContactStatus": "ACTIVE",
                "UpdatedDateUTC": now_ms(),
            }
            found.save(update_fields=["data"])
    if found is None:
        errors.append("A Contact must be specified for this type of transaction")
        return {}
    if found.data.get("ContactStatus") == "ARCHIVED":
        errors.append(
            f"The contact '{found.data.get('Name')}' is archived and cannot be used. Restore "
            "the contact before using it."
        )
    return contact_summary(found.data)


def contact_summary(data: Element) -> Element:
    keys = ("ContactID", "ContactNumber", "Name", "ContactStatus", "EmailAddress")
    return {k: data[k] for k in keys if data.get(k) is not None}


def day_fields(element: Element, key: str, errors: list[str], *, default_today: bool) -> Element:
    raw = element.get(key)
    day: date | None = parse_day(raw) if raw is not None else None
    if raw is not None and day is None:
        errors.append(f"{key} is not a valid date")
    if day is None and default_today:
        day = timezone.now().date()
    if day is None:
        return {}
    return {key: ms_date(day), f"{key}String": date_string(day)}


def lines_shape(
    org: XeroSandboxOrg, lines: Any, amount_types: str, errors: list[str]
) -> tuple[list[Element], Decimal, Decimal]:
    """Line items with their amounts worked out, and (sub total, total tax)."""
    shaped: list[Element] = []
    sub_total = Decimal(0)
    total_tax = Decimal(0)
    for line in lines if isinstance(lines, list) else []:
        quantity = dec(line.get("Quantity"), "1")
        unit = line.get("UnitAmount")
        discount = dec(line.get("DiscountRate"))
        expected = None
        if unit is not None:
            # Rounded half up to the cent (the sandbox's choice: Xero names no mode).
            gross = quantity * dec(unit) * (1 - discount / 100)
            expected = gross.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        given = line.get("LineAmount")
        amount = dec(given) if given is not None else (expected or Decimal(0))
        if given is not None and expected is not None and dec(given) != expected:
            errors.append(
                f"The line total {dec(given)} does not match the expected line total {expected}"
            )
        tax = dec(line.get("TaxAmount"))
        if amount_types == "NoTax" and tax:
            errors.append("TaxAmount must be zero when LineAmountTypes is NoTax")
        code = line.get("AccountCode")
        if code not in (None, ""):
            account_ref(org, {"Code": code}, errors)
        out = json_safe(line)
        out.update(
            LineItemID=str(line.get("LineItemID") or uuid.uuid4()),
            Quantity=float(quantity),
            LineAmount=money(amount),
            TaxAmount=money(tax),
            Tracking=out.get("Tracking", []),
        )
        if unit is not None:
            out["UnitAmount"] = float(dec(unit))
        shaped.append(out)
        sub_total += amount
        total_tax += tax
    if amount_types == "Inclusive":
        sub_total -= total_tax
    return shaped, sub_total, total_tax


def unique_errors(errors: list[str]) -> list[str]:
    return list(dict.fromkeys(errors))
