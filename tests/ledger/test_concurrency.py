"""Real threads on real PostgreSQL: locks, races and retries."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import chart
from ledger.errors import AlreadyReversed, InsufficientFunds
from ledger.models import Account, JournalEntry
from ledger.selectors import account_balance, ledger_verify_report
from ledger.services import PostingSpec, entry_post, entry_reverse
from tests.ledger.conftest import fund_wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in n threads started together; return each result or raised exception."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


def kind(result: Any) -> str:
    return type(result).__name__


def test_twenty_debits_of_ten_on_a_wallet_of_one_hundred():
    wallet = chart.wallet_account(owner="profile:alice", currency="GBP")
    fund_wallet(wallet, 100)
    clearing = chart.transfer_clearing_account(currency="GBP")
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        # Reads committed balances while the debits race: never below zero.
        try:
            while not stop.is_set():
                seen.append(account_balance(account_id=wallet.pk))
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = run_in_threads(
            20,
            lambda i: entry_post(
                idempotency_key=f"debit-{i}",
                postings=[
                    PostingSpec.debit(wallet.pk, 10, "GBP"),
                    PostingSpec.credit(clearing.pk, 10, "GBP"),
                ],
                memo=f"debit {i}",
            ),
        )
    finally:
        stop.set()
        watcher.join()

    assert Counter(kind(r) for r in results) == {"JournalEntry": 10, "InsufficientFunds": 10}
    assert all(isinstance(r, (JournalEntry, InsufficientFunds)) for r in results)
    assert account_balance(account_id=wallet.pk) == 0
    assert account_balance(account_id=clearing.pk) == 100
    assert seen
    assert min(seen) >= 0
    assert ledger_verify_report().ok


def test_the_same_key_posted_by_twenty_threads_makes_one_entry():
    wallet = chart.wallet_account(owner="profile:alice", currency="GBP")
    fund_wallet(wallet, 1_000)
    clearing = chart.transfer_clearing_account(currency="GBP")

    results = run_in_threads(
        20,
        lambda i: (
            entry_post(
                idempotency_key="transfer:T1:fund",
                postings=[
                    PostingSpec.debit(wallet.pk, 300, "GBP"),
                    PostingSpec.credit(clearing.pk, 300, "GBP"),
                ],
                memo="fund T1",
            ).pk
        ),
    )

    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert JournalEntry.objects.filter(idempotency_key="transfer:T1:fund").count() == 1
    assert account_balance(account_id=wallet.pk) == 700
    assert ledger_verify_report().ok


def test_posts_in_opposite_directions_between_two_accounts_never_deadlock():
    a = chart.funding_partner_account(partner="bank-a", currency="EUR")
    b = chart.payout_partner_account(partner="bank-b", currency="EUR")

    def work(i: int) -> int:
        src, dst = (a, b) if i % 2 else (b, a)
        for n in range(15):
            entry_post(
                idempotency_key=f"pingpong-{i}-{n}",
                postings=[
                    PostingSpec.debit(dst.pk, 7, "EUR"),
                    PostingSpec.credit(src.pk, 7, "EUR"),
                ],
                memo="ping-pong",
            )
        return n + 1

    results = run_in_threads(10, work)

    assert results == [15] * 10, [repr(r) for r in results if not isinstance(r, int)]
    assert account_balance(account_id=a.pk) == 0
    assert account_balance(account_id=b.pk) == 0
    call_command("ledger_verify")


def test_concurrent_get_or_open_makes_one_account():
    results = run_in_threads(
        20, lambda i: chart.wallet_account(owner="profile:race", currency="EUR").pk
    )
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Account.objects.filter(owner="profile:race").count() == 1


def test_concurrent_reversals_of_one_entry_make_one_reversal():
    wallet = chart.wallet_account(owner="profile:alice", currency="GBP")
    entry_id = fund_wallet(wallet, 500)

    results = run_in_threads(
        10, lambda i: entry_reverse(entry_id=entry_id, idempotency_key=f"rev-{i}", memo="undo")
    )

    assert Counter(kind(r) for r in results) == {"JournalEntry": 1, "AlreadyReversed": 9}
    assert all(isinstance(r, (JournalEntry, AlreadyReversed)) for r in results)
    assert account_balance(account_id=wallet.pk) == 0
