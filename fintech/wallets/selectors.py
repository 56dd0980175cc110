"""Reads of wallet balances; the ledger is the source of truth."""

from __future__ import annotations

from fintech.customers.models import Profile
from ledger.selectors import AccountSummary, wallet_balances


def wallet_owner(profile: Profile | int) -> str:
    """The ledger owner key of a profile's wallets (one account per currency)."""
    profile_id = profile if isinstance(profile, int) else profile.pk
    return f"profile:{profile_id}"


def profile_wallet_balances(*, profile: Profile) -> dict[str, AccountSummary]:
    return wallet_balances(owner=wallet_owner(profile))
