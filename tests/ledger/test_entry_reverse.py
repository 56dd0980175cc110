"""entry_reverse: the mirror image of an entry, once, pointing at the original."""

from __future__ import annotations

import pytest

from ledger import chart
from ledger.errors import InsufficientFunds, UnknownEntry
from ledger.selectors import account_balance, entry_postings
from ledger.services import PostingSpec, entry_post, entry_reverse
from tests.ledger.conftest import ledger_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded_transfer(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    return entry_post(
        idempotency_key="transfer:T1:fund",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 30_000, "GBP"),
            PostingSpec.credit(clearing.pk, 30_000, "GBP"),
        ],
        memo="fund T1",
    )


def test_it_posts_the_mirror_image_and_restores_the_balances(
    alice_wallets, funded_transfer, check_deferred
):
    reversal = entry_reverse(
        entry_id=funded_transfer.pk, idempotency_key="transfer:T1:cancel", memo="cancel T1"
    )
    check_deferred()

    assert reversal.reverses_id == funded_transfer.pk
    assert entry_postings(entry_id=reversal.pk) == [
        ("wallet:profile:alice:GBP", "GBP", 0, 30_000),
        ("clearing:transfers:GBP", "GBP", 30_000, 0),
    ]
    assert account_balance(account_id=alice_wallets.gbp.pk) == 100_000
    assert account_balance(account_id=chart.transfer_clearing_account(currency="GBP").pk) == 0


def test_reversing_again_with_the_same_key_returns_the_reversal(funded_transfer):
    first = entry_reverse(entry_id=funded_transfer.pk, idempotency_key="r", memo="undo")
    before = ledger_counts()
    assert entry_reverse(entry_id=funded_transfer.pk, idempotency_key="r", memo="undo").pk == (
        first.pk
    )
    assert ledger_counts() == before


def test_a_reversal_that_would_overdraw_a_wallet_is_refused(alice_wallets, bob_wallet):
    # alice pays bob 100.00 from her wallet; bob spends it; the payment cannot be unwound.
    payment = entry_post(
        idempotency_key="p",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 10_000, "GBP"),
            PostingSpec.credit(bob_wallet.pk, 10_000, "GBP"),
        ],
        memo="alice pays bob",
    )
    clearing = chart.transfer_clearing_account(currency="GBP")
    entry_post(
        idempotency_key="spend",
        postings=[
            PostingSpec.debit(bob_wallet.pk, 10_000, "GBP"),
            PostingSpec.credit(clearing.pk, 10_000, "GBP"),
        ],
        memo="bob spends",
    )
    with pytest.raises(InsufficientFunds):
        entry_reverse(entry_id=payment.pk, idempotency_key="p:rev", memo="undo")


def test_an_unknown_entry_cannot_be_reversed():
    with pytest.raises(UnknownEntry):
        entry_reverse(entry_id=123456789, idempotency_key="x", memo="x")
