"""Payments against invoices and credit notes, and credit note allocations, as Xero applies
them: only to AUTHORISED documents, never above what is outstanding; a document paid in full
becomes PAID. The document's row is locked while its amounts change (two payments racing on
one invoice cannot both fit in its amount due)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from integrations.models import XeroSandboxObject as Obj
from integrations.models import XeroSandboxOrg
from integrations.simulators.xero.responses import XeroValidationError, dec, json_safe, money
from integrations.simulators.xero.rules import (
    Element,
    account_ref,
    day_fields,
    now_ms,
    object_find,
    object_get,
    unique_errors,
)

PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}


def _refuse(element: Element, errors: list[str]) -> None:
    if errors:
        raise XeroValidationError.one(json_safe(element), *unique_errors(errors))


def _document_of(org: XeroSandboxOrg, element: Element, errors: list[str]) -> Obj | None:
    """The invoice or credit note a payment names (by id or number), locked."""
    for kind, key in (("Invoice", "Invoice"), ("CreditNote", "CreditNote")):
        ref = element.get(key)
        if not isinstance(ref, dict):
            continue
        row = None
        if ref.get(f"{kind}ID"):
            row = object_get(org, kind, ref[f"{kind}ID"], lock=True)
        elif ref.get(f"{kind}Number"):
            row = object_find(org, kind, lock=True, **{f"{kind}Number": ref[f"{kind}Number"]})
        if row is None:
            errors.append(f"{kind} could not be found")
        return row
    errors.append("A payment must name an Invoice or a CreditNote")
    return None


def _outstanding(doc: Element) -> Decimal:
    return dec(doc.get("RemainingCredit") if "RemainingCredit" in doc else doc.get("AmountDue"))


def _settle(doc: Element, amount: Decimal, paid_key: str, entry_key: str, entry: Element) -> None:
    """Take `amount` off the document's outstanding amount; PAID once nothing is left."""
    left = _outstanding(doc) - amount
    if "RemainingCredit" in doc:
        doc["RemainingCredit"] = money(left)
    else:
        doc["AmountDue"] = money(left)
    doc[paid_key] = money(dec(doc.get(paid_key)) + amount)
    doc[entry_key] = [*doc.get(entry_key, []), entry]
    if left == 0:
        doc["Status"] = "PAID"
        doc["FullyPaidOnDate"] = entry.get("Date")
    doc["UpdatedDateUTC"] = now_ms()


def payment_save(org: XeroSandboxOrg, element: Element, existing: Obj | None) -> Obj:
    if existing is not None:
        return _payment_delete(org, element, existing)
    errors: list[str] = []
    row = _document_of(org, element, errors)
    bank = account_ref(org, element.get("Account"), errors, bank=True)
    amount = dec(element.get("Amount"))
    if amount <= 0:
        errors.append("Payment amount must be greater than zero")
    dates = day_fields(element, "Date", errors, default_today=True)
    doc = row.data if row is not None else {}
    if row is not None:
        if doc.get("Status") != "AUTHORISED":
            errors.append("Payments can only be made against Authorised documents")
        elif amount > _outstanding(doc):
            errors.append("Payment amount exceeds the amount outstanding on this document")
        currency = doc.get("CurrencyCode")
        if bank.get("CurrencyCode") not in (currency, org.base_currency):
            errors.append(
                f"The bank account's currency ({bank.get('CurrencyCode')}) must be the "
                f"document's ({currency}) or the base currency"
            )
    _refuse(element, errors)
    assert row is not None
    payment = Obj(org=org, kind="Payment")
    entry = {
        "PaymentID": str(payment.pk),
        **dates,
        "Amount": money(amount),
        "Reference": element.get("Reference", ""),
        "CurrencyRate": float(dec(element.get("CurrencyRate"), "1")),
    }
    is_credit = row.kind == "CreditNote"
    number_key = "CreditNoteNumber" if is_credit else "InvoiceNumber"
    document = {
        f"{row.kind}ID": str(row.pk),
        number_key: doc.get(number_key, ""),
        "Type": doc.get("Type"),
        "CurrencyCode": doc.get("CurrencyCode"),
        "Contact": doc.get("Contact"),
    }
    payment.data = {
        **json_safe(element),
        **entry,
        row.kind: document,
        "Account": {k: bank.get(k) for k in ("AccountID", "Code", "Name")},
        "PaymentType": PAYMENT_TYPES.get(str(doc.get("Type")), "ACCRECPAYMENT"),
        "Status": "AUTHORISED",
        "IsReconciled": bool(element.get("IsReconciled", False)),
        "HasAccount": True,
        "HasValidationErrors": False,
        "UpdatedDateUTC": now_ms(),
    }
    payment.save()
    _settle(doc, amount, "AmountPaid", "Payments", entry)
    row.save(update_fields=["data", "updated_at"])
    return payment


def _payment_delete(org: XeroSandboxOrg, element: Element, existing: Obj) -> Obj:
    """POST /Payments/<id> {"Status": "DELETED"}: the payment is taken off its document."""
    errors: list[str] = []
    if element.get("Status") != "DELETED" or set(element) - {"PaymentID", "Status"}:
        errors.append("A payment can only be deleted (Status DELETED), not edited")
    if existing.data.get("Status") == "DELETED":
        errors.append("This payment has already been deleted")
    _refuse(element, errors)
    data = existing.data
    kind = "Invoice" if "Invoice" in data else "CreditNote"
    row = object_get(org, kind, data[kind][f"{kind}ID"], lock=True)
    if row is not None:
        doc = row.data
        amount = dec(data.get("Amount"))
        key = "RemainingCredit" if "RemainingCredit" in doc else "AmountDue"
        doc[key] = money(dec(doc.get(key)) + amount)
        doc["AmountPaid"] = money(dec(doc.get("AmountPaid")) - amount)
        doc["Payments"] = [p for p in doc.get("Payments", []) if p["PaymentID"] != str(existing.pk)]
        if doc.get("Status") == "PAID":
            doc["Status"] = "AUTHORISED"
            doc.pop("FullyPaidOnDate", None)
        doc["UpdatedDateUTC"] = now_ms()
        row.save(update_fields=["data", "updated_at"])
    existing.data = {**data, "Status": "DELETED", "UpdatedDateUTC": now_ms()}
    existing.save(update_fields=["data", "updated_at"])
    return existing


def allocation_save(org: XeroSandboxOrg, credit_note: Obj, element: Element) -> Element:
    """Allocate part of an AUTHORISED credit note to an AUTHORISED invoice of its contact."""
    errors: list[str] = []
    credit = credit_note.data
    ref: dict[str, Any] = element["Invoice"] if isinstance(element.get("Invoice"), dict) else {}
    invoice = object_get(org, "Invoice", ref.get("InvoiceID"), lock=True)
    amount = dec(element.get("Amount"))
    dates = day_fields(element, "Date", errors, default_today=True)
    if invoice is None:
        errors.append("Invoice could not be found")
    if credit.get("Status") != "AUTHORISED":
        errors.append("Only AUTHORISED credit notes can be allocated")
    if amount <= 0:
        errors.append("The allocation amount must be greater than zero")
    elif amount > dec(credit.get("RemainingCredit")):
        errors.append("The amount being allocated exceeds the remaining credit")
    if invoice is not None:
        doc = invoice.data
        if doc.get("Status") != "AUTHORISED":
            errors.append("Credit can only be allocated to Authorised invoices")
        elif amount > dec(doc.get("AmountDue")):
            errors.append("The amount being allocated exceeds the amount due on the invoice")
        if doc.get("CurrencyCode") != credit.get("CurrencyCode"):
            errors.append("The credit note and the invoice must be in the same currency")
        if (doc.get("Contact") or {}).get("ContactID") != (credit.get("Contact") or {}).get(
            "ContactID"
        ):
            errors.append("The credit note and the invoice must be for the same contact")
        if {doc.get("Type"), credit.get("Type")} not in (
            {"ACCREC", "ACCRECCREDIT"},
            {"ACCPAY", "ACCPAYCREDIT"},
        ):
            errors.append("The credit note's type does not match the invoice's")
    _refuse(element, errors)
    assert invoice is not None
    allocation_id = str(uuid.uuid4())
    entry = {"AllocationID": allocation_id, **dates, "Amount": money(amount)}
    invoice_summary = {
        "InvoiceID": str(invoice.pk),
        "InvoiceNumber": invoice.data.get("InvoiceNumber", ""),
    }
    credit_summary = {
        "CreditNoteID": str(credit_note.pk),
        "CreditNoteNumber": credit.get("CreditNoteNumber", ""),
    }
    _settle(credit, amount, "AppliedAmount", "Allocations", {**entry, "Invoice": invoice_summary})
    credit_note.save(update_fields=["data", "updated_at"])
    _settle(
        invoice.data,
        amount,
        "AmountCredited",
        "CreditNotes",
        {**credit_summary, "AppliedAmount": money(amount), "Date": entry.get("Date")},
    )
    invoice.save(update_fields=["data", "updated_at"])
    return {**entry, "Invoice": invoice_summary, "CreditNote": credit_summary}


def allocations_save(
    org: XeroSandboxOrg, credit_note_id: str, elements: list[Element]
) -> list[Element]:
    credit_note = object_get(org, "CreditNote", credit_note_id, lock=True)
    if credit_note is None:
        raise XeroValidationError.one({"CreditNoteID": credit_note_id}, "Credit note not found")
    return [allocation_save(org, credit_note, e) for e in elements]
