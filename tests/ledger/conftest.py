"""Ledger people and builders. Everything is created through `ledger.services`/`ledger.chart`,
so a test can never build a ledger state that production could not.

alice: a verified business with GBP and EUR wallets (owner "profile:alice").
bob:   a personal customer with an empty GBP wallet (owner "profile:bob").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.db import connection

from ledger import chart
from ledger.models import Account
from ledger.services import PostingSpec, entry_post

ALICE = "profile:alice"
BOB = "profile:bob"
_keys = itertools.count(1)


def key(prefix: str = "test") -> str:
    return f"{prefix}-{next(_keys)}"


def fund_wallet(wallet: Account, amount_minor: int, *, partner: str = "bank-gb") -> int:
    """Money paid in by the customer at our funding bank: Dr funding partner, Cr wallet."""
    funding = chart.funding_partner_account(partner=partner, currency=wallet.currency)
    entry = entry_post(
        idempotency_key=key("fund"),
        postings=[
            PostingSpec.debit(funding.pk, amount_minor, wallet.currency),
            PostingSpec.credit(wallet.pk, amount_minor, wallet.currency),
        ],
        memo=f"wallet funding {wallet.code}",
    )
    return entry.pk


def ledger_counts() -> tuple[int, ...]:
    """Row counts and balance totals: equal before and after means nothing was written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM ledger_journalentry),"
            " (SELECT count(*) FROM ledger_posting),"
            " (SELECT count(*) FROM ledger_hold WHERE status = 'active'),"
            " (SELECT count(*) FROM ledger_account),"
            " (SELECT coalesce(sum(debits_minor + credits_minor * 3 + held_minor * 7 + version), 0)"
            "  FROM ledger_accountbalance)"
        )
        row = cursor.fetchone()
    assert row is not None
    return tuple(int(x) for x in row)


@dataclass
class Alice:
    gbp: Account
    eur: Account


@pytest.fixture
def alice_wallets(db) -> Alice:
    """Alice's business wallets: 1,000.00 GBP and 500.00 EUR."""
    gbp = chart.wallet_account(owner=ALICE, currency="GBP")
    eur = chart.wallet_account(owner=ALICE, currency="EUR")
    fund_wallet(gbp, 100_000)
    fund_wallet(eur, 50_000, partner="bank-eu")
    return Alice(gbp=gbp, eur=eur)


@pytest.fixture
def bob_wallet(db) -> Account:
    """Bob's GBP wallet, empty."""
    return chart.wallet_account(owner=BOB, currency="GBP")


@pytest.fixture
def funding_gbp(db) -> Account:
    return chart.funding_partner_account(partner="bank-gb", currency="GBP")


@pytest.fixture
def check_deferred():
    """Fire the deferred constraint triggers now, as COMMIT would (the test never commits)."""

    def fire() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    return fire
