"""The roles a connection maps to Xero accounts (the account-mapping screen's rows).

A mapping body names accounts only through a role (`roles[role]` -> a Xero AccountCode); each
role says what it means and which Xero account Types (and so which Class) may fill it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Xero account Type -> its Class (Xero's Accounts endpoint reports both).
ACCOUNT_CLASS_BY_TYPE: Mapping[str, str] = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
}


@dataclass(frozen=True)
class RoleSpec:
    """One line of the account-mapping screen: a role and the Xero accounts that may fill it."""

    name: str
    meaning: str
    account_types: tuple[str, ...]  # Xero account Types accepted, the first suggested

    @property
    def account_class(self) -> str:
        return ACCOUNT_CLASS_BY_TYPE[self.account_types[0]]

    def accepts(self, account_type: str) -> bool:
        return account_type in self.account_types


# The platform's own books.
ROLES_PLATFORM: tuple[RoleSpec, ...] = (
    RoleSpec("client_money", "Money held at our funding banks and payout partners", ("BANK",)),
    RoleSpec("fee_revenue", "Transfer fees we charge", ("REVENUE", "SALES", "OTHERINCOME")),
    RoleSpec("fx_margin_revenue", "FX margin we keep on conversions", ("REVENUE", "OTHERINCOME")),
    RoleSpec("customer_funds", "Customers' wallet balances we owe them", ("CURRLIAB",)),
    RoleSpec("payout_clearing", "Transfers in flight, owed onwards", ("CURRLIAB",)),
    RoleSpec("fx_position", "The FX desk's open currency position", ("EQUITY",)),
)

# A business customer's books (their wallet with us is a bank account there).
ROLES_CUSTOMER: tuple[RoleSpec, ...] = (
    RoleSpec("wallet_bank", "Their wallet with us, one per currency", ("BANK",)),
    RoleSpec("payout_clearing", "Supplier payments awaiting their bill", ("CURRLIAB",)),
    RoleSpec("bank_fees", "Our transfer fees, an expense to them", ("EXPENSE", "OVERHEADS")),
    RoleSpec("funding_clearing", "Money on its way from their bank to the wallet", ("CURRENT",)),
)
