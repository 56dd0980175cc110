"""entry_post: balanced entries move balances; the same key replays the first entry."""

from __future__ import annotations

import pytest

from ledger import chart
from ledger.errors import IdempotencyConflict
from ledger.selectors import account_available_balance, account_balance, entry_postings
from ledger.services import PostingSpec, entry_post
from tests.ledger.conftest import ledger_counts

pytestmark = pytest.mark.django_db


def test_it_moves_money_from_a_wallet_to_clearing(alice_wallets, check_deferred):
    clearing = chart.transfer_clearing_account(currency="GBP")

    entry = entry_post(
        idempotency_key="transfer:T1:fund",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 25_000, "GBP"),
            PostingSpec.credit(clearing.pk, 25_000, "GBP"),
        ],
        memo="transfer T1 funded from wallet",
        metadata={"transfer": "T1"},
    )
    check_deferred()

    assert account_balance(account_id=alice_wallets.gbp.pk) == 75_000
    assert account_balance(account_id=clearing.pk) == 25_000
    assert entry_postings(entry_id=entry.pk) == [
        ("wallet:profile:alice:GBP", "GBP", 25_000, 0),
        ("clearing:transfers:GBP", "GBP", 0, 25_000),
    ]
    entry.refresh_from_db()
    assert entry.metadata == {"transfer": "T1"}


def test_asset_accounts_are_debit_normal_and_liabilities_credit_normal(alice_wallets):
    funding = chart.funding_partner_account(partner="bank-gb", currency="GBP")
    # alice's funding: Dr funding 100,000, Cr wallet 100,000 -> both +100,000 on their side.
    assert account_balance(account_id=funding.pk) == 100_000
    assert account_balance(account_id=alice_wallets.gbp.pk) == 100_000


def test_one_entry_may_carry_two_currencies_each_balanced(alice_wallets, check_deferred):
    fx_gbp = chart.fx_position_account(currency="GBP")
    fx_eur = chart.fx_position_account(currency="EUR")
    entry_post(
        idempotency_key="convert-1",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 10_000, "GBP"),
            PostingSpec.credit(fx_gbp.pk, 10_000, "GBP"),
            PostingSpec.debit(fx_eur.pk, 11_500, "EUR"),
            PostingSpec.credit(alice_wallets.eur.pk, 11_500, "EUR"),
        ],
        memo="wallet conversion",
    )
    check_deferred()
    assert account_balance(account_id=alice_wallets.eur.pk) == 61_500
    assert account_balance(account_id=fx_eur.pk) == -11_500  # equity, debited


def test_the_same_key_returns_the_first_entry_and_writes_nothing(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    legs = [
        PostingSpec.debit(alice_wallets.gbp.pk, 500, "GBP"),
        PostingSpec.credit(clearing.pk, 500, "GBP"),
    ]
    first = entry_post(idempotency_key="retry-me", postings=legs, memo="first")
    before = ledger_counts()

    again = entry_post(idempotency_key="retry-me", postings=list(reversed(legs)), memo="retry")

    assert again.pk == first.pk
    assert ledger_counts() == before
    assert account_balance(account_id=alice_wallets.gbp.pk) == 99_500


def test_the_same_key_with_other_postings_is_a_conflict(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    entry_post(
        idempotency_key="k",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 500, "GBP"),
            PostingSpec.credit(clearing.pk, 500, "GBP"),
        ],
        memo="first",
    )
    before = ledger_counts()
    with pytest.raises(IdempotencyConflict) as excinfo:
        entry_post(
            idempotency_key="k",
            postings=[
                PostingSpec.debit(alice_wallets.gbp.pk, 501, "GBP"),
                PostingSpec.credit(clearing.pk, 501, "GBP"),
            ],
            memo="different",
        )
    assert excinfo.value.code == "idempotency_conflict"
    assert ledger_counts() == before


def test_a_retry_gets_its_entry_back_even_after_the_wallet_was_spent(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    legs = [
        PostingSpec.debit(alice_wallets.gbp.pk, 100_000, "GBP"),
        PostingSpec.credit(clearing.pk, 100_000, "GBP"),
    ]
    first = entry_post(idempotency_key="all-of-it", postings=legs, memo="everything")
    assert account_available_balance(account_id=alice_wallets.gbp.pk) == 0

    assert entry_post(idempotency_key="all-of-it", postings=legs, memo="retry").pk == first.pk


def test_a_post_is_one_query(alice_wallets, django_assert_num_queries):
    clearing = chart.transfer_clearing_account(currency="GBP")
    legs = [
        PostingSpec.debit(alice_wallets.gbp.pk, 100, "GBP"),
        PostingSpec.credit(clearing.pk, 100, "GBP"),
    ]
    # One statement locks, checks and writes the entry, its postings and the balances.
    with django_assert_num_queries(1):
        entry_post(idempotency_key="count-me", postings=legs, memo="x")
