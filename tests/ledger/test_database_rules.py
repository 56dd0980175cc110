"""PostgreSQL refuses bad money on its own: raw SQL, no services, real commits."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import chart
from ledger.selectors import account_balance
from tests.ledger.conftest import fund_wallet

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def accounts():
    wallet = chart.wallet_account(owner="profile:alice", currency="GBP")
    fund_wallet(wallet, 10_000)
    clearing = chart.transfer_clearing_account(currency="GBP")
    return wallet.pk, clearing.pk


Statement = tuple[str, list[object]]


def entry(key: str) -> Statement:
    return (
        "INSERT INTO ledger_journalentry (idempotency_key, memo, effective_at, created_at,"
        " metadata) VALUES (%s, 'raw', now(), now(), '{}')",
        [key],
    )


def posting(key: str, account_id: int, debit: int, credit: int, currency: str = "GBP") -> Statement:
    return (
        "INSERT INTO ledger_posting (entry_id, account_id, currency, debit_minor, credit_minor)"
        " VALUES ((SELECT id FROM ledger_journalentry WHERE idempotency_key = %s), %s, %s, %s, %s)",
        [key, account_id, currency, debit, credit],
    )


def commit(*statements: Statement) -> None:
    """Run the statements in one transaction and COMMIT (deferred triggers fire here)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def entry_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_journalentry")
        return cursor.fetchone()[0]


def test_an_unbalanced_entry_fails_at_commit(accounts):
    wallet, clearing = accounts
    before = entry_count()
    # Each statement succeeds on its own: the balance check is deferred to COMMIT.
    with pytest.raises(IntegrityError, match="unbalanced in GBP"):
        commit(entry("raw-u"), posting("raw-u", wallet, 100, 0), posting("raw-u", clearing, 0, 99))
    assert entry_count() == before


def test_an_entry_with_one_posting_fails_at_commit(accounts):
    wallet, _ = accounts
    with pytest.raises(IntegrityError, match="at least two are required"):
        commit(entry("raw-1"), posting("raw-1", wallet, 100, 0))


def test_an_entry_with_no_postings_fails_at_commit(accounts):
    with pytest.raises(IntegrityError, match="at least two are required"):
        commit(entry("raw-0"))


def test_a_balanced_raw_entry_commits(accounts):
    wallet, clearing = accounts
    commit(entry("raw-b"), posting("raw-b", wallet, 100, 0), posting("raw-b", clearing, 0, 100))
    assert entry_count() == 2


def test_a_posting_cannot_be_added_to_an_entry_of_an_earlier_transaction(accounts):
    wallet, clearing = accounts
    commit(entry("raw-o"), posting("raw-o", wallet, 100, 0), posting("raw-o", clearing, 0, 100))
    with pytest.raises(IntegrityError, match="closed to new postings"):
        commit(posting("raw-o", wallet, 1, 0), posting("raw-o", clearing, 0, 1))


def test_postings_added_inside_a_savepoint_are_checked_at_commit(accounts):
    wallet, clearing = accounts

    def entry_then_posting_in_savepoints() -> None:
        with transaction.atomic():
            commit(entry("raw-sp"), posting("raw-sp", wallet, 100, 0))  # inner: a savepoint
            commit(posting("raw-sp", clearing, 0, 90))

    with pytest.raises(IntegrityError, match="unbalanced in GBP"):
        entry_then_posting_in_savepoints()


def test_a_posting_in_another_currency_than_its_account_is_refused(accounts):
    wallet, _ = accounts
    eur = chart.wallet_account(owner="profile:alice", currency="EUR")
    with pytest.raises(IntegrityError, match=r"posting in EUR to account \d+ which is in GBP"):
        commit(
            entry("raw-c"),
            posting("raw-c", wallet, 100, 0, currency="EUR"),
            posting("raw-c", eur.pk, 0, 100, currency="EUR"),
        )


@pytest.mark.parametrize(
    ("debit", "credit"),
    [(0, 0), (-100, 0), (0, -100), (100, 100), (-100, 100)],
)
def test_a_posting_must_have_exactly_one_positive_side(accounts, debit, credit):
    wallet, _ = accounts
    with pytest.raises(IntegrityError, match="ledger_posting_exactly_one_side"):
        commit(entry("raw-s"), posting("raw-s", wallet, debit, credit))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_posting SET debit_minor = debit_minor + 1",
        "UPDATE ledger_posting SET account_id = account_id",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_journalentry SET memo = 'rewritten'",
        "DELETE FROM ledger_journalentry",
    ],
)
def test_entries_and_postings_are_append_only(accounts, statement):
    with pytest.raises(IntegrityError, match="append-only"):
        commit((statement, []))


def test_a_reused_idempotency_key_is_refused(accounts):
    wallet, clearing = accounts
    commit(entry("raw-k"), posting("raw-k", wallet, 1, 0), posting("raw-k", clearing, 0, 1))
    with pytest.raises(IntegrityError, match="idempotency_key"):
        commit(entry("raw-k"))


def test_a_wallet_balance_cannot_be_set_below_zero(accounts):
    wallet, _ = accounts
    sql = "UPDATE ledger_accountbalance SET debits_minor = credits_minor + 1 WHERE account_id = %s"
    with pytest.raises(IntegrityError, match="ledger_balance_no_negative_available"):
        commit((sql, [wallet]))
    assert account_balance(account_id=wallet) == 10_000


def test_an_account_currency_cannot_change(accounts):
    wallet, _ = accounts
    with pytest.raises(IntegrityError, match="immutable"):
        commit(("UPDATE ledger_account SET currency = 'EUR' WHERE id = %s", [wallet]))
