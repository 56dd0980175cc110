"""The vocabulary of the QuickBooks mapping: its errors, the allowlists every body passes
through (in the order of Intuit's XSD sequences), and the values (amounts, dates, references,
currency) the builders in `mapping` share. Pure, no I/O."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from integrations.connectors.accounting import vocabulary
from integrations.connectors.accounting.vocabulary import (
    Body,
    MappingError,
    day,
    major_units,
)

# --------------------------------------------------------------------------- allowlists

_TXN_HEADER: Mapping[str, str | None] = {
    "DocNumber": None,
    "TxnDate": None,
    "CurrencyRef": "Ref",
    "ExchangeRate": None,
    "PrivateNote": None,
}

# QuickBooks object -> its fields we may send, IN THE ORDER OF INTUIT'S XSD SEQUENCE -> the
# nested object's allowlist (None: a scalar; "[Kind]": a list of Kind). See `allowlisted`.
ALLOWED_FIELDS: Mapping[str, Mapping[str, str | None]] = {
    "Customer": {
        "CompanyName": None,
        "DisplayName": None,
        "PrimaryEmailAddr": "EmailAddress",
        "Notes": None,
    },
    "EmailAddress": {"Address": None},
    # ReferenceType: the id as "value", with optional name and type attributes.
    "Ref": {"value": None, "name": None, "type": None},
    # EntityTypeRef (a journal line's name column).
    "EntityTypeRef": {"Type": None, "EntityRef": "Ref"},
    "LinkedTxn": {"TxnId": None, "TxnType": None},
    "JournalEntry": {**_TXN_HEADER, "Line": "[JournalEntryLine]"},
    "JournalEntryLine": {
        "Description": None,
        "Amount": None,
        "DetailType": None,
        "JournalEntryLineDetail": "JournalEntryLineDetail",
    },
    "JournalEntryLineDetail": {"PostingType": None, "Entity": "EntityTypeRef", "AccountRef": "Ref"},
    "Deposit": {**_TXN_HEADER, "Line": "[DepositLine]", "DepositToAccountRef": "Ref"},
    "DepositLine": {
        "Description": None,
        "Amount": None,
        "DetailType": None,
        "DepositLineDetail": "DepositLineDetail",
    },
    "DepositLineDetail": {"Entity": "Ref", "AccountRef": "Ref"},
    "Purchase": {
        **_TXN_HEADER,
        "Line": "[ExpenseLine]",
        "AccountRef": "Ref",
        "PaymentType": None,
        "EntityRef": "Ref",
    },
    "ExpenseLine": {
        "Description": None,
        "Amount": None,
        "DetailType": None,
        "AccountBasedExpenseLineDetail": "AccountBasedExpenseLineDetail",
    },
    "AccountBasedExpenseLineDetail": {"AccountRef": "Ref"},
    "BillPayment": {
        **_TXN_HEADER,
        "Line": "[BillPaymentLine]",
        "VendorRef": "Ref",
        "PayType": None,
        "CheckPayment": "BillPaymentCheck",
        "TotalAmt": None,
    },
    "BillPaymentLine": {"Amount": None, "LinkedTxn": "[LinkedTxn]"},
    "BillPaymentCheck": {"BankAccountRef": "Ref"},
    # A customer's payment applied to what they owe (here: the fee journal's receivable line).
    # Its reference is PaymentRefNum: QuickBooks takes no DocNumber on a Payment.
    "Payment": {
        **{k: v for k, v in _TXN_HEADER.items() if k != "DocNumber"},
        "Line": "[PaymentLine]",
        "CustomerRef": "Ref",
        "DepositToAccountRef": "Ref",
        "PaymentRefNum": None,
        "TotalAmt": None,
    },
    "PaymentLine": {"Amount": None, "LinkedTxn": "[LinkedTxn]"},
    # Money given back for a sale: sales lines name an Item (whose income account is debited),
    # DepositToAccountRef is the bank account it is paid from.
    "RefundReceipt": {
        **_TXN_HEADER,
        "Line": "[SalesLine]",
        "CustomerRef": "Ref",
        "DepositToAccountRef": "Ref",
    },
    "SalesLine": {
        "Description": None,
        "Amount": None,
        "DetailType": None,
        "SalesItemLineDetail": "SalesItemLineDetail",
    },
    "SalesItemLineDetail": {"ItemRef": "Ref"},
    # The Service item a RefundReceipt's fee line names (income account: fee_revenue).
    "Item": {"Name": None, "Description": None, "Type": None, "IncomeAccountRef": "Ref"},
}


def allowlisted(kind: str, obj: Mapping[str, Any]) -> Body:
    """`obj` checked against ALLOWED_FIELDS[kind], its fields in the XSD's order
    (vocabulary.allowlisted)."""
    return vocabulary.allowlisted(ALLOWED_FIELDS, kind, obj)


# --------------------------------------------------------------------------- values

DOC_NUMBER_MAX = 21  # QuickBooks' DocNumber limit
DISPLAY_NAME_MAX = 500
REQUEST_ID_MAX = 50  # the requestid query parameter


amount = major_units


def doc_number(reference: str) -> str:
    """Our reference as a DocNumber: itself when it fits in 21 characters, else a stable
    hash of it ("R" + 20 hex digits; the full reference is in PrivateNote)."""
    if len(reference) <= DOC_NUMBER_MAX:
        return reference
    return "R" + hashlib.sha256(reference.encode()).hexdigest()[: DOC_NUMBER_MAX - 1].upper()


def requestid_for(job_key: str) -> str:
    """QuickBooks' `requestid` for a job: the same on every attempt of the job (so a retried
    write is answered with the first attempt's result), at most 50 characters."""
    if not job_key:
        raise MappingError("a requestid needs the job's key")
    return "qbo-" + hashlib.sha256(job_key.encode()).hexdigest()[:32]


def ref(value: str) -> Body:
    if not value:
        raise MappingError("an empty QuickBooks id")
    return {"value": value}


def account_ref(roles: Mapping[str, str], role: str) -> Body:
    account_id = roles.get(role, "")
    if not account_id:
        raise MappingError(f"no QuickBooks account is mapped to the role {role!r}")
    return {"value": account_id}


def currency_fields(currency: str, *, home_currency: str, exchange_rate: Decimal | None) -> Body:
    """CurrencyRef, and ExchangeRate (home currency per unit of `currency`) when foreign."""
    if currency == home_currency:
        if exchange_rate is not None and exchange_rate != 1:
            raise MappingError(f"{currency} is the home currency: its ExchangeRate is 1")
        return {"CurrencyRef": {"value": currency}}
    if exchange_rate is None:
        raise MappingError(
            f"a {currency} transaction in a QuickBooks company whose home currency is "
            f"{home_currency} needs an ExchangeRate ({home_currency} per {currency}) and "
            "multicurrency turned on in the company"
        )
    if not isinstance(exchange_rate, Decimal) or not exchange_rate.is_finite():
        raise MappingError(f"ExchangeRate must be a Decimal, not {exchange_rate!r}")
    if exchange_rate <= 0:
        raise MappingError(f"ExchangeRate must be positive, not {exchange_rate}")
    return {"CurrencyRef": {"value": currency}, "ExchangeRate": exchange_rate}


def header(
    reference: str,
    *,
    on: dt.date,
    note: str,
    currency: str,
    home_currency: str,
    exchange_rate: Decimal | None,
) -> Body:
    return {
        "DocNumber": doc_number(reference),
        "TxnDate": day(on),
        **currency_fields(currency, home_currency=home_currency, exchange_rate=exchange_rate),
        "PrivateNote": f"{reference}: {note}",
    }


# Our reference on each document (a transfer's documents share its reference).
REFERENCE: Mapping[str, str] = {
    "fee": "{transfer}-FEE",
    "fee_reversal": "{transfer}-FEE-REV",
    "fee_payment": "{transfer}-FEE-PAY",
    "fee_refund": "{transfer}-FEE-RF",
    "fx_margin": "{transfer}-FX",
    "fx_margin_reversal": "{transfer}-FX-REV",
    "payout": "{transfer}",
    "funding": "{funding}",  # wallet-funding:<partner>:<bank ref>, hashed in DocNumber
    "journal": "LJ-{day:%Y%m%d}-{currency}",
}
