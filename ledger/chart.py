"""The chart of accounts of a cross-border payments business (see docs/ledger.md).

Each helper returns the account for its key, opening it on first use; concurrent callers
get the same account (unique code + INSERT ... ON CONFLICT, see
`ledger.services.account_get_or_open`). Owners and partners are opaque strings chosen by
the caller, e.g. owner="profile:42", partner="bank-gb".

| helper                       | code                             | type      | negative? |
|------------------------------|----------------------------------|-----------|-----------|
| wallet_account               | wallet:<owner>:<CCY>             | liability | no        |
| transfer_clearing_account    | clearing:transfers:<CCY>         | liability | no        |
| funding_partner_account      | funding:<partner>:<CCY>          | asset     | yes       |
| payout_partner_account       | payout:<partner>:<CCY>           | asset     | yes       |
| fx_position_account          | fx:position:<CCY>                | equity    | yes       |
| fee_revenue_account          | revenue:fees:<CCY>               | revenue   | yes       |
| fx_margin_revenue_account    | revenue:fx-margin:<CCY>          | revenue   | yes       |
"""

from __future__ import annotations

from ledger.errors import LedgerError
from ledger.models import Account, AccountType
from ledger.services import account_get_or_open

WALLET_PREFIX = "wallet:"


def _key(part: str, *, what: str) -> str:
    # The currency is always the last 3 characters of a code, so an owner with ':' in it
    # ("profile:42") still maps to exactly one code.
    if not part or part != part.strip():
        raise LedgerError(f"{what} {part!r} must be non-empty without surrounding spaces")
    return part


def wallet_account(*, owner: str, currency: str) -> Account:
    """A customer's money held by us in one currency: we owe it (liability); never negative."""
    return account_get_or_open(
        code=f"{WALLET_PREFIX}{_key(owner, what='owner')}:{currency}",
        name=f"Wallet {owner} {currency}",
        type=AccountType.LIABILITY,
        currency=currency,
        owner=owner,
        allow_negative=False,
    )


def transfer_clearing_account(*, currency: str) -> Account:
    """Money reserved for transfers in flight, owed onwards (liability); never negative."""
    return account_get_or_open(
        code=f"clearing:transfers:{currency}",
        name=f"Transfers in flight {currency}",
        type=AccountType.LIABILITY,
        currency=currency,
        owner="system",
        allow_negative=False,
    )


def funding_partner_account(*, partner: str, currency: str) -> Account:
    """Our money at the bank where customers pay in (asset)."""
    return account_get_or_open(
        code=f"funding:{_key(partner, what='partner')}:{currency}",
        name=f"Funding partner {partner} {currency}",
        type=AccountType.ASSET,
        currency=currency,
        owner=f"partner:{partner}",
        allow_negative=True,
    )


def payout_partner_account(*, partner: str, currency: str) -> Account:
    """Our prefunded money at a payout partner (asset); payouts draw it down."""
    return account_get_or_open(
        code=f"payout:{_key(partner, what='partner')}:{currency}",
        name=f"Payout partner {partner} {currency}",
        type=AccountType.ASSET,
        currency=currency,
        owner=f"partner:{partner}",
        allow_negative=True,
    )


def fx_position_account(*, currency: str) -> Account:
    """The FX desk's position in one currency (equity, a "currency trading" account).

    A conversion credits the source currency's position and debits the target's, so each
    currency balances on its own; the positions together are the open FX exposure.
    """
    return account_get_or_open(
        code=f"fx:position:{currency}",
        name=f"FX position {currency}",
        type=AccountType.EQUITY,
        currency=currency,
        owner="system",
        allow_negative=True,
    )


def fee_revenue_account(*, currency: str) -> Account:
    return account_get_or_open(
        code=f"revenue:fees:{currency}",
        name=f"Fee revenue {currency}",
        type=AccountType.REVENUE,
        currency=currency,
        owner="system",
        allow_negative=True,
    )


def fx_margin_revenue_account(*, currency: str) -> Account:
    return account_get_or_open(
        code=f"revenue:fx-margin:{currency}",
        name=f"FX margin revenue {currency}",
        type=AccountType.REVENUE,
        currency=currency,
        owner="system",
        allow_negative=True,
    )
