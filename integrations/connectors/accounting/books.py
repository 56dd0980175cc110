"""The account-mapping rows of an accounting connection, for every accounting connector.

A connector lists its roles (`RoleSpec`s with a name, a meaning and the account types that
fit) for the platform's books and for a customer's books; `roles_for` turns them into the
engine's rows for one connection: required where its jobs post to them, and one optional row
per enabled currency for each bank role (Xero and QuickBooks keep one bank account per
currency, and a bank transaction must be in its account's currency).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from integrations.connectors.accounting.facts import JOURNAL_ROLES
from integrations.sync.adapters import Role
from integrations.sync.models import Connection

# Roles a job needs in per-object mode; the daily journal uses every ledger role.
PER_OBJECT_PLATFORM_ROLES = (
    "client_money",
    "fee_revenue",
    "fx_margin_revenue",
    "customer_funds",
    "fee_receivable",  # QuickBooks: the fee journal's receivable, paid when a transfer completes
)

# Bank roles: `client_money` (or `wallet_bank`) is the base currency's account; a
# `client_money:EUR` row maps the EUR one. A currency without its own row uses the base one,
# and the provider refuses a transaction in another currency with its reason (visibly).
BANK_ROLES = ("client_money", "wallet_bank")


class RoleSpecLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def meaning(self) -> str: ...

    @property
    def account_types(self) -> tuple[str, ...]: ...


def _per_currency(connection: Connection, role: Role) -> list[Role]:
    others = sorted(set(connection.currencies or []) - {connection.base_currency})
    return [
        Role(
            f"{role.name}:{currency}",
            f"{role.meaning}, in {currency}",
            role.account_types,
            required=False,
            currency=currency,
        )
        for currency in others
    ]


def roles_for(
    connection: Connection,
    *,
    platform: Sequence[RoleSpecLike],
    customer: Sequence[RoleSpecLike],
) -> tuple[Role, ...]:
    """The account-mapping rows of a connection, required where its jobs post to them."""
    journal = connection.mode == Connection.Mode.DAILY_JOURNAL
    own = connection.owner == Connection.Owner.PROFILE
    result: list[Role] = []
    for spec in customer if own else platform:
        required = own or (
            spec.name in JOURNAL_ROLES if journal else spec.name in PER_OBJECT_PLATFORM_ROLES
        )
        role = Role(
            spec.name,
            spec.meaning,
            spec.account_types,
            required=required,
            currency=connection.base_currency if spec.name in BANK_ROLES else "",
        )
        result.append(role)
        if spec.name in BANK_ROLES:
            result.extend(_per_currency(connection, role))
    return tuple(result)


def roles_in(mapped: dict[str, str], currency: str) -> dict[str, str]:
    """The mapping as a transaction in `currency` sees it: its currency's bank accounts."""
    resolved = dict(mapped)
    for bank in BANK_ROLES:
        if f"{bank}:{currency}" in mapped:
            resolved[bank] = mapped[f"{bank}:{currency}"]
    return resolved
