"""API reads that combine other modules' selectors for one business profile."""

from __future__ import annotations

from datetime import datetime

from fintech.customers.models import Profile
from fintech.wallets.selectors import wallet_owner
from ledger.selectors import AccountSummary, Statement, account_statement, wallet_balances


def profile_balances(*, profile: Profile) -> list[AccountSummary]:
    """The profile's wallets with their balances, by currency."""
    wallets = wallet_balances(owner=wallet_owner(profile))
    return [wallets[currency] for currency in sorted(wallets)]


def profile_statement(
    *, profile: Profile, currency: str, start: datetime | None, end: datetime | None
) -> Statement | None:
    """The statement of the profile's wallet in `currency`; None if it has no such wallet."""
    wallet = wallet_balances(owner=wallet_owner(profile)).get(currency)
    if wallet is None:
        return None
    return account_statement(account_id=wallet.id, start=start, end=end)
