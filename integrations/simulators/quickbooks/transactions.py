"""Transaction entities: Bill, Purchase, Deposit, JournalEntry, BillPayment, Payment,
SalesReceipt, RefundReceipt, CreditMemo. Each `<entity>_prepare(company, body, existing)`
returns the object to store (TotalAmt and the like computed as QuickBooks does) or raises
the Fault Intuit answers. A BillPayment pays its Bills down (their Balance); voiding or
deleting it gives the balance back (linked_apply)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from integrations.models import QuickBooksSandboxCompany as Company
from integrations.models import QuickBooksSandboxObject as Obj
from integrations.simulators.quickbooks import checks, faults
from integrations.simulators.quickbooks.companies import currency_ref
from integrations.simulators.quickbooks.store import object_get, object_save

BANKISH = {"Bank", "Other Current Asset"}
UNDEPOSITED_FUNDS = "4"
ACCOUNTS_PAYABLE = "33"
Lines = list[dict[str, Any]]


def _lines(body: dict[str, Any], entity: str) -> Lines:
    lines = checks.required(body, "Line", entity)
    if not isinstance(lines, list):
        raise faults.unsupported(f"{entity}.Line")
    return lines


def _detail(line: dict[str, Any], path: str, allowed: set[str]) -> dict[str, Any]:
    kind = checks.enum(line, "DetailType", allowed, path)
    detail = line.get(kind)
    if not isinstance(detail, dict):
        raise faults.required(f"{path}.{kind}")
    for other in allowed - {kind}:
        if other in line:
            raise faults.business(f"{path}: DetailType {kind} but {other} sent", path)
    return detail


def _total(lines: Lines, entity: str, *, kinds: set[str] | None = None) -> Decimal:
    total = Decimal(0)
    for i, line in enumerate(lines):
        if kinds is not None and line.get("DetailType") not in kinds:
            continue
        total += checks.amount(line.get("Amount"), f"{entity}.Line[{i}].Amount")
    return total


def _name(company: Company, body: dict[str, Any], key: str, entity: str, path: str) -> dict:
    object_id = checks.ref_id(body, key, path)
    assert object_id is not None
    return checks.referenced(company, entity, object_id, f"{path}.{key}")


def _common(
    company: Company, body: dict[str, Any], entity: str, *, default_currency: str | None = None
) -> tuple[dict[str, Any], str]:
    data = dict(body)
    checks.doc_number(data, entity)
    checks.max_length(data, "PrivateNote", 4000, entity)
    data["TxnDate"] = checks.txn_date(data, entity)
    code = checks.currency(company, data, entity, default=default_currency)
    data["CurrencyRef"] = currency_ref(code)
    if code == company.home_currency:
        data.pop("ExchangeRate", None)
    return data, code


def _expense_lines(company: Company, lines: Lines, entity: str, code: str) -> None:
    kinds = {"AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail"}
    for i, line in enumerate(lines):
        path = f"{entity}.Line[{i}]"
        detail = _detail(line, path, kinds)
        if line["DetailType"] == "AccountBasedExpenseLineDetail":
            found = checks.account(company, detail, "AccountRef", f"{path}.{line['DetailType']}")
            assert found is not None
            checks.same_currency(found, code, f"{path}.AccountRef", home=company.home_currency)
        else:
            item = checks.ref_id(detail, "ItemRef", f"{path}.ItemBasedExpenseLineDetail")
            assert item is not None
            checks.referenced(company, "Item", item, f"{path}.ItemBasedExpenseLineDetail.ItemRef")
        for ref in ("CustomerRef",):
            if ref in detail:
                _name(company, detail, ref, "Customer", f"{path}.{line['DetailType']}")


def _sales_lines(company: Company, lines: Lines, entity: str) -> Decimal:
    kinds = {"SalesItemLineDetail", "DescriptionOnly", "SubTotalLineDetail", "DiscountLineDetail"}
    total = Decimal(0)
    for i, line in enumerate(lines):
        path = f"{entity}.Line[{i}]"
        kind = checks.enum(line, "DetailType", kinds, path)
        if kind != "SalesItemLineDetail":
            continue
        detail = _detail(line, path, {"SalesItemLineDetail"})
        item = checks.ref_id(detail, "ItemRef", f"{path}.SalesItemLineDetail")
        assert item is not None
        checks.referenced(company, "Item", item, f"{path}.SalesItemLineDetail.ItemRef")
        line_amount = checks.amount(line.get("Amount"), f"{path}.Amount")
        if "Qty" in detail and "UnitPrice" in detail:
            qty = checks.amount(detail["Qty"], f"{path}.SalesItemLineDetail.Qty")
            price = checks.amount(detail["UnitPrice"], f"{path}.SalesItemLineDetail.UnitPrice")
            if (qty * price).quantize(checks.CENT) != line_amount:
                raise faults.Fault(
                    "Amount calculation incorrect in the request",
                    f"{path}: Amount {line_amount} is not equal to UnitPrice * Qty",
                    code="6070",
                    element=f"{path}.Amount",
                )
        total += line_amount
    return total


def _deposit_account(
    company: Company, data: dict[str, Any], entity: str, code: str, *, needed: bool
) -> None:
    if "DepositToAccountRef" not in data:
        if needed:
            raise faults.required(f"{entity}.DepositToAccountRef")
        data["DepositToAccountRef"] = {"value": UNDEPOSITED_FUNDS, "name": "Undeposited Funds"}
        return
    found = checks.account(company, data, "DepositToAccountRef", entity, types=BANKISH)
    assert found is not None
    checks.same_currency(found, code, f"{entity}.DepositToAccountRef")


def _customer_currency(
    company: Company, body: dict[str, Any], entity: str, *, needed: bool
) -> str | None:
    if "CustomerRef" not in body and not needed:
        return None
    customer = _name(company, body, "CustomerRef", "Customer", entity)
    return (customer.get("CurrencyRef") or {}).get("value")


def bill_prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
    vendor = _name(company, body, "VendorRef", "Vendor", "Bill")
    data, code = _common(company, body, "Bill", default_currency=vendor["CurrencyRef"]["value"])
    checks.same_currency(vendor, code, "Bill.VendorRef")
    lines = _lines(data, "Bill")
    _expense_lines(company, lines, "Bill", code)
    if "APAccountRef" in data:
        checks.account(company, data, "APAccountRef", "Bill", types={"Accounts Payable"})
    else:
        data["APAccountRef"] = {"value": ACCOUNTS_PAYABLE, "name": "Accounts Payable (A/P)"}
    total = _total(lines, "Bill")
    paid = Decimal(str((existing or {}).get("TotalAmt", 0))) - Decimal(
        str((existing or {}).get("Balance", 0))
    )
    if total < paid:
        raise faults.business(f"Bill.TotalAmt {total} is below what was paid ({paid})", "Bill")
    data.update(TotalAmt=checks.money(total), Balance=checks.money(total - paid))
    return data


def purchase_prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
    payment_type = checks.enum(body, "PaymentType", {"Cash", "Check", "CreditCard"}, "Purchase")
    types = {"Credit Card"} if payment_type == "CreditCard" else {"Bank"}
    paid_from = checks.account(company, body, "AccountRef", "Purchase", types=types)
    assert paid_from is not None
    data, code = _common(
        company, body, "Purchase", default_currency=paid_from["CurrencyRef"]["value"]
    )
    checks.same_currency(paid_from, code, "Purchase.AccountRef")
    if "EntityRef" in data:
        ref = data["EntityRef"] if isinstance(data["EntityRef"], dict) else {}
        kind = str(ref.get("type") or "Vendor")
        if kind not in ("Vendor", "Customer", "Employee"):
            raise faults.invalid_enum("Purchase.EntityRef.type", kind, {"Vendor", "Customer"})
        _name(company, data, "EntityRef", kind, "Purchase")
    lines = _lines(data, "Purchase")
    _expense_lines(company, lines, "Purchase", code)
    data["TotalAmt"] = checks.money(_total(lines, "Purchase"))
    return data


def deposit_prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
    into = checks.account(company, body, "DepositToAccountRef", "Deposit", types=BANKISH)
    assert into is not None
    data, code = _common(company, body, "Deposit", default_currency=into["CurrencyRef"]["value"])
    checks.same_currency(into, code, "Deposit.DepositToAccountRef")
    lines = _lines(data, "Deposit")
    for i, line in enumerate(lines):
        path = f"Deposit.Line[{i}]"
        if "LinkedTxn" in line and "DetailType" not in line:
            for j, linked in enumerate(line["LinkedTxn"] or []):
                _linked(
                    company,
                    linked,
                    f"{path}.LinkedTxn[{j}]",
                    {"Payment", "SalesReceipt", "RefundReceipt"},
                )
            continue
        detail = _detail(line, path, {"DepositLineDetail"})
        found = checks.account(company, detail, "AccountRef", f"{path}.DepositLineDetail")
        assert found is not None
        checks.same_currency(
            found, code, f"{path}.DepositLineDetail.AccountRef", home=company.home_currency
        )
        _deposit_entity(company, detail, f"{path}.DepositLineDetail")
    total = _total(lines, "Deposit")
    data["TotalAmt"] = checks.money(total)
    rate = Decimal(str(data.get("ExchangeRate", 1)))
    data["HomeTotalAmt"] = checks.money(total * rate)
    return data


def _entity(company: Company, detail: dict[str, Any], path: str) -> str | None:
    """A line's `Entity` ({"Type": "Customer", "EntityRef": {"value"}}): it must exist."""
    entity = detail.get("Entity")
    if entity is None:
        return None
    if not isinstance(entity, dict):
        raise faults.unsupported(f"{path}.Entity")
    kind = checks.enum(entity, "Type", {"Customer", "Vendor", "Employee"}, f"{path}.Entity")
    _name(company, entity, "EntityRef", kind, f"{path}.Entity")
    return kind


def _deposit_entity(company: Company, detail: dict[str, Any], path: str) -> None:
    """A deposit line's `Entity` is a plain ReferenceType ({"value", "type"}; Intuit's XSD),
    not a journal line's EntityTypeRef: the named Customer, Vendor or Employee must exist."""
    entity = detail.get("Entity")
    if entity is None:
        return
    if not isinstance(entity, dict):
        raise faults.unsupported(f"{path}.Entity")
    # Intuit's own examples spell the type in capitals ("CUSTOMER").
    kinds = {"CUSTOMER": "Customer", "VENDOR": "Vendor", "EMPLOYEE": "Employee"}
    kind = checks.enum(
        {"type": str(entity.get("type", "")).upper() or None}, "type", set(kinds), f"{path}.Entity"
    )
    _name(company, detail, "Entity", kinds[kind], path)


def journal_entry_prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
    data, code = _common(company, body, "JournalEntry")
    lines = _lines(data, "JournalEntry")
    totals = {"Debit": Decimal(0), "Credit": Decimal(0)}
    for i, line in enumerate(lines):
        path = f"JournalEntry.Line[{i}]"
        if line.get("DetailType") == "DescriptionOnly":
            continue
        detail = _detail(line, path, {"JournalEntryLineDetail"})
        posting = checks.enum(
            detail, "PostingType", {"Debit", "Credit"}, f"{path}.JournalEntryLineDetail"
        )
        found = checks.account(company, detail, "AccountRef", f"{path}.JournalEntryLineDetail")
        assert found is not None
        checks.same_currency(
            found, code, f"{path}.JournalEntryLineDetail.AccountRef", home=company.home_currency
        )
        kind = _entity(company, detail, f"{path}.JournalEntryLineDetail")
        needs = {"Accounts Receivable": "Customer", "Accounts Payable": "Vendor"}.get(
            found["AccountType"]
        )
        if needs and kind != needs:
            raise faults.business(
                f"{path}: a line on {found['AccountType']} needs a {needs} in Entity",
                f"{path}.JournalEntryLineDetail.Entity",
            )
        if needs:
            # QuickBooks keeps one currency per name: its receivable or payable is in it.
            name = _name(
                company, detail["Entity"], "EntityRef", needs, f"{path}.JournalEntryLineDetail"
            )
            theirs = (name.get("CurrencyRef") or {}).get("value")
            if theirs and theirs != code:
                raise faults.business(
                    f"{path}: the {needs}'s currency is {theirs}, the journal's {code}",
                    f"{path}.JournalEntryLineDetail.Entity",
                )
        totals[posting] += checks.amount(line.get("Amount"), f"{path}.Amount")
    if totals["Debit"] != totals["Credit"]:
        raise faults.business(
            f"Transaction is not balanced: debits {totals['Debit']} <> credits {totals['Credit']}",
            "JournalEntry.Line",
        )
    data["TotalAmt"] = checks.money(totals["Debit"])
    data.setdefault("Adjustment", False)
    return data


def _linked(company: Company, linked: Any, path: str, types: set[str]) -> dict[str, Any]:
    if not isinstance(linked, dict):
        raise faults.unsupported(path)
    kind = checks.enum(linked, "TxnType", types, path)
    txn_id = str(checks.required(linked, "TxnId", path))
    row = object_get(company, kind, txn_id)
    if row is None:
        raise faults.not_found(kind, txn_id, f"{path}.TxnId")
    found: dict[str, Any] = row.data
    return found


def bill_payment_prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
    vendor = _name(company, body, "VendorRef", "Vendor", "BillPayment")
    pay_type = checks.enum(body, "PayType", {"Check", "CreditCard"}, "BillPayment")
    data, code = _common(
        company, body, "BillPayment", default_currency=vendor["CurrencyRef"]["value"]
    )
    checks.same_currency(vendor, code, "BillPayment.VendorRef")
    if pay_type == "Check":
        check = checks.required(data, "CheckPayment", "BillPayment")
        found = checks.account(
            company, check, "BankAccountRef", "BillPayment.CheckPayment", types={"Bank"}
        )
    else:
        card = checks.required(data, "CreditCardPayment", "BillPayment")
        found = checks.account(
            company, card, "CCAccountRef", "BillPayment.CreditCardPayment", types={"Credit Card"}
        )
    assert found is not None
    checks.same_currency(found, code, "BillPayment bank account", home=company.home_currency)
    total = checks.amount(checks.required(data, "TotalAmt", "BillPayment"), "BillPayment.TotalAmt")
    applied = Decimal(0)
    mine = str((existing or {}).get("Id", ""))
    for i, line in enumerate(_lines(data, "BillPayment")):
        path = f"BillPayment.Line[{i}]"
        line_amount = checks.amount(line.get("Amount"), f"{path}.Amount")
        linked_all = checks.required(line, "LinkedTxn", path)
        for j, linked in enumerate(linked_all):
            bill = _linked(company, linked, f"{path}.LinkedTxn[{j}]", {"Bill"})
            if bill["VendorRef"]["value"] != vendor_id(data):
                raise faults.business(f"{path}: Bill {bill['Id']} is another vendor's", path)
            already = _paid_by(existing, bill["Id"]) if mine else Decimal(0)
            if line_amount > Decimal(str(bill["Balance"])) + already:
                raise faults.business(
                    f"{path}.Amount {line_amount} is more than Bill {bill['Id']}'s balance "
                    f"{bill['Balance']}",
                    f"{path}.Amount",
                )
        applied += line_amount
    if applied > total:
        raise faults.business(
            f"BillPayment.TotalAmt {total} is less than its lines ({applied})",
            "BillPayment.TotalAmt",
        )
    data["TotalAmt"] = checks.money(total)
    return data


def vendor_id(data: dict[str, Any]) -> str:
    return str(data["VendorRef"]["value"])


def _paid_by(payment: dict[str, Any] | None, bill_id: str) -> Decimal:
    paid = Decimal(0)
    for line in (payment or {}).get("Line", []):
        for linked in line.get("LinkedTxn", []):
            if linked.get("TxnType") == "Bill" and str(linked.get("TxnId")) == bill_id:
                paid += Decimal(str(line.get("Amount", 0)))
    return paid


def bills_apply(company: Company, payment: dict[str, Any] | None, sign: int) -> None:
    """Pay the payment's Bills down (sign 1) or give their balance back (sign -1)."""
    for line in (payment or {}).get("Line", []):
        for linked in line.get("LinkedTxn", []):
            if linked.get("TxnType") != "Bill":
                continue
            row = object_get(company, "Bill", str(linked.get("TxnId")), lock=True)
            if row is None:
                continue
            balance = Decimal(str(row.data["Balance"])) - sign * Decimal(str(line["Amount"]))
            object_save(row, {**row.data, "Balance": checks.money(balance)})


def payment_prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
    customer_currency = _customer_currency(company, body, "Payment", needed=True)
    data, code = _common(company, body, "Payment", default_currency=customer_currency)
    if customer_currency and code != customer_currency:
        raise faults.business(
            f"Payment.CurrencyRef {code}: the customer's currency is {customer_currency}",
            "Payment.CurrencyRef",
        )
    checks.max_length(data, "PaymentRefNum", checks.DOC_NUMBER_MAX, "Payment")
    total = checks.amount(checks.required(data, "TotalAmt", "Payment"), "Payment.TotalAmt")
    applied = Decimal(0)
    customer = str(data["CustomerRef"]["value"])
    mine = str((existing or {}).get("Id", ""))
    for i, line in enumerate(data.get("Line") or []):
        path = f"Payment.Line[{i}]"
        line_amount = checks.amount(line.get("Amount"), f"{path}.Amount")
        applied += line_amount
        for j, linked in enumerate(checks.required(line, "LinkedTxn", path)):
            where = f"{path}.LinkedTxn[{j}]"
            found = _linked(company, linked, where, {"Invoice", "CreditMemo", "JournalEntry"})
            if linked["TxnType"] == "JournalEntry":
                _journal_receivable(company, found, customer, line_amount, where, mine)
    if applied > total:
        raise faults.business(
            f"Payment.TotalAmt {total} is less than its lines ({applied})", "Payment.TotalAmt"
        )
    _deposit_account(company, data, "Payment", code, needed=False)
    data.update(TotalAmt=checks.money(total), UnappliedAmt=checks.money(total - applied))
    data.setdefault("Line", [])
    return data


def _receivable_of(company: Company, journal: dict[str, Any], customer: str) -> Decimal:
    """What a JournalEntry's Accounts Receivable lines say `customer` owes (debits - credits)."""
    owed = Decimal(0)
    for line in journal.get("Line", []):
        detail = line.get("JournalEntryLineDetail") or {}
        entity = detail.get("Entity") or {}
        if str((entity.get("EntityRef") or {}).get("value", "")) != customer:
            continue
        account = object_get(company, "Account", str((detail.get("AccountRef") or {}).get("value")))
        if account is None or account.data.get("AccountType") != "Accounts Receivable":
            continue
        sign = 1 if detail.get("PostingType") == "Debit" else -1
        owed += sign * Decimal(str(line.get("Amount", 0)))
    return owed


def _journal_receivable(
    company: Company,
    journal: dict[str, Any],
    customer: str,
    line_amount: Decimal,
    path: str,
    payment_id: str,
) -> None:
    """A Payment applied to a JournalEntry pays its receivable: the journal must have an
    Accounts Receivable debit naming the Payment's Customer, and the amount stay within what is
    still open there (other Payments applied to it deducted; a voided one applies 0)."""
    owed = _receivable_of(company, journal, customer)
    if owed <= 0:
        raise faults.business(
            f"{path}: JournalEntry {journal['Id']} has no Accounts Receivable line for "
            f"Customer {customer} to apply a payment to",
            f"{path}.TxnId",
        )
    others = Obj.objects.filter(
        company=company,
        entity="Payment",
        deleted=False,
        data__Line__contains=[
            {"LinkedTxn": [{"TxnId": str(journal["Id"]), "TxnType": "JournalEntry"}]}
        ],
    ).exclude(object_id=payment_id)
    for other in others:
        owed -= _paid_by_link(other.data, str(journal["Id"]), "JournalEntry")
    if line_amount > owed:
        raise faults.business(
            f"{path}: Amount {line_amount} is more than JournalEntry {journal['Id']}'s open "
            f"receivable ({owed})",
            f"{path}.Amount",
        )


def _paid_by_link(payment: dict[str, Any], txn_id: str, txn_type: str) -> Decimal:
    paid = Decimal(0)
    for line in payment.get("Line", []):
        for linked in line.get("LinkedTxn", []):
            if linked.get("TxnType") == txn_type and str(linked.get("TxnId")) == txn_id:
                paid += Decimal(str(line.get("Amount", 0)))
    return paid


def _sales(entity: str, *, customer_needed: bool, account_needed: bool) -> Callable[..., dict]:
    def prepare(company: Company, body: dict[str, Any], existing: dict | None) -> dict:
        customer_currency = _customer_currency(company, body, entity, needed=customer_needed)
        data, code = _common(company, body, entity, default_currency=customer_currency)
        if customer_currency and code != customer_currency:
            raise faults.business(
                f"{entity}.CurrencyRef {code}: the customer's currency is {customer_currency}",
                f"{entity}.CurrencyRef",
            )
        total = _sales_lines(company, _lines(data, entity), entity)
        if entity != "CreditMemo":
            _deposit_account(company, data, entity, code, needed=account_needed)
        data["TotalAmt"] = checks.money(total)
        data["Balance"] = checks.money(total) if entity == "CreditMemo" else 0
        if entity == "CreditMemo":
            data["RemainingCredit"] = checks.money(total)
        return data

    return prepare


sales_receipt_prepare = _sales("SalesReceipt", customer_needed=False, account_needed=False)
refund_receipt_prepare = _sales("RefundReceipt", customer_needed=False, account_needed=True)
credit_memo_prepare = _sales("CreditMemo", customer_needed=True, account_needed=False)
