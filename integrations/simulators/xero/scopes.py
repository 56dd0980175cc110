"""Which OAuth scopes each Accounting API resource needs, as Xero checks them: a read needs
the resource's scope or its `.read` variant, a write the scope itself. Xero's broad scopes
(accounting.transactions, accounting.contacts, accounting.settings) and its granular ones
(accounting.invoices, accounting.payments, accounting.banktransactions,
accounting.manualjournals) are both accepted."""

from __future__ import annotations

TRANSACTIONS = "accounting.transactions"
SETTINGS = "accounting.settings"

# resource -> the scopes any one of which grants it (writes: without ".read").
NEEDS: dict[str, tuple[str, ...]] = {
    "Organisation": (SETTINGS,),
    "Currencies": (SETTINGS,),
    "Accounts": (SETTINGS,),
    "Contacts": ("accounting.contacts",),
    "Invoices": (TRANSACTIONS, "accounting.invoices"),
    "CreditNotes": (TRANSACTIONS, "accounting.invoices"),
    "Payments": (TRANSACTIONS, "accounting.payments"),
    "BankTransactions": (TRANSACTIONS, "accounting.banktransactions"),
    "ManualJournals": (TRANSACTIONS, "accounting.manualjournals"),
}


def scope_missing(*, granted: str, resource: str, write: bool) -> str:
    """ "" when `granted` (space-separated) covers the call; else the scopes that would."""
    needed = NEEDS.get(resource)
    if needed is None:
        return ""
    have = set(granted.split())
    accepted = set(needed) if write else set(needed) | {f"{s}.read" for s in needed}
    if have & accepted:
        return ""
    return " or ".join(sorted(accepted))
