"""Ledger facts -> QuickBooks Online (API v3) request bodies. Pure functions, no I/O.

Each builder takes facts (integrations.connectors.accounting.facts) and `roles`, the
connection's account mapping (role -> QuickBooks Account Id, see ROLES_PLATFORM /
ROLES_CUSTOMER), and returns the entity object QuickBooks' POST /v3/company/<realm>/<entity>
takes as its body, e.g. {"DisplayName": ...} for a Customer. ENTITY says which entity each
builder makes. docs/quickbooks.md has the table and the reasons.

Rules every body keeps:
- Data minimisation: an object carries only the fields on its ALLOWED_FIELDS list; every
  builder passes its output through `allowlisted`, which raises on anything else and puts the
  fields in the order of Intuit's XSD sequence (QuickBooks reads JSON in any order, its XSDs
  do not). No address, registration number or bank detail is on any list.
- Amounts are Decimal quantized to the currency's ISO 4217 exponent (never float); `dumps`
  writes them as exact JSON numbers. Dates are "YYYY-MM-DD" (UTC days, as the facts).
- Our reference is on every object: a transaction's DocNumber (QuickBooks keeps 21
  characters: a longer reference is hashed there, `doc_number`) and its PrivateNote (the
  reference in full); a Customer's DisplayName ends with " [PRF-<id>]" (`customer_query`).
- Every transaction carries CurrencyRef; a currency other than the company's home currency
  also needs ExchangeRate (home currency per unit), which only the caller knows: without one
  the builder refuses (MappingError) rather than let QuickBooks assume a rate of 1.
- Fee and FX margin are JournalEntries between client money and the income accounts, not
  SalesReceipts: QuickBooks sales lines name Items, not accounts, and the fee is taken from
  the money the customer paid in, so there is no receivable for a Payment to settle.
- Nothing to book is an error, not an empty document (NothingToMap; the engine skips it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from integrations.connectors.accounting.facts import (
    ContactFacts,
    DayMovement,
    FundingFacts,
    RefundFacts,
    TransferFacts,
)
from integrations.connectors.accounting.quickbooks.roles import ROLES_CUSTOMER as ROLES_CUSTOMER
from integrations.connectors.accounting.quickbooks.roles import ROLES_PLATFORM as ROLES_PLATFORM
from integrations.connectors.accounting.quickbooks.roles import RoleSpec as RoleSpec
from integrations.connectors.accounting.wire import dumps as dumps
from integrations.errors import PermanentError
from ledger.currency import currency_exponent

# `dumps`, `ROLES_PLATFORM`, `ROLES_CUSTOMER` and `RoleSpec` are re-exported (`import X as X`).

Body = dict[str, Any]


class MappingError(PermanentError):
    """The facts cannot be said in QuickBooks' terms as they are."""


class FieldNotAllowed(MappingError):
    """A builder produced a field that is not on its object's allowlist."""


class NothingToMap(MappingError):
    """The facts hold nothing this document would book (a zero fee or margin, say)."""


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
}

# Builder -> the QuickBooks entity (the endpoint) its body is for.
ENTITY: Mapping[str, str] = {
    "customer": "Customer",
    "fee_journal": "JournalEntry",
    "fee_reversal_journal": "JournalEntry",
    "fx_margin_journal": "JournalEntry",
    "fx_margin_reversal_journal": "JournalEntry",
    "funding_deposit": "Deposit",
    "supplier_payout": "Purchase",  # "BillPayment" when given the bill
    "bank_fee_purchase": "Purchase",
    "customer_funding_deposit": "Deposit",
    "daily_journal": "JournalEntry",
}


def allowlisted(kind: str, obj: Mapping[str, Any]) -> Body:
    """`obj` checked against ALLOWED_FIELDS[kind], nested objects too, its fields put in the
    XSD's order; raises FieldNotAllowed on a field not on the list and MappingError on a
    float or a None (say what you mean)."""
    allowed = ALLOWED_FIELDS[kind]
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise FieldNotAllowed(f"{kind}: {', '.join(extra)} not on the allowlist")
    checked: Body = {}
    for field, nested in allowed.items():
        if field not in obj:
            continue
        value = obj[field]
        if nested is None:
            if value is None or isinstance(value, float | dict | list):
                raise MappingError(f"{kind}.{field}: {type(value).__name__} is not sent")
            checked[field] = value
        elif nested.startswith("["):
            checked[field] = [allowlisted(nested[1:-1], item) for item in value]
        else:
            checked[field] = allowlisted(nested, value)
    return checked


# --------------------------------------------------------------------------- values

DOC_NUMBER_MAX = 21  # QuickBooks' DocNumber limit
DISPLAY_NAME_MAX = 500
REQUEST_ID_MAX = 50  # the requestid query parameter


def amount(amount_minor: int, currency: str) -> Decimal:
    """Minor units -> a Decimal in major units quantized to the currency's exponent."""
    exponent = currency_exponent(currency)
    return Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def day(value: dt.date) -> str:
    return value.isoformat()


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


def _ref(value: str) -> Body:
    if not value:
        raise MappingError("an empty QuickBooks id")
    return {"value": value}


def _account(roles: Mapping[str, str], role: str) -> Body:
    account_id = roles.get(role, "")
    if not account_id:
        raise MappingError(f"no QuickBooks account is mapped to the role {role!r}")
    return {"value": account_id}


def _currency(currency: str, *, home_currency: str, exchange_rate: Decimal | None) -> Body:
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


def _header(
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
        **_currency(currency, home_currency=home_currency, exchange_rate=exchange_rate),
        "PrivateNote": f"{reference}: {note}",
    }


# Our reference on each document (a transfer's documents share its reference).
REFERENCE: Mapping[str, str] = {
    "fee": "{transfer}-FEE",
    "fee_reversal": "{transfer}-FEE-REV",
    "fx_margin": "{transfer}-FX",
    "fx_margin_reversal": "{transfer}-FX-REV",
    "payout": "{transfer}",
    "funding": "{funding}",  # wallet-funding:<partner>:<bank ref>, hashed in DocNumber
    "journal": "LJ-{day:%Y%m%d}-{currency}",
}


def _journal_line(
    *, description: str, value: Decimal, posting: str, account: Body, entity: Body | None = None
) -> Body:
    detail: Body = {"PostingType": posting, "AccountRef": account}
    if entity:
        detail["Entity"] = entity
    return {
        "Description": description,
        "Amount": value,
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": detail,
    }


def _transfer_journal(
    *,
    reference: str,
    on: dt.date,
    note: str,
    currency: str,
    value: Decimal,
    debit: Body,
    credit: Body,
    entity: Body | None,
    home_currency: str,
    exchange_rate: Decimal | None,
    entity_on_debit: bool = False,
) -> Body:
    """Two lines, one debit and one credit of `value`: a transfer's fee or margin moved;
    `entity` (the customer) on the income line, the credit unless `entity_on_debit`."""
    lines = [
        _journal_line(
            description=note,
            value=value,
            posting="Debit",
            account=debit,
            entity=entity if entity_on_debit else None,
        ),
        _journal_line(
            description=note,
            value=value,
            posting="Credit",
            account=credit,
            entity=None if entity_on_debit else entity,
        ),
    ]
    head = _header(
        reference,
        on=on,
        note=note,
        currency=currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    return allowlisted("JournalEntry", {**head, "Line": lines})


def _customer_entity(customer_id: str | None) -> Body | None:
    return {"Type": "Customer", "EntityRef": _ref(customer_id)} if customer_id else None


# --------------------------------------------------------------------------- platform books


def display_name(c: ContactFacts) -> str:
    """The Customer's DisplayName: the name, then our reference in brackets. QuickBooks wants
    DisplayName unique and colon-free; the reference makes it unique and findable."""
    suffix = f" [{c.reference}]"
    name = " ".join(c.name.replace(":", " ").split()) or c.reference
    return name[: DISPLAY_NAME_MAX - len(suffix)] + suffix


def customer_query(c: ContactFacts) -> str:
    """The query that finds a profile's Customer before one is created (renamed or not)."""
    suffix = f" [{c.reference}]".replace("\\", "\\\\").replace("'", "\\'")
    # QuickBooks' query language, not SQL: the only value in it is our reference, escaped.
    return f"select * from Customer where DisplayName like '%{suffix}'"  # noqa: S608


def customer(c: ContactFacts) -> Body:
    fields: Body = {
        "CompanyName": c.name,
        "DisplayName": display_name(c),
        "Notes": f"Our reference {c.reference}",
    }
    if c.email:
        fields["PrimaryEmailAddr"] = {"Address": c.email}
    return allowlisted("Customer", fields)


def fee_journal(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
    customer_id: str | None = None,
) -> Body:
    """Our fee, in the source currency on the booking day: Dr client money, Cr fee revenue
    (the credit line names the customer when `customer_id` is given)."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    return _transfer_journal(
        reference=REFERENCE["fee"].format(transfer=t.reference),
        on=t.booked_on,
        note=f"Transfer fee, {t.reference}",
        currency=t.source_currency,
        value=amount(t.fee_minor, t.source_currency),
        debit=_account(roles, "client_money"),
        credit=_account(roles, "fee_revenue"),
        entity=_customer_entity(customer_id),
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


def fx_margin_journal(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
) -> Body:
    """The FX margin, in the target currency: Dr client money, Cr FX margin revenue; the other
    way round when rounding made it a loss (negative margin)."""
    if t.margin_minor == 0:
        raise NothingToMap(f"transfer {t.reference} has no FX margin")
    money, margin = _account(roles, "client_money"), _account(roles, "fx_margin_revenue")
    return _transfer_journal(
        reference=REFERENCE["fx_margin"].format(transfer=t.reference),
        on=t.booked_on,
        note=f"FX margin, {t.reference}",
        currency=t.target_currency,
        value=amount(abs(t.margin_minor), t.target_currency),
        debit=money if t.margin_minor > 0 else margin,
        credit=margin if t.margin_minor > 0 else money,
        entity=None,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


def _given_back(x: RefundFacts | TransferFacts) -> tuple[TransferFacts, int, int, dt.date]:
    """(transfer, fee, margin, day) that a refund, or a failure or cancellation after submit,
    gave back (a refunded transfer's from its RefundFacts, never twice)."""
    if isinstance(x, RefundFacts):
        return x.transfer, x.fee_minor, x.margin_minor, x.booked_on
    if x.unwound_by not in ("fail:unwind", "cancel:unwind") or x.unwound_on is None:
        raise MappingError(
            f"transfer {x.reference} was not unwound by a failure or cancellation "
            f"({x.unwound_by or 'its submit entry stands'}); a refund maps from RefundFacts"
        )
    return x, x.fee_minor, x.margin_minor, x.unwound_on


def fee_reversal_journal(
    x: RefundFacts | TransferFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
    customer_id: str | None = None,
) -> Body:
    """The fee given back (refund, failure or cancellation): the mirror of `fee_journal`."""
    t, fee_minor, _, on = _given_back(x)
    if fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference}: no fee given back here")
    return _transfer_journal(
        reference=REFERENCE["fee_reversal"].format(transfer=t.reference),
        on=on,
        note=f"Transfer fee given back, {t.reference}",
        currency=t.source_currency,
        value=amount(fee_minor, t.source_currency),
        debit=_account(roles, "fee_revenue"),
        credit=_account(roles, "client_money"),
        entity=_customer_entity(customer_id),
        home_currency=home_currency,
        exchange_rate=exchange_rate,
        entity_on_debit=True,
    )


def fx_margin_reversal_journal(
    x: RefundFacts | TransferFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
) -> Body:
    """The FX margin given back: the mirror of `fx_margin_journal`."""
    t, _, margin_minor, on = _given_back(x)
    if margin_minor == 0:
        raise NothingToMap(f"transfer {t.reference}: no FX margin given back here")
    money, margin = _account(roles, "client_money"), _account(roles, "fx_margin_revenue")
    return _transfer_journal(
        reference=REFERENCE["fx_margin_reversal"].format(transfer=t.reference),
        on=on,
        note=f"FX margin given back, {t.reference}",
        currency=t.target_currency,
        value=amount(abs(margin_minor), t.target_currency),
        debit=margin if margin_minor > 0 else money,
        credit=money if margin_minor > 0 else margin,
        entity=None,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


def _deposit(
    f: FundingFacts,
    *,
    bank: Body,
    line_account: Body,
    entity: Body | None,
    home_currency: str,
    exchange_rate: Decimal | None,
) -> Body:
    note = f"Wallet funding {f.currency}"
    detail: Body = {"AccountRef": line_account}
    if entity:
        detail["Entity"] = entity
    line = {
        "Description": note,
        "Amount": amount(f.amount_minor, f.currency),
        "DetailType": "DepositLineDetail",
        "DepositLineDetail": detail,
    }
    head = _header(
        REFERENCE["funding"].format(funding=f.reference),
        on=f.booked_on,
        note=note,
        currency=f.currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    return allowlisted("Deposit", {**head, "Line": [line], "DepositToAccountRef": bank})


def funding_deposit(
    f: FundingFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
    customer_id: str | None = None,
) -> Body:
    """Money a customer paid in: a Deposit into client money, its line on customer funds
    (owed to them; the line names the customer when `customer_id` is given)."""
    return _deposit(
        f,
        bank=_account(roles, "client_money"),
        line_account=_account(roles, "customer_funds"),
        entity={**_ref(customer_id), "type": "CUSTOMER"} if customer_id else None,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


# --------------------------------------------------------------------------- customer books


def _expense_line(description: str, value: Decimal, account: Body) -> Body:
    return {
        "Description": description,
        "Amount": value,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": account},
    }


def supplier_payout(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
    vendor_id: str | None = None,
    bill_id: str | None = None,
) -> Body:
    """The transfer in the customer's books, paid from their wallet (a bank account there).

    With the Bill it pays (`bill_id`, and the bill's `vendor_id`): a BillPayment of the bill
    from the wallet, in the bill's (target) currency; the fee is then `bank_fee_purchase`.
    Without: a Purchase (PaymentType Cash) from the wallet with two lines, what was converted
    (source - fee) on payout_clearing and our fee on bank_fees; the beneficiary is named in
    the line (and is the EntityRef when the caller knows them as a Vendor, `vendor_id`).
    """
    if bill_id:
        if not vendor_id:
            raise MappingError(f"transfer {t.reference}: a BillPayment needs the bill's vendor")
        value = amount(t.target_minor, t.target_currency)
        head = _header(
            REFERENCE["payout"].format(transfer=t.reference),
            on=t.booked_on,
            note=f"Transfer to {t.beneficiary_name}",
            currency=t.target_currency,
            home_currency=home_currency,
            exchange_rate=exchange_rate,
        )
        line = {"Amount": value, "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]}
        return allowlisted(
            "BillPayment",
            {
                **head,
                "Line": [line],
                "VendorRef": _ref(vendor_id),
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": _account(roles, "wallet_bank")},
                "TotalAmt": value,
            },
        )
    target = f"{amount(t.target_minor, t.target_currency)} {t.target_currency}"
    lines = [
        _expense_line(
            f"Transfer {t.reference} to {t.beneficiary_name}: {target} at {t.rate.normalize():f}",
            amount(t.converted_minor, t.source_currency),
            _account(roles, "payout_clearing"),
        )
    ]
    if t.fee_minor > 0:
        lines.append(
            _expense_line(
                f"Transfer fee, {t.reference}",
                amount(t.fee_minor, t.source_currency),
                _account(roles, "bank_fees"),
            )
        )
    return _purchase(
        REFERENCE["payout"].format(transfer=t.reference),
        t,
        note=f"Transfer to {t.beneficiary_name}",
        lines=lines,
        roles=roles,
        vendor_id=vendor_id,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


def _purchase(
    reference: str,
    t: TransferFacts,
    *,
    note: str,
    lines: list[Body],
    roles: Mapping[str, str],
    vendor_id: str | None,
    home_currency: str,
    exchange_rate: Decimal | None,
) -> Body:
    head = _header(
        reference,
        on=t.booked_on,
        note=note,
        currency=t.source_currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    fields: Body = {
        **head,
        "Line": lines,
        "AccountRef": _account(roles, "wallet_bank"),
        "PaymentType": "Cash",
    }
    if vendor_id:
        fields["EntityRef"] = {**_ref(vendor_id), "type": "Vendor"}
    return allowlisted("Purchase", fields)


def bank_fee_purchase(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
    vendor_id: str | None = None,
) -> Body:
    """Our fee in the customer's books when the payout itself is a BillPayment: a Purchase
    from the wallet on bank_fees (to us, when their books know us as a Vendor, `vendor_id`)."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    line = _expense_line(
        f"Transfer fee, {t.reference}",
        amount(t.fee_minor, t.source_currency),
        _account(roles, "bank_fees"),
    )
    return _purchase(
        REFERENCE["fee"].format(transfer=t.reference),
        t,
        note=f"Transfer fee, {t.reference}",
        lines=[line],
        roles=roles,
        vendor_id=vendor_id,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


def customer_funding_deposit(
    f: FundingFacts,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
) -> Body:
    """Money the customer paid into their wallet: a Deposit into the wallet, from their own
    money in transit (funding_clearing)."""
    return _deposit(
        f,
        bank=_account(roles, "wallet_bank"),
        line_account=_account(roles, "funding_clearing"),
        entity=None,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )


# --------------------------------------------------------------------------- daily journals


def daily_journal(
    m: DayMovement,
    roles: Mapping[str, str],
    *,
    home_currency: str,
    exchange_rate: Decimal | None = None,
) -> Body:
    """A day of the ledger in one currency as one JournalEntry: per role, its debits and its
    credits as separate lines (gross, so the day's turnover shows). A currency other than the
    home currency needs the day's `exchange_rate` (and multicurrency on in the company)."""
    lines: list[Body] = []
    debits = credits = Decimal(0)
    for role, debit_minor, credit_minor in m.lines:
        account = _account(roles, role)
        for minor, posting in ((debit_minor, "Debit"), (credit_minor, "Credit")):
            if not minor:
                continue
            value = amount(minor, m.currency)
            if value < 0:
                raise MappingError(f"{m.day} {m.currency}: {role} has negative {posting}s")
            lines.append(
                _journal_line(
                    description=f"{role} {posting.lower()}s",
                    value=value,
                    posting=posting,
                    account=account,
                )
            )
            if posting == "Debit":
                debits += value
            else:
                credits += value
    if debits != credits or len(lines) < 2:
        raise MappingError(f"{m.day} {m.currency}: the journal lines do not balance")
    head = _header(
        REFERENCE["journal"].format(day=m.day, currency=m.currency),
        on=m.day,
        note=f"Ledger {day(m.day)} {m.currency} ({m.entry_count} entries)",
        currency=m.currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    return allowlisted("JournalEntry", {**head, "Line": lines})
