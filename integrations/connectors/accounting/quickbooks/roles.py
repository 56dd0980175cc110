"""The roles a connection maps to QuickBooks Online accounts (the account-mapping screen's rows).

A mapping body names accounts only through a role (`roles[role]` -> a QuickBooks Account Id);
each role says what it means, which QuickBooks AccountTypes may fill it (the first suggested)
and the AccountSubType suggested when an operator creates the account. The names are
Intuit's own (AccountTypeEnum and AccountSubTypeEnum in Finance.xsd).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# QuickBooks AccountType -> its Classification (the Account entity reports both).
CLASSIFICATION_BY_TYPE: Mapping[str, str] = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}


@dataclass(frozen=True)
class RoleSpec:
    """One line of the account-mapping screen: a role and the accounts that may fill it."""

    name: str
    meaning: str
    account_types: tuple[str, ...]  # QuickBooks AccountTypes accepted, the first suggested
    account_sub_type: str  # the AccountSubType suggested for a new account

    @property
    def classification(self) -> str:
        return CLASSIFICATION_BY_TYPE[self.account_types[0]]

    def accepts(self, account_type: str) -> bool:
        return account_type in self.account_types


# The platform's own books.
ROLES_PLATFORM: tuple[RoleSpec, ...] = (
    RoleSpec(
        "client_money",
        "Money held at our funding banks and payout partners",
        ("Bank",),
        "TrustAccounts",
    ),
    RoleSpec(
        "fee_receivable",
        "Fees our customers owe until their transfer completes",
        ("Accounts Receivable",),
        "AccountsReceivable",
    ),
    RoleSpec(
        "fee_revenue", "Transfer fees we charge", ("Income", "Other Income"), "ServiceFeeIncome"
    ),
    RoleSpec(
        "fx_margin_revenue",
        "FX margin we keep on conversions",
        ("Income", "Other Income"),
        "OtherPrimaryIncome",
    ),
    RoleSpec(
        "customer_funds",
        "Customers' wallet balances we owe them",
        ("Other Current Liability",),
        "TrustAccountsLiabilities",
    ),
    RoleSpec(
        "payout_clearing",
        "Transfers in flight, owed onwards",
        ("Other Current Liability",),
        "OtherCurrentLiabilities",
    ),
    RoleSpec("fx_position", "The FX desk's open currency position", ("Equity",), "OwnersEquity"),
)

# A business customer's books (their wallet with us is a bank account there).
ROLES_CUSTOMER: tuple[RoleSpec, ...] = (
    RoleSpec("wallet_bank", "Their wallet with us, one per currency", ("Bank",), "Checking"),
    RoleSpec(
        "payout_clearing",
        "Supplier payments awaiting their bill",
        ("Other Current Liability",),
        "OtherCurrentLiabilities",
    ),
    RoleSpec(
        "bank_fees",
        "Our transfer fees, an expense to them",
        ("Expense", "Other Expense"),
        "BankCharges",
    ),
    RoleSpec(
        "funding_clearing",
        "Money on its way from their bank to the wallet",
        ("Other Current Asset",),
        "OtherCurrentAssets",
    ),
)
