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
- Fee and FX margin are JournalEntries, not SalesReceipts: QuickBooks sales lines name Items,
  not accounts. The fee is owed by the customer when the transfer is submitted (Dr
  fee_receivable, an Accounts Receivable line naming the Customer; Cr fee_revenue) and paid
  from the money they paid in when it completes: a Payment applied to that journal (as Xero's
  fee invoice and its Payment). A refund after completion gives the fee back as a
  RefundReceipt from client money (its line names the fee Item, whose income account is
  fee_revenue); a failure before completion reverses the receivable by a mirroring journal.
- Nothing to book is an error, not an empty document (NothingToMap; the engine skips it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from integrations.connectors.accounting.facts import (
    ContactFacts,
    DayMovement,
    FundingFacts,
    RefundFacts,
    TransferFacts,
)
from integrations.connectors.accounting.quickbooks.fields import ALLOWED_FIELDS as ALLOWED_FIELDS
from integrations.connectors.accounting.quickbooks.fields import (
    DISPLAY_NAME_MAX as DISPLAY_NAME_MAX,
)
from integrations.connectors.accounting.quickbooks.fields import REFERENCE as REFERENCE
from integrations.connectors.accounting.quickbooks.fields import (
    REQUEST_ID_MAX as REQUEST_ID_MAX,
)
from integrations.connectors.accounting.quickbooks.fields import Body as Body
from integrations.connectors.accounting.quickbooks.fields import account_ref, header, ref
from integrations.connectors.accounting.quickbooks.fields import allowlisted as allowlisted
from integrations.connectors.accounting.quickbooks.fields import amount as amount
from integrations.connectors.accounting.quickbooks.fields import day as day
from integrations.connectors.accounting.quickbooks.fields import doc_number as doc_number
from integrations.connectors.accounting.quickbooks.fields import requestid_for as requestid_for
from integrations.connectors.accounting.quickbooks.roles import ROLES_CUSTOMER as ROLES_CUSTOMER
from integrations.connectors.accounting.quickbooks.roles import ROLES_PLATFORM as ROLES_PLATFORM
from integrations.connectors.accounting.quickbooks.roles import RoleSpec as RoleSpec
from integrations.connectors.accounting.vocabulary import FieldNotAllowed as FieldNotAllowed
from integrations.connectors.accounting.vocabulary import MappingError as MappingError
from integrations.connectors.accounting.vocabulary import NothingToMap as NothingToMap
from integrations.connectors.accounting.wire import dumps as dumps

# `dumps`, the roles and the vocabulary of `fields` are re-exported (`import X as X`): the
# engine and the account-mapping screen find them here.


# Builder -> the QuickBooks entity (the endpoint) its body is for.
ENTITY: Mapping[str, str] = {
    "customer": "Customer",
    "fee_journal": "JournalEntry",
    "fee_reversal_journal": "JournalEntry",
    "fx_margin_journal": "JournalEntry",
    "fx_margin_reversal_journal": "JournalEntry",
    "funding_deposit": "Deposit",
    "supplier_payout": "Purchase",  # BillPayment when given the bill: `payout_entity`
    "bank_fee_purchase": "Purchase",
    "customer_funding_deposit": "Deposit",
    "daily_journal": "JournalEntry",
    "fee_payment": "Payment",
    "fee_refund_receipt": "RefundReceipt",
    "fee_item": "Item",
}

# The Service Item a RefundReceipt's fee line names; found by Name, made when missing.
FEE_ITEM_NAME = "Transfer fee"


def payout_entity(*, bill_id: str | None) -> str:
    """The entity `supplier_payout` makes: a BillPayment of the bill, else a Purchase."""
    return "BillPayment" if bill_id else ENTITY["supplier_payout"]


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
    head = header(
        reference,
        on=on,
        note=note,
        currency=currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    return allowlisted("JournalEntry", {**head, "Line": lines})


def _customer_entity(customer_id: str | None) -> Body | None:
    return {"Type": "Customer", "EntityRef": ref(customer_id)} if customer_id else None


def _receivable_entity(customer_id: str | None, reference: str) -> Body:
    """An Accounts Receivable line's Customer: QuickBooks refuses such a line without one."""
    if not customer_id:
        raise MappingError(f"transfer {reference}: the fee receivable line needs the Customer")
    return {"Type": "Customer", "EntityRef": ref(customer_id)}


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
    receivable: bool = True,
) -> Body:
    """Our fee on the booking day, in the source currency, credited to fee revenue.

    `receivable` (the Customer keeps accounts in the fee's currency): owed by the customer,
    Dr fee_receivable (Accounts Receivable: the line names the Customer, as QuickBooks
    requires); the transfer's completion pays it (`fee_payment`). Otherwise (QuickBooks keeps
    one currency per Customer, and an A/R line or a Payment must be in it): taken from client
    money directly, Dr client_money, the credit line naming the Customer when given."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    return _transfer_journal(
        reference=REFERENCE["fee"].format(transfer=t.reference),
        on=t.booked_on,
        note=f"Transfer fee, {t.reference}",
        currency=t.source_currency,
        value=amount(t.fee_minor, t.source_currency),
        debit=account_ref(roles, "fee_receivable" if receivable else "client_money"),
        credit=account_ref(roles, "fee_revenue"),
        entity=(
            _receivable_entity(customer_id, t.reference)
            if receivable
            else _customer_entity(customer_id)
        ),
        home_currency=home_currency,
        exchange_rate=exchange_rate,
        entity_on_debit=receivable,
    )


def fee_payment(
    t: TransferFacts,
    roles: Mapping[str, str],
    *,
    journal_id: str,
    customer_id: str,
    home_currency: str,
    exchange_rate: Decimal | None = None,
) -> Body:
    """The completed transfer: the fee the customer owed (`fee_journal`'s receivable) paid
    from the money they paid in, a Payment into client money applied to that JournalEntry.
    Dated on the fee's day, as the ledger took it then (Xero's fee Payment likewise)."""
    if t.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference} has no fee")
    if not journal_id:
        raise MappingError(f"transfer {t.reference}: the fee Payment needs the fee journal's Id")
    value = amount(t.fee_minor, t.source_currency)
    reference = REFERENCE["fee_payment"].format(transfer=t.reference)
    head = header(
        reference,
        on=t.booked_on,
        note=f"Transfer fee paid, {t.reference}",
        currency=t.source_currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    line = {"Amount": value, "LinkedTxn": [{"TxnId": journal_id, "TxnType": "JournalEntry"}]}
    number = head.pop("DocNumber")  # a Payment's reference is its PaymentRefNum
    return allowlisted(
        "Payment",
        {
            **head,
            "Line": [line],
            "CustomerRef": ref(customer_id),
            "DepositToAccountRef": account_ref(roles, "client_money"),
            "PaymentRefNum": number,
            "TotalAmt": value,
        },
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
    money, margin = account_ref(roles, "client_money"), account_ref(roles, "fx_margin_revenue")
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
    receivable: bool = True,
) -> Body:
    """The fee given back, the mirror of `fee_journal` (`receivable` as there).

    With the receivable, only a failure or cancellation (before completion, so before any
    Payment) is mirrored: Dr fee revenue, Cr fee_receivable; a refund gives the paid fee back
    as a RefundReceipt (`fee_refund_receipt`). Without, refund or failure: Dr fee revenue (the
    Customer named), Cr client money."""
    if receivable and isinstance(x, RefundFacts):
        raise MappingError(
            f"transfer {x.transfer.reference}: a refund gives the paid fee back as a "
            "RefundReceipt (fee_refund_receipt)"
        )
    t, fee_minor, _, on = _given_back(x)
    if fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference}: no fee given back here")
    return _transfer_journal(
        reference=REFERENCE["fee_reversal"].format(transfer=t.reference),
        on=on,
        note=f"Transfer fee given back, {t.reference}",
        currency=t.source_currency,
        value=amount(fee_minor, t.source_currency),
        debit=account_ref(roles, "fee_revenue"),
        credit=account_ref(roles, "fee_receivable" if receivable else "client_money"),
        entity=(
            _receivable_entity(customer_id, t.reference)
            if receivable
            else _customer_entity(customer_id)
        ),
        home_currency=home_currency,
        exchange_rate=exchange_rate,
        entity_on_debit=not receivable,
    )


def fee_item(roles: Mapping[str, str]) -> Body:
    """The Service Item whose income account is fee_revenue (a RefundReceipt's line names it;
    QuickBooks sales lines name Items, not accounts)."""
    return allowlisted(
        "Item",
        {
            "Name": FEE_ITEM_NAME,
            "Description": "Transfer fees (posted by the fintech back office)",
            "Type": "Service",
            "IncomeAccountRef": account_ref(roles, "fee_revenue"),
        },
    )


def fee_refund_receipt(
    x: RefundFacts,
    roles: Mapping[str, str],
    *,
    item_id: str,
    customer_id: str,
    home_currency: str,
    exchange_rate: Decimal | None = None,
) -> Body:
    """A refund after completion gives the paid fee back: a RefundReceipt to the Customer
    from client money, one line on the fee Item (its income account, fee_revenue, debited),
    on the refund's day. Its PrivateNote names the fee journal and Payment it gives back
    (QuickBooks links nothing to a RefundReceipt)."""
    t = x.transfer
    if x.fee_minor <= 0:
        raise NothingToMap(f"transfer {t.reference}: no fee given back by the refund")
    if not item_id:
        raise MappingError(f"transfer {t.reference}: the RefundReceipt needs the fee Item")
    fee_ref = REFERENCE["fee"].format(transfer=t.reference)
    paid_ref = REFERENCE["fee_payment"].format(transfer=t.reference)
    note = f"Transfer fee refunded, {t.reference} (gives back {fee_ref}, paid by {paid_ref})"
    line = {
        "Description": f"Transfer fee refunded, {t.reference}",
        "Amount": amount(x.fee_minor, t.source_currency),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": ref(item_id)},
    }
    head = header(
        REFERENCE["fee_refund"].format(transfer=t.reference),
        on=x.booked_on,
        note=note,
        currency=t.source_currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    return allowlisted(
        "RefundReceipt",
        {
            **head,
            "Line": [line],
            "CustomerRef": ref(customer_id),
            "DepositToAccountRef": account_ref(roles, "client_money"),
        },
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
    money, margin = account_ref(roles, "client_money"), account_ref(roles, "fx_margin_revenue")
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
    head = header(
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
        bank=account_ref(roles, "client_money"),
        line_account=account_ref(roles, "customer_funds"),
        entity={**ref(customer_id), "type": "CUSTOMER"} if customer_id else None,
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
        head = header(
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
                "VendorRef": ref(vendor_id),
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": account_ref(roles, "wallet_bank")},
                "TotalAmt": value,
            },
        )
    target = f"{amount(t.target_minor, t.target_currency)} {t.target_currency}"
    lines = [
        _expense_line(
            f"Transfer {t.reference} to {t.beneficiary_name}: {target} at {t.rate.normalize():f}",
            amount(t.converted_minor, t.source_currency),
            account_ref(roles, "payout_clearing"),
        )
    ]
    if t.fee_minor > 0:
        lines.append(
            _expense_line(
                f"Transfer fee, {t.reference}",
                amount(t.fee_minor, t.source_currency),
                account_ref(roles, "bank_fees"),
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
    head = header(
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
        "AccountRef": account_ref(roles, "wallet_bank"),
        "PaymentType": "Cash",
    }
    if vendor_id:
        fields["EntityRef"] = {**ref(vendor_id), "type": "Vendor"}
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
        account_ref(roles, "bank_fees"),
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
        bank=account_ref(roles, "wallet_bank"),
        line_account=account_ref(roles, "funding_clearing"),
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
        account = account_ref(roles, role)
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
    head = header(
        REFERENCE["journal"].format(day=m.day, currency=m.currency),
        on=m.day,
        note=f"Ledger {day(m.day)} {m.currency} ({m.entry_count} entries)",
        currency=m.currency,
        home_currency=home_currency,
        exchange_rate=exchange_rate,
    )
    return allowlisted("JournalEntry", {**head, "Line": lines})
