"""Reading balances: now, available, as of a time, statements with a running balance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger import chart
from ledger.errors import UnknownAccount
from ledger.selectors import (
    account_balance,
    account_balance_as_of,
    account_statement,
    accounts_for_owner,
    wallet_balances,
)
from ledger.services import PostingSpec, entry_post, hold_place
from tests.ledger.conftest import ALICE

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def history(db):
    """Bob's GBP wallet: +100.00 in January, -30.00 in February, +5.00 in March."""
    wallet = chart.wallet_account(owner="profile:bob", currency="GBP")
    funding = chart.funding_partner_account(partner="bank-gb", currency="GBP")
    for when, amount, memo in [(JAN, 10_000, "in"), (FEB, -3_000, "out"), (MAR, 500, "in")]:
        legs = [
            PostingSpec.debit(funding.pk, abs(amount), "GBP"),
            PostingSpec.credit(wallet.pk, abs(amount), "GBP"),
        ]
        if amount < 0:
            legs = [
                PostingSpec.debit(wallet.pk, -amount, "GBP"),
                PostingSpec.credit(funding.pk, -amount, "GBP"),
            ]
        entry_post(idempotency_key=f"h:{when}", postings=legs, memo=memo, effective_at=when)
    return wallet


def test_balance_as_of_sums_postings_effective_by_then(history):
    assert account_balance_as_of(account_id=history.pk, at=datetime(2025, 12, 31, tzinfo=UTC)) == 0
    assert account_balance_as_of(account_id=history.pk, at=JAN) == 10_000
    assert account_balance_as_of(account_id=history.pk, at=FEB) == 7_000
    assert account_balance_as_of(account_id=history.pk, at=MAR) == 7_500
    assert account_balance(account_id=history.pk) == 7_500


def test_a_statement_has_an_opening_balance_and_a_running_balance(history):
    statement = account_statement(account_id=history.pk, start=FEB)

    assert statement.opening_minor == 10_000
    assert [(line.memo, line.amount_minor, line.running_minor) for line in statement.lines] == [
        ("out", -3_000, 7_000),
        ("in", 500, 7_500),
    ]
    assert statement.closing_minor == 7_500


def test_a_statement_window_is_half_open(history):
    statement = account_statement(account_id=history.pk, start=JAN, end=FEB)
    assert [line.memo for line in statement.lines] == ["in"]
    assert statement.closing_minor == 10_000


def test_wallet_balances_per_owner_and_currency(alice_wallets):
    hold_place(account_id=alice_wallets.eur.pk, amount_minor=1_000, idempotency_key="h")

    wallets = wallet_balances(owner=ALICE)

    assert set(wallets) == {"GBP", "EUR"}
    assert wallets["EUR"].posted_minor == 50_000
    assert wallets["EUR"].available_minor == 49_000
    assert [a.code for a in accounts_for_owner(owner=ALICE)] == [
        "wallet:profile:alice:EUR",
        "wallet:profile:alice:GBP",
    ]


def test_an_unknown_account_has_no_balance(db):
    with pytest.raises(UnknownAccount):
        account_balance(account_id=424242)
