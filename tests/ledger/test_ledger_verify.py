"""manage.py ledger_verify: OK on a clean ledger, a named report on a corrupted one."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import chart
from ledger.services import PostingSpec, entry_post, hold_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    entry_post(
        idempotency_key="fund-T1",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 1_000, "GBP"),
            PostingSpec.credit(clearing.pk, 1_000, "GBP"),
        ],
        memo="fund T1",
    )
    hold_place(account_id=alice_wallets.eur.pk, amount_minor=50, idempotency_key="h")
    return alice_wallets


def test_it_passes_on_a_clean_ledger(books, capsys):
    call_command("ledger_verify")
    out = capsys.readouterr().out
    assert out.startswith("OK: 3 entries, 6 postings, 5 accounts, 1 active holds")


def test_it_fails_naming_the_account_whose_balance_was_corrupted(books):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_accountbalance SET credits_minor = credits_minor + 1"
            " WHERE account_id = %s",
            [books.gbp.pk],
        )

    with pytest.raises(CommandError) as excinfo:
        call_command("ledger_verify")

    message = str(excinfo.value)
    assert "1 discrepancies" in message
    assert "account wallet:profile:alice:GBP: stored debits/credits 1000/100001" in message
    assert "postings 1000/100000" in message


def test_it_fails_naming_a_wrong_held_amount(books):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_accountbalance SET held_minor = 0 WHERE account_id = %s",
            [books.eur.pk],
        )
    with pytest.raises(CommandError, match="wallet:profile:alice:EUR: stored held 0 <> active"):
        call_command("ledger_verify")


def test_it_exits_non_zero_from_the_command_line(books):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_accountbalance SET debits_minor = debits_minor + 5"
            " WHERE account_id = %s",
            [books.gbp.pk],
        )
    with pytest.raises(CommandError) as excinfo:
        call_command("ledger_verify")
    assert excinfo.value.returncode == 1
