"""The entities the sandbox serves, by the lowercase name in their URL (`.../customer`), and
what each allows: its rules (names.py, transactions.py), void, delete. Name lists (Account,
Customer, Vendor, Item, CompanyCurrency) are made inactive, never deleted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.simulators.quickbooks import names, transactions

Prepare = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Entity:
    name: str
    prepare: Prepare
    is_list: bool = False
    voidable: bool = False
    deletable: bool = True


ENTITIES: dict[str, Entity] = {
    e.name.lower(): e
    for e in (
        Entity("Account", names.account_prepare, is_list=True, deletable=False),
        Entity("Customer", names.customer_prepare, is_list=True, deletable=False),
        Entity("Vendor", names.vendor_prepare, is_list=True, deletable=False),
        Entity("Item", names.item_prepare, is_list=True, deletable=False),
        Entity("CompanyCurrency", names.company_currency_prepare, is_list=True, deletable=False),
        Entity("Bill", transactions.bill_prepare),
        Entity("Purchase", transactions.purchase_prepare),
        Entity("Deposit", transactions.deposit_prepare),
        Entity("JournalEntry", transactions.journal_entry_prepare),
        Entity("BillPayment", transactions.bill_payment_prepare, voidable=True),
        Entity("Payment", transactions.payment_prepare, voidable=True),
        Entity("SalesReceipt", transactions.sales_receipt_prepare, voidable=True),
        Entity("RefundReceipt", transactions.refund_receipt_prepare, voidable=True),
        Entity("CreditMemo", transactions.credit_memo_prepare),
    )
}
BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES.values()}
LISTS = frozenset(e.name for e in ENTITIES.values() if e.is_list)
