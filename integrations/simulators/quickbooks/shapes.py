"""A request body read through python-quickbooks' entity classes (`quickbooks.objects`): the
entity's `from_json` must take it, and every field, at every depth, must be one the class
(or the nested class its `class_dict`, `list_dict` or a line's DetailType names) knows, or
one of the few Intuit accepts that python-quickbooks does not model (EXTRA). A field neither
knows is Intuit's 2010 "unsupported property", named with its path. python-quickbooks checks
no types or required fields: rules.py does."""

from __future__ import annotations

from typing import Any

from quickbooks.objects import (
    account,
    base,
    bill,
    billpayment,
    companycurrency,
    creditmemo,
    customer,
    deposit,
    detailline,
    item,
    journalentry,
    payment,
    purchase,
    refundreceipt,
    salesreceipt,
    vendor,
)

from integrations.simulators.quickbooks import faults

ENTITY_CLASSES: dict[str, type] = {
    "Account": account.Account,
    "Bill": bill.Bill,
    "BillPayment": billpayment.BillPayment,
    "CompanyCurrency": companycurrency.CompanyCurrency,
    "CreditMemo": creditmemo.CreditMemo,
    "Customer": customer.Customer,
    "Deposit": deposit.Deposit,
    "Item": item.Item,
    "JournalEntry": journalentry.JournalEntry,
    "Payment": payment.Payment,
    "Purchase": purchase.Purchase,
    "RefundReceipt": refundreceipt.RefundReceipt,
    "SalesReceipt": salesreceipt.SalesReceipt,
    "Vendor": vendor.Vendor,
}
# A line's class by its DetailType (python-quickbooks maps only some per entity).
LINE_CLASSES: dict[str, type] = {
    "SalesItemLineDetail": detailline.SalesItemLine,
    "AccountBasedExpenseLineDetail": detailline.AccountBasedExpenseLine,
    "ItemBasedExpenseLineDetail": detailline.ItemBasedExpenseLine,
    "DescriptionOnly": detailline.DescriptionOnlyLine,
    "SubTotalLineDetail": detailline.SubtotalLine,
    "DiscountLineDetail": detailline.DiscountLine,
    "JournalEntryLineDetail": journalentry.JournalEntryLine,
    "DepositLineDetail": deposit.DepositLine,
}
# Fields Intuit accepts that python-quickbooks' classes leave out.
EXTRA: dict[str, set[str]] = {
    "*": {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"},
    "Customer": {"PrimaryTaxIdentifier"},
    "Vendor": {"CurrencyRef", "APAccountRef"},
    "BillPayment": {"TxnDate", "ExchangeRate", "PrivateNote"},
    "Deposit": {"LinkedTxn"},
    "DepositLine": {"DepositLineDetail", "LinkedTxn"},
    "Payment": {"UnappliedAmt"},
    "RefundReceipt": {"ExchangeRate", "CustomerRef", "DepositToAccountRef"},
    "CreditMemo": {"ExchangeRate", "RemainingCredit"},
    "SalesReceipt": {"ExchangeRate"},
}
REF = base.Ref


def _known(cls: type) -> set[str]:
    instance = cls()
    names = set(vars(instance))
    names |= set(getattr(cls, "class_dict", {}))
    names |= set(getattr(cls, "list_dict", {}))
    return names | EXTRA["*"] | EXTRA.get(cls.__name__, set())


def _nested(cls: type, key: str, value: Any) -> type | None:
    if key.endswith("Ref"):
        return None  # references: {"value", "name", "type"} checked by rules.py
    if key in getattr(cls, "class_dict", {}):
        nested: type = cls.class_dict[key]  # type: ignore[attr-defined]
        return nested
    if key in getattr(cls, "list_dict", {}):
        listed: type = cls.list_dict[key]  # type: ignore[attr-defined]
        return listed
    return None


def _walk(cls: type, data: dict[str, Any], path: str) -> None:
    known = _known(cls)
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in known:
            raise faults.unsupported(where)
        if key == "Line" and isinstance(value, list):
            for i, line in enumerate(value):
                if not isinstance(line, dict):
                    raise faults.unsupported(f"{where}[{i}]")
                line_cls = LINE_CLASSES.get(str(line.get("DetailType", "")))
                if line_cls is None:
                    line_cls = _nested(cls, key, value) or detailline.DetailLine
                _walk(line_cls, line, f"{where}[{i}]")
            continue
        nested = _nested(cls, key, value)
        if nested is None:
            continue
        if isinstance(value, list):
            for i, element in enumerate(value):
                if isinstance(element, dict):
                    _walk(nested, element, f"{where}[{i}]")
        elif isinstance(value, dict):
            _walk(nested, value, where)


def shape_check(entity: str, body: dict[str, Any]) -> Any:
    """The body as python-quickbooks reads it (the entity object), or a Fault."""
    cls = ENTITY_CLASSES[entity]
    _walk(cls, body, entity)
    try:
        return cls.from_json(body)  # type: ignore[attr-defined]
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise faults.Fault(
            "Request has invalid or unsupported property",
            f"{entity} could not be read: {exc}",
            code="2010",
            element=entity,
        ) from exc
