"""Writes of contacts, invoices, credit notes, bank transactions and manual journals, with the
rules Xero applies. Each `<kind>_save(org, element, existing)` returns the stored object or
raises XeroValidationError with the element and Xero's messages (the caller's transaction
then rolls back the whole batch, as Xero's summarizeErrors does)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.models import XeroSandboxObject as Obj
from integrations.models import XeroSandboxOrg
from integrations.simulators.xero.responses import XeroValidationError, dec, json_safe, money
from integrations.simulators.xero.rules import (
    Element,
    account_ref,
    contact_ref,
    currency_check,
    day_fields,
    lines_shape,
    now_ms,
    object_find,
    unique_errors,
)

INVOICE_TYPES = ("ACCREC", "ACCPAY")
CREDIT_TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")
OPEN = ("DRAFT", "SUBMITTED", "AUTHORISED")


def _refuse(element: Element, errors: list[str]) -> None:
    if errors:
        raise XeroValidationError.one(json_safe(element), *unique_errors(errors))


def _store(org: XeroSandboxOrg, kind: str, id_key: str, existing: Obj | None, data: Element) -> Obj:
    row = existing or Obj(org=org, kind=kind)
    data[id_key] = str(row.pk)
    data["UpdatedDateUTC"] = now_ms()
    row.data = data
    row.save()
    return row


# --- contacts -----------------------------------------------------------------------------


def contact_save(org: XeroSandboxOrg, element: Element, existing: Obj | None) -> Obj:
    errors: list[str] = []
    data = {**(existing.data if existing else {}), **json_safe(element)}
    data.setdefault("ContactStatus", "ACTIVE")
    if data["ContactStatus"] not in ("ACTIVE", "ARCHIVED"):
        errors.append(f"ContactStatus {data['ContactStatus']} cannot be set over the API")
    name = data.get("Name")
    same_name = object_find(org, "Contact", Name=name, ContactStatus="ACTIVE")
    if same_name is not None and (existing is None or same_name.pk != existing.pk):
        errors.append(
            f"The contact name {name} is already assigned to another contact. The contact "
            "name must be unique across all active contacts."
        )
    if data.get("DefaultCurrency"):
        currency_check(org, data["DefaultCurrency"], errors)
    _refuse(element, errors)
    data.setdefault("IsSupplier", False)
    data.setdefault("IsCustomer", False)
    return _store(org, "Contact", "ContactID", existing, data)


def contact_existing(org: XeroSandboxOrg, element: Element) -> Obj | None:
    """POST /Contacts updates the contact named by ContactID, else by ContactNumber."""
    if element.get("ContactNumber") and not element.get("ContactID"):
        return object_find(org, "Contact", lock=True, ContactNumber=element["ContactNumber"])
    return None


# --- invoices and credit notes ------------------------------------------------------------


def _document(org: XeroSandboxOrg, element: Element, existing: Obj | None, *, credit: bool) -> Obj:
    kind, id_key = ("CreditNote", "CreditNoteID") if credit else ("Invoice", "InvoiceID")
    number_key = "CreditNoteNumber" if credit else "InvoiceNumber"
    errors: list[str] = []
    before = existing.data if existing else {}
    if existing is not None:
        _check_change(before, element, errors, credit=credit)
        _refuse(element, errors)
        if set(element) - {id_key, "Status"} == set():  # a status change only
            return _store(org, kind, id_key, existing, {**before, "Status": element["Status"]})
    data = {**before, **json_safe(element)}
    kind_type = data.get("Type")
    if kind_type in ("ACCPAY", "ACCPAYCREDIT"):
        # Xero's API description: Reference is "ACCREC only" / "ACCRECCREDIT only"; a bill's
        # is dropped (a bill is known by its InvoiceNumber / CreditNoteNumber).
        data.pop("Reference", None)
    if kind_type not in (CREDIT_TYPES if credit else INVOICE_TYPES):
        errors.append(f"Type {kind_type} is not valid for this document")
    status = data.get("Status") or "DRAFT"
    if status not in OPEN and existing is None:
        errors.append(f"A document cannot be created with status {status}")
    contact = contact_ref(org, data.get("Contact"), errors)
    currency = currency_check(org, data.get("CurrencyCode"), errors)
    amount_types = data.get("LineAmountTypes") or "Exclusive"
    lines, sub_total, tax = lines_shape(org, data.get("LineItems"), amount_types, errors)
    if status == "AUTHORISED" and not lines:
        errors.append("At least one line item is required to approve the document")
    if status == "AUTHORISED" and any(not line.get("AccountCode") for line in lines):
        errors.append("An account code must be specified on each line of an approved document")
    number = data.get(number_key)
    if number and kind_type in ("ACCREC", "ACCRECCREDIT"):  # Xero allows repeats on bills
        clash = object_find(org, kind, **{number_key: number, "Type": kind_type})
        if clash is not None and (existing is None or clash.pk != existing.pk):
            errors.append(f"{'Credit Note' if credit else 'Invoice'} # must be unique.")
    dates = {
        **day_fields(element, "Date", errors, default_today=existing is None),
        **day_fields(element, "DueDate", errors, default_today=False),
    }
    _refuse(element, errors)
    if not number and kind_type in ("ACCREC", "ACCRECCREDIT"):
        count = Obj.objects.filter(org=org, kind=kind, data__Type=kind_type).count()
        number = f"{'CN' if credit else 'INV'}-{count + 1:04d}"
    total = sub_total + tax
    paid = dec(before.get("AmountPaid"))
    data.update(
        dates,
        Contact=contact,
        CurrencyCode=currency,
        CurrencyRate=float(dec(data.get("CurrencyRate"), "1")),
        LineAmountTypes=amount_types,
        LineItems=lines,
        Status=status,
        SubTotal=money(sub_total),
        TotalTax=money(tax),
        Total=money(total),
        AmountPaid=money(paid),
        Payments=before.get("Payments", []),
        HasAttachments=False,
        **{number_key: number or ""},
    )
    if credit:
        allocated = sum((dec(a.get("Amount")) for a in before.get("Allocations", [])), Decimal(0))
        data.update(
            RemainingCredit=money(total - allocated - paid),
            Allocations=before.get("Allocations", []),
        )
    else:
        credited = dec(before.get("AmountCredited"))
        data.update(
            AmountDue=money(total - paid - credited),
            AmountCredited=money(credited),
            CreditNotes=before.get("CreditNotes", []),
            IsDiscounted=False,
            SentToContact=bool(data.get("SentToContact", False)),
        )
    return _store(org, kind, id_key, existing, data)


def _check_change(before: Element, element: Element, errors: list[str], *, credit: bool) -> None:
    status, wanted = before.get("Status"), element.get("Status", before.get("Status"))
    settled = bool(dec(before.get("AmountPaid")) or dec(before.get("AmountCredited")))
    if credit:
        settled = settled or bool(before.get("Allocations"))
    if status not in OPEN:
        errors.append(
            "This document cannot be edited as it is not of valid status for modification"
        )
    elif wanted not in (*OPEN, "VOIDED", "DELETED"):
        errors.append(f"Status {wanted} cannot be set over the API")
    elif wanted == "VOIDED" and (status != "AUTHORISED" or settled):
        errors.append("Only AUTHORISED documents without payments or allocations can be voided")
    elif wanted == "DELETED" and status not in ("DRAFT", "SUBMITTED"):
        errors.append("Only DRAFT or SUBMITTED documents can be deleted; void it instead")
    elif settled and set(element) - {"InvoiceID", "CreditNoteID", "Status", "Reference"}:
        errors.append(
            "This document cannot be edited as it has a payment or credit note allocated to it."
        )


def invoice_save(org: XeroSandboxOrg, element: Element, existing: Obj | None) -> Obj:
    return _document(org, element, existing, credit=False)


def credit_note_save(org: XeroSandboxOrg, element: Element, existing: Obj | None) -> Obj:
    return _document(org, element, existing, credit=True)


# --- bank transactions --------------------------------------------------------------------


def bank_transaction_save(org: XeroSandboxOrg, element: Element, existing: Obj | None) -> Obj:
    errors: list[str] = []
    before = existing.data if existing else {}
    if before.get("Status") == "DELETED":
        errors.append("This Bank Transaction cannot be edited as it has been deleted")
        _refuse(element, errors)
    if existing is not None and set(element) - {"BankTransactionID", "Status"} == set():
        if element.get("Status") not in ("AUTHORISED", "DELETED"):
            errors.append(f"Status {element.get('Status')} is not valid for a bank transaction")
        _refuse(element, errors)
        return _store(org, "BankTransaction", "BankTransactionID", existing, {**before, **element})
    data = {**before, **json_safe(element)}
    if data.get("Type") not in ("RECEIVE", "SPEND"):
        errors.append(f"Type {data.get('Type')} is not supported for bank transactions here")
    bank = account_ref(org, data.get("BankAccount"), errors, bank=True)
    contact = contact_ref(org, data.get("Contact"), errors)
    currency = currency_check(org, data.get("CurrencyCode") or bank.get("CurrencyCode"), errors)
    if bank and bank.get("CurrencyCode") and bank["CurrencyCode"] != currency:
        errors.append(
            f"The currency of the bank account ({bank['CurrencyCode']}) does not match the "
            f"currency of the transaction ({currency})"
        )
    amount_types = data.get("LineAmountTypes") or "Exclusive"
    lines, sub_total, tax = lines_shape(org, data.get("LineItems"), amount_types, errors)
    if not lines:
        errors.append("At least one line item is required")
    dates = day_fields(element, "Date", errors, default_today=existing is None)
    _refuse(element, errors)
    data.update(
        dates,
        BankAccount={k: bank.get(k) for k in ("AccountID", "Code", "Name", "CurrencyCode")},
        Contact=contact,
        CurrencyCode=currency,
        LineAmountTypes=amount_types,
        LineItems=lines,
        SubTotal=money(sub_total),
        TotalTax=money(tax),
        Total=money(sub_total + tax),
        Status=data.get("Status") or "AUTHORISED",
        IsReconciled=bool(data.get("IsReconciled", False)),
        HasAttachments=False,
    )
    return _store(org, "BankTransaction", "BankTransactionID", existing, data)


# --- manual journals ----------------------------------------------------------------------


def manual_journal_save(org: XeroSandboxOrg, element: Element, existing: Obj | None) -> Obj:
    errors: list[str] = []
    before = existing.data if existing else {}
    if existing is not None and before.get("Status") not in ("DRAFT", "POSTED"):
        errors.append("This manual journal cannot be edited")
    data = {**before, **json_safe(element)}
    if data.get("Status", "DRAFT") not in ("DRAFT", "POSTED", "VOIDED", "DELETED"):
        errors.append(f"Status {data.get('Status')} is not valid for a manual journal")
    lines: list[Element] = []
    debits = credits = Decimal(0)
    for line in element.get("JournalLines", before.get("JournalLines", [])):
        amount = dec(line.get("LineAmount"))
        account_ref(org, {"Code": line.get("AccountCode")}, errors)
        if amount > 0:
            debits += amount
        else:
            credits += amount
        lines.append({**json_safe(line), "LineAmount": money(amount), "TaxAmount": 0.0})
    if len(lines) < 2:
        errors.append("A manual journal must have at least two lines")
    if debits + credits != 0:
        errors.append(f"The total debits ({debits:.2f}) must equal total credits ({-credits:.2f})")
    dates = day_fields(element, "Date", errors, default_today=existing is None)
    _refuse(element, errors)
    data.update(
        dates,
        JournalLines=lines,
        Status=data.get("Status") or "DRAFT",
        LineAmountTypes=data.get("LineAmountTypes") or "NoTax",
        ShowOnCashBasisReports=bool(data.get("ShowOnCashBasisReports", True)),
        HasAttachments=False,
    )
    return _store(org, "ManualJournal", "ManualJournalID", existing, data)


def object_data(row: Obj) -> dict[str, Any]:
    return dict(row.data)
