"""Ledger facts -> Xero Accounting API request bodies. Pure functions, no I/O.

Each builder takes facts (integrations.connectors.accounting.facts) and `roles`, the
connection's account mapping (role -> Xero AccountCode, see ROLES_PLATFORM / ROLES_CUSTOMER),
and returns the plural envelope Xero's PUT/POST take, e.g. {"Invoices": [{...}]}.

Rules every body keeps:
- Data minimisation: an object carries only the fields on its ALLOWED_FIELDS list; every
  builder passes its output through `allowlisted`, which raises on anything else. No address,
  registration number or bank detail is on any list.
- Amounts are Decimal quantized to the currency's ISO 4217 exponent (never float); `dumps`
  writes them as exact JSON numbers. Dates are "YYYY-MM-DD" (UTC days, as the facts).
- Our reference is on every object, so a replay finds what the first attempt created
  (REFERENCE below): ContactNumber, InvoiceNumber + Reference, CreditNoteNumber + Reference,
  BankTransaction and Payment Reference, ManualJournal Narration.
- Contacts are referred to by ContactID when the caller knows it (`contact_id=`), else by our
  ContactNumber ("PRF-<id>"); beneficiaries (customer books) by name only.
- CurrencyRate is left out unless the caller gives one: the only rate we know is the quote's
  (target per source), not the rate between a document's currency and the organisation's base
  currency, which Xero needs there. Inventing one would put a number in the books the ledger
  never said; without it Xero applies its own daily rate, as it does for any foreign-currency
  document entered by hand.
- Nothing to book is an error, not an empty document: a zero fee has no invoice, a zero
  margin no receipt (NothingToMap; the engine skips with a note).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from integrations.connectors.accounting import vocabulary
from integrations.connectors.accounting.facts import (
    ContactFacts,
    DayMovement,
    FundingFacts,
    RefundFacts,
    TransferFacts,
)
from integrations.connectors.accounting.vocabulary import (
    Body,
    MappingError,
    NothingToMap,
    major_units,
)
from integrations.connectors.accounting.vocabulary import FieldNotAllowed as FieldNotAllowed
from integrations.connectors.accounting.vocabulary import day as day
from integrations.connectors.accounting.wire import dumps as dumps
from integrations.connectors.accounting.xero.roles import ROLES_CUSTOMER as ROLES_CUSTOMER
from integrations.connectors.accounting.xero.roles import ROLES_PLATFORM as ROLES_PLATFORM
from integrations.connectors.accounting.xero.roles import RoleSpec as RoleSpec
from ledger.currency import currency_exponent

# `dumps`, `ROLES_PLATFORM`, `ROLES_CUSTOMER` and `RoleSpec` are re-exported (`import X as X`):
# the engine and the account-mapping screen find them here.

# --------------------------------------------------------------------------- allowlists

# Xero object -> its fields we may send -> the nested object's allowlist (None: a scalar;
# "[Kind]": a list of Kind). Nothing else ever leaves: see `allowlisted`.
ALLOWED_FIELDS: Mapping[str, Mapping[str, str | None]] = {
    "Contact": {"ContactNumber": None, "Name": None, "EmailAddress": None},
    # A contact named inside another object: who, not what we know about them.
    "ContactRef": {"ContactID": None, "ContactNumber": None, "Name": None},
    "AccountRef": {"Code": None},
    "InvoiceRef": {"InvoiceID": None},
    "CreditNoteRef": {"CreditNoteID": None},
    "LineItem": {
        "Description": None,
        "Quantity": None,
        "UnitAmount": None,
        "AccountCode": None,
        "TaxType": None,
        "Tracking": "[TrackingRef]",
    },
    # A tracking category's option on a line ("Region": "Europe"): the connection's setting.
    "TrackingRef": {"Name": None, "Option": None},
    "Invoice": {
        "Type": None,
        "Contact": "ContactRef",
        "Date": None,
        "DueDate": None,
        "LineAmountTypes": None,
        "InvoiceNumber": None,
        "Reference": None,
        "CurrencyCode": None,
        "CurrencyRate": None,
        "Status": None,
        "LineItems": "[LineItem]",
    },
    "CreditNote": {
        "Type": None,
        "Contact": "ContactRef",
        "Date": None,
        "Status": None,
        "LineAmountTypes": None,
        "CurrencyCode": None,
        "CurrencyRate": None,
        "CreditNoteNumber": None,
        "Reference": None,
        "LineItems": "[LineItem]",
    },
    "BankTransaction": {
        "Type": None,
        "Contact": "ContactRef",
        "BankAccount": "AccountRef",
        "Date": None,
        "Reference": None,
        "CurrencyCode": None,
        "CurrencyRate": None,
        "Status": None,
        "LineAmountTypes": None,
        "LineItems": "[LineItem]",
    },
    "Payment": {
        "Invoice": "InvoiceRef",
        "CreditNote": "CreditNoteRef",
        "Account": "AccountRef",
        "Date": None,
        "Amount": None,
        "CurrencyRate": None,
        "Reference": None,
    },
    "Allocation": {"Invoice": "InvoiceRef", "Amount": None, "Date": None},
    "ManualJournal": {
        "Narration": None,
        "Date": None,
        "Status": None,
        "LineAmountTypes": None,
        "JournalLines": "[ManualJournalLine]",
    },
    "ManualJournalLine": {"LineAmount": None, "AccountCode": None, "Description": None},
}

# The top-level objects and the plural envelope Xero's endpoints take them in.
ENVELOPES: Mapping[str, str] = {
    "Contact": "Contacts",
    "Invoice": "Invoices",
    "CreditNote": "CreditNotes",
    "BankTransaction": "BankTransactions",
    "Payment": "Payments",
    "Allocation": "Allocations",
    "ManualJournal": "ManualJournals",
}


def allowlisted(kind: str, obj: Mapping[str, Any]) -> Body:
    """`obj` checked against ALLOWED_FIELDS[kind] (vocabulary.allowlisted)."""
    return vocabulary.allowlisted(ALLOWED_FIELDS, kind, obj)


def envelope(kind: str, *objects: Mapping[str, Any]) -> Body:
    return {ENVELOPES[kind]: [allowlisted(kind, obj) for obj in objects]}


def with_line_settings(
    body: Body, *, tax_type: str = "", tracking: Sequence[Mapping[str, str]] = ()
) -> Body:
    """The connection's tax and tracking settings on every line of a document (invoices,
    credit notes, bank transactions): its TaxType, with amounts tax-exclusive, and its
    tracking options. Checked against the allowlist again: nothing else is added."""
    if not tax_type and not tracking:
        return body
    (kind,) = [k for k, plural in ENVELOPES.items() if plural in body]
    documents = []
    for document in body[ENVELOPES[kind]]:
        if "LineItems" not in document:
            documents.append(document)
            continue
        lines = []
        for line in document["LineItems"]:
            extra: Body = {}
            if tax_type:
                extra["TaxType"] = tax_type
            if tracking:
                extra["Tracking"] = [
                    {"Name": str(t["name"]), "Option": str(t["option"])} for t in tracking
                ]
            lines.append({**line, **extra})
        changed = {**document, "LineItems": lines}
        if tax_type:
            changed["LineAmountTypes"] = "Exclusive"
        documents.append(changed)
    return envelope(kind, *documents)


def _code(roles: Mapping[str, str], role: str) -> str:
    code = roles.get(role, "")
    if not code:
        raise MappingError(f"no Xero account is mapped to the role {role!r}")
    return code


# --------------------------------------------------------------------------- values

# Xero keeps money to 2 decimal places; a currency with more (KWD, BHD: 3) is sent only when
# the amount needs no more than 2, never rounded behind the ledger's back.
XERO_MONEY_DECIMALS = 2


def amount(amount_minor: int, currency: str) -> Decimal:
    """Minor units -> major units, refused where Xero's 2 decimals cannot hold it."""
    exponent = currency_exponent(currency)
    if exponent > XERO_MONEY_DECIMALS and amount_minor % 10 ** (exponent - XERO_MONEY_DECIMALS):
        raise MappingError(
            f"{amount_minor} minor units of {currency} need {exponent} decimals; Xero keeps "
            f"{XERO_MONEY_DECIMALS}"
        )
    return major_units(amount_minor, currency)


# Our reference on each document (a transfer's documents share its reference).
REFERENCE: Mapping[str, str] = {
    "contact": "{contact}",  # ContactNumber, "PRF-<profile id>"
    "fee_invoice": "{transfer}",  # InvoiceNumber and Reference
    "fee_credit_note": "{transfer}-CN",  # CreditNoteNumber; Reference is the transfer's
    "fee_refund": "{transfer}-CN-REFUND",  # the Payment paying a credit note out
    "fx_margin": "{transfer}-FX",
    "fx_margin_reversal": "{transfer}-FX-REV",
    "funding": "{funding}",  # the ledger entry's key, wallet-funding:<partner>:<bank ref>
}


def _contact_ref(c: ContactFacts, contact_id: str | None) -> Body:
    return {"ContactID": contact_id} if contact_id else {"ContactNumber": c.reference}


def _line(description: str, value: Decimal, account_code: str) -> Body:
    return {
        "Description": description,
        "Quantity": Decimal(1),
        "UnitAmount": value,
        "AccountCode": account_code,
    }


def _bank_transaction(
    *,
    type: str,
    contact: Body,
    bank_code: str,
    on: dt.date,
    reference: str,
    currency: str,
    lines: list[Body],
) -> Body:
    return envelope(
        "BankTransaction",
        {
            "Type": type,
            "Contact": contact,
            "BankAccount": {"Code": bank_code},
            "Date": day(on),
            "Reference": reference,
            "CurrencyCode": currency,
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "LineItems": lines,
        },
    )


def _rate(currency_rate: Decimal | None) -> Body:
    if currency_rate is None:
        return {}
    if (
        not isinstance(currency_rate, Decimal)
        or not currency_rate.is_finite()
        or currency_rate <= 0
    ):
        raise MappingError(f"CurrencyRate must be a positive Decimal, not {currency_rate!r}")
    return {"CurrencyRate": currency_rate}


# --------------------------------------------------------------------------- platform books


def contact(c: ContactFacts) -> Body:
    fields: Body = {"ContactNumber": c.reference, "Name": c.name}
    if c.email:
        fields["EmailAddress"] = c.email
    return envelope("Contact", fields)


def fee_invoice(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    contact_id: str | None = None,
    currency_rate: Decimal | None = None,
) -> Body:
    """Our fee as a sales invoice to the customer, in the source currency, due at once."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    return envelope(
        "Invoice",
        {
            "Type": "ACCREC",
            "Contact": _contact_ref(t.contact, contact_id),
            "Date": day(t.booked_on),
            "DueDate": day(t.booked_on),
            "LineAmountTypes": "NoTax",
            "InvoiceNumber": t.reference,
            "Reference": t.reference,
            "CurrencyCode": t.source_currency,
            **_rate(currency_rate),
            "Status": "AUTHORISED",
            "LineItems": [
                _line(
                    f"Transfer fee, {t.reference}",
                    amount(t.fee_minor, t.source_currency),
                    _code(roles, "fee_revenue"),
                )
            ],
        },
    )


def fee_payment(t: TransferFacts, roles: Mapping[str, str], *, invoice_id: str) -> Body:
    """The fee invoice paid from the client money the transfer was funded with."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    return envelope(
        "Payment",
        {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": _code(roles, "client_money")},
            "Date": day(t.booked_on),
            "Amount": amount(t.fee_minor, t.source_currency),
            "Reference": t.reference,
        },
    )


def fx_margin_receipt(
    t: TransferFacts, roles: Mapping[str, str], *, contact_id: str | None = None
) -> Body:
    """The FX margin, in the target currency: RECEIVE into client money, or a SPEND of the
    same account when rounding made it a loss (negative margin)."""
    if t.margin_minor == 0:
        raise NothingToMap(f"transfer {t.reference} has no FX margin")
    return _bank_transaction(
        type="RECEIVE" if t.margin_minor > 0 else "SPEND",
        contact=_contact_ref(t.contact, contact_id),
        bank_code=_code(roles, "client_money"),
        on=t.booked_on,
        reference=REFERENCE["fx_margin"].format(transfer=t.reference),
        currency=t.target_currency,
        lines=[
            _line(
                f"FX margin, {t.reference}",
                amount(abs(t.margin_minor), t.target_currency),
                _code(roles, "fx_margin_revenue"),
            )
        ],
    )


def _given_back(x: RefundFacts | TransferFacts) -> tuple[TransferFacts, int, int, dt.date]:
    """(transfer, fee, margin, day) that a refund, or a failure or cancellation after submit,
    gave back. A refunded transfer's come from its RefundFacts (its TransferFacts would say
    it twice after a failure: once at the failure, once at the refund)."""
    if isinstance(x, RefundFacts):
        return x.transfer, x.fee_minor, x.margin_minor, x.booked_on
    if x.unwound_by not in ("fail:unwind", "cancel:unwind") or x.unwound_on is None:
        raise MappingError(
            f"transfer {x.reference} was not unwound by a failure or cancellation "
            f"({x.unwound_by or 'its submit entry stands'}); a refund maps from RefundFacts"
        )
    return x, x.fee_minor, x.margin_minor, x.unwound_on


def fee_credit_note(
    x: RefundFacts | TransferFacts, roles: Mapping[str, str], *, contact_id: str | None = None
) -> Body:
    """The fee given back (refund after completion, or failure/cancellation) as a credit note
    against the fee invoice's account; allocate it with `credit_note_allocation`."""
    t, fee_minor, _, on = _given_back(x)
    if fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference}: no fee given back here")
    return envelope(
        "CreditNote",
        {
            "Type": "ACCRECCREDIT",
            "Contact": _contact_ref(t.contact, contact_id),
            "Date": day(on),
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "CurrencyCode": t.source_currency,
            "CreditNoteNumber": REFERENCE["fee_credit_note"].format(transfer=t.reference),
            "Reference": t.reference,
            "LineItems": [
                _line(
                    f"Transfer fee given back, {t.reference}",
                    amount(fee_minor, t.source_currency),
                    _code(roles, "fee_revenue"),
                )
            ],
        },
    )


def credit_note_allocation(*, invoice_id: str, amount: Decimal, date: dt.date) -> Body:
    """Apply a credit note to an invoice (PUT /CreditNotes/{CreditNoteID}/Allocations)."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise MappingError(f"an allocation amount must be a positive Decimal, not {amount!r}")
    return envelope(
        "Allocation", {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": day(date)}
    )


def credit_note_refund(
    x: RefundFacts, roles: Mapping[str, str], *, credit_note_id: str, amount_given: Decimal
) -> Body:
    """A credit note whose invoice was already paid is paid out instead: the fee goes back
    from client money (a Payment on the credit note)."""
    if not isinstance(amount_given, Decimal) or amount_given <= 0:
        raise MappingError(f"a refund amount must be a positive Decimal, not {amount_given!r}")
    return envelope(
        "Payment",
        {
            "CreditNote": {"CreditNoteID": credit_note_id},
            "Account": {"Code": _code(roles, "client_money")},
            "Date": day(x.booked_on),
            "Amount": amount_given,
            "Reference": REFERENCE["fee_refund"].format(transfer=x.transfer.reference),
        },
    )


def fx_margin_reversal(
    x: RefundFacts | TransferFacts, roles: Mapping[str, str], *, contact_id: str | None = None
) -> Body:
    """The FX margin given back: the mirror of `fx_margin_receipt` (a SPEND of a margin that
    was received, a RECEIVE of a loss that was spent)."""
    t, _, margin_minor, on = _given_back(x)
    if margin_minor == 0:
        raise NothingToMap(f"transfer {t.reference}: no FX margin given back here")
    return _bank_transaction(
        type="SPEND" if margin_minor > 0 else "RECEIVE",
        contact=_contact_ref(t.contact, contact_id),
        bank_code=_code(roles, "client_money"),
        on=on,
        reference=REFERENCE["fx_margin_reversal"].format(transfer=t.reference),
        currency=t.target_currency,
        lines=[
            _line(
                f"FX margin given back, {t.reference}",
                amount(abs(margin_minor), t.target_currency),
                _code(roles, "fx_margin_revenue"),
            )
        ],
    )


def funding_receipt(
    f: FundingFacts, roles: Mapping[str, str], *, contact_id: str | None = None
) -> Body:
    """Money a customer paid in: RECEIVE into client money, owed to them (customer funds)."""
    return _bank_transaction(
        type="RECEIVE",
        contact=_contact_ref(f.contact, contact_id),
        bank_code=_code(roles, "client_money"),
        on=f.booked_on,
        reference=REFERENCE["funding"].format(funding=f.reference),
        currency=f.currency,
        lines=[
            _line(
                f"Wallet funding {f.currency}",
                amount(f.amount_minor, f.currency),
                _code(roles, "customer_funds"),
            )
        ],
    )


# --------------------------------------------------------------------------- customer books


def supplier_payout(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    bill_id: str | None,
    currency_rate: Decimal | None = None,
) -> Body:
    """The transfer in the customer's books, paid from their wallet (a bank account there).

    With the bill it pays (`bill_id`): a Payment of the bill, in the bill's (target) currency;
    the fee is then `bank_fee_spend`. Without: a SPEND of the wallet with two lines, what was
    converted (source - fee) on payout_clearing and our fee on bank_fees, to the beneficiary
    by name.
    """
    if bill_id:
        return envelope(
            "Payment",
            {
                "Invoice": {"InvoiceID": bill_id},
                "Account": {"Code": _code(roles, "wallet_bank")},
                "Date": day(t.booked_on),
                "Amount": amount(t.target_minor, t.target_currency),
                **_rate(currency_rate),
                "Reference": t.reference,
            },
        )
    target = f"{amount(t.target_minor, t.target_currency)} {t.target_currency}"
    lines = [
        _line(
            f"Transfer {t.reference}: {target} at {t.rate.normalize():f}",
            amount(t.converted_minor, t.source_currency),
            _code(roles, "payout_clearing"),
        )
    ]
    if t.fee_minor > 0:
        lines.append(
            _line(
                f"Transfer fee, {t.reference}",
                amount(t.fee_minor, t.source_currency),
                _code(roles, "bank_fees"),
            )
        )
    return _bank_transaction(
        type="SPEND",
        contact={"Name": t.beneficiary_name},
        bank_code=_code(roles, "wallet_bank"),
        on=t.booked_on,
        reference=t.reference,
        currency=t.source_currency,
        lines=lines,
    )


def bank_fee_spend(t: TransferFacts, roles: Mapping[str, str], *, provider_name: str) -> Body:
    """Our fee in the customer's books when the payout itself is a bill Payment: a SPEND of
    the wallet on bank_fees, to us (`provider_name`, how their books name the platform)."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    return _bank_transaction(
        type="SPEND",
        contact={"Name": provider_name},
        bank_code=_code(roles, "wallet_bank"),
        on=t.booked_on,
        reference=REFERENCE["fee_invoice"].format(transfer=t.reference),
        currency=t.source_currency,
        lines=[
            _line(
                f"Transfer fee, {t.reference}",
                amount(t.fee_minor, t.source_currency),
                _code(roles, "bank_fees"),
            )
        ],
    )


def customer_funding_receipt(f: FundingFacts, roles: Mapping[str, str]) -> Body:
    """Money the customer paid into their wallet: RECEIVE on the wallet, from their own money
    in transit (funding_clearing); the contact is the customer themselves, by name."""
    return _bank_transaction(
        type="RECEIVE",
        contact={"Name": f.contact.name},
        bank_code=_code(roles, "wallet_bank"),
        on=f.booked_on,
        reference=REFERENCE["funding"].format(funding=f.reference),
        currency=f.currency,
        lines=[
            _line(
                f"Wallet funding {f.currency}",
                amount(f.amount_minor, f.currency),
                _code(roles, "funding_clearing"),
            )
        ],
    )


# --------------------------------------------------------------------------- daily journals


def journal_currency_supported(currency: str, base_currency: str) -> bool:
    """Xero manual journals post in the organisation's base currency only (they have no
    CurrencyCode): a day in another currency cannot be journalled there as it is."""
    return currency == base_currency


def daily_journal(
    m: DayMovement, roles: Mapping[str, str], *, base_currency: str | None = None
) -> Body:
    """A day of the ledger in one currency as a posted manual journal: per role, its debits
    (positive LineAmount) and its credits (negative), gross, so the day's turnover shows."""
    if base_currency is not None and not journal_currency_supported(m.currency, base_currency):
        raise MappingError(
            f"{m.day} {m.currency}: Xero manual journals post in the base currency "
            f"({base_currency})"
        )
    lines: list[Body] = []
    for role, debit_minor, credit_minor in m.lines:
        code = _code(roles, role)
        if debit_minor:
            lines.append(
                {
                    "LineAmount": amount(debit_minor, m.currency),
                    "AccountCode": code,
                    "Description": f"{role} debits",
                }
            )
        if credit_minor:
            lines.append(
                {
                    "LineAmount": -amount(credit_minor, m.currency),
                    "AccountCode": code,
                    "Description": f"{role} credits",
                }
            )
    if sum((line["LineAmount"] for line in lines), Decimal(0)) != 0 or len(lines) < 2:
        raise MappingError(f"{m.day} {m.currency}: the journal lines do not balance")
    return envelope(
        "ManualJournal",
        {
            "Narration": f"Ledger {day(m.day)} {m.currency} ({m.entry_count} entries)",
            "Date": day(m.day),
            "Status": "POSTED",
            "LineAmountTypes": "NoTax",
            "JournalLines": lines,
        },
    )
