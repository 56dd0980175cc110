"""Concurrency on real PostgreSQL: two workers can never both move the same transfer.

Each worker is a real thread with its own database connection (closed when it ends). The
barrier races start the two calls at the same moment and are repeated; the "waits" tests make
the overlap certain by holding the first transaction open until PostgreSQL reports the second
one blocked on it.
"""

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from fintech.core.errors import Conflict, TransitionNotAllowed
from fintech.transfers.models import Transfer, TransferTransition
from fintech.transfers.services import transfer_create
from tests.transfers.conftest import ALICE, OPS, STEP, quote_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROUNDS = range(5)


def run_at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, released together; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def worker(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i] = call()
        except Exception as exc:  # the outcome is what the test inspects
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def in_background(call: Callable[[], Any]) -> tuple[threading.Thread, queue.Queue, dict]:
    """Start `call` in a thread; it first reports its PostgreSQL backend pid on the queue."""
    pids: queue.Queue = queue.Queue()
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.put(cursor.fetchone()[0])
            outcome["result"] = call()
        except Exception as exc:
            outcome["result"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    return thread, pids, outcome


def wait_until_blocked(pid: int) -> None:
    """Poll PostgreSQL until backend `pid` waits on a lock held by another backend.

    A bounded safety loop, not a timing assumption: it returns as soon as PostgreSQL says so.
    """
    for _ in range(6000):
        with connection.cursor() as cursor:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s))", [pid])
            if cursor.fetchone()[0] > 0:
                return
        time.sleep(0.005)
    pytest.fail(f"backend {pid} never blocked on a lock")


def timeline(transfer: Transfer) -> list[tuple[str, str, str]]:
    return list(
        TransferTransition.objects.filter(transfer=transfer)
        .order_by("occurred_at", "id")
        .values_list("transition", "source_state", "target_state")
    )


def split(outcomes: list[Any]) -> tuple[list[Transfer], list[Exception]]:
    wins = [o for o in outcomes if isinstance(o, Transfer)]
    losses = [o for o in outcomes if isinstance(o, Exception)]
    return wins, losses


@pytest.mark.parametrize("round_", ROUNDS)
def test_complete_and_fail_at_once_exactly_one_wins(make_transfer, round_) -> None:
    transfer = make_transfer("processing")
    before = TransferTransition.objects.filter(transfer=transfer).count()
    outcomes = run_at_once(
        lambda: STEP["complete"](actor=OPS, transfer_id=transfer.pk, reason="partner: paid"),
        lambda: STEP["fail"](actor=OPS, transfer_id=transfer.pk, reason="partner: rejected"),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1
    assert len(losses) == 1
    assert isinstance(losses[0], TransitionNotAllowed), losses
    transfer.refresh_from_db()
    assert transfer.state == wins[0].state
    assert TransferTransition.objects.filter(transfer=transfer).count() == before + 1


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_double_submit_moves_the_transfer_once(make_transfer, round_) -> None:
    transfer = make_transfer("funded")
    outcomes = run_at_once(
        lambda: STEP["submit"](actor=OPS, transfer_id=transfer.pk),
        lambda: STEP["submit"](actor=OPS, transfer_id=transfer.pk),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1
    assert [type(e) for e in losses] == [TransitionNotAllowed]
    assert [t for t in timeline(transfer) if t[0] == "submit"] == [
        ("submit", "funded", "processing")
    ]


@pytest.mark.parametrize("round_", ROUNDS)
def test_cancel_and_complete_at_once_exactly_one_wins(make_transfer, round_) -> None:
    transfer = make_transfer("processing")
    before = TransferTransition.objects.filter(transfer=transfer).count()
    outcomes = run_at_once(
        lambda: STEP["cancel"](actor=OPS, transfer_id=transfer.pk, reason="customer asked"),
        lambda: STEP["complete"](actor=OPS, transfer_id=transfer.pk),
    )
    wins, losses = split(outcomes)
    assert len(wins) == 1
    assert [type(e) for e in losses] == [TransitionNotAllowed]
    assert TransferTransition.objects.filter(transfer=transfer).count() == before + 1


@pytest.mark.parametrize("round_", ROUNDS)
def test_cancel_and_submit_at_once_on_a_funded_transfer_serialise(make_transfer, round_) -> None:
    """Cancel is legal from funded AND from processing (before payout). So the two orders are:
    cancel first -> submit refused (one transition); or submit first -> cancel then cancels the
    processing transfer (two transitions, each from the state the other left). Never both from
    "funded", never a lost update."""
    transfer = make_transfer("funded")
    before = timeline(transfer)
    cancel, submit = run_at_once(
        lambda: STEP["cancel"](actor=OPS, transfer_id=transfer.pk, reason="customer asked"),
        lambda: STEP["submit"](actor=OPS, transfer_id=transfer.pk),
    )
    transfer.refresh_from_db()
    assert transfer.state == "cancelled"
    assert isinstance(cancel, Transfer)
    new = timeline(transfer)[len(before) :]
    if isinstance(submit, Exception):
        assert isinstance(submit, TransitionNotAllowed)
        assert "cancelled" in submit.message
        assert new == [("cancel", "funded", "cancelled")]
    else:
        assert new == [("submit", "funded", "processing"), ("cancel", "processing", "cancelled")]


def test_a_second_worker_waits_for_the_row_lock_then_sees_the_new_state(make_transfer) -> None:
    transfer = make_transfer("funded")
    with transaction.atomic():
        # The first worker has cancelled but not committed: it holds the row lock.
        STEP["cancel"](actor=OPS, transfer_id=transfer.pk, reason="customer asked")
        thread, pids, outcome = in_background(
            lambda: STEP["submit"](actor=OPS, transfer_id=transfer.pk)
        )
        wait_until_blocked(pids.get(timeout=30))
    thread.join(timeout=60)
    # It judged the committed state ("cancelled"), not the one it would have read unlocked.
    assert isinstance(outcome["result"], TransitionNotAllowed), outcome
    assert "cancelled" in outcome["result"].message
    assert timeline(transfer)[-1] == ("cancel", "funded", "cancelled")
    assert TransferTransition.objects.filter(transfer=transfer, transition="submit").count() == 0


def test_two_requests_spending_one_quote_get_one_transfer(alice, alice_eur) -> None:
    quote = quote_for(alice)

    def second() -> Transfer:
        return transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote.pk,
            beneficiary_id=alice_eur.pk,
            customer_transaction_id="INV-B",
        )

    with transaction.atomic():
        transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=quote.pk,
            beneficiary_id=alice_eur.pk,
            customer_transaction_id="INV-A",
        )
        thread, pids, outcome = in_background(second)
        wait_until_blocked(pids.get(timeout=30))
    thread.join(timeout=60)
    assert isinstance(outcome["result"], Conflict), outcome
    assert [f.code for f in outcome["result"].fields] == ["quote_already_used"]
    assert Transfer.objects.filter(quote=quote).count() == 1


def test_a_customer_transaction_id_raced_past_the_check_is_a_conflict(alice, alice_eur) -> None:
    """The second request checks before the first commits, so only the unique index can stop
    it: its INSERT waits on the index, then fails, and that IntegrityError becomes a Conflict."""
    first_quote, second_quote = quote_for(alice), quote_for(alice)

    def second() -> Transfer:
        return transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=second_quote.pk,
            beneficiary_id=alice_eur.pk,
            customer_transaction_id="INV-RACE",
        )

    with transaction.atomic():
        first = transfer_create(
            actor=ALICE,
            profile=alice,
            quote_id=first_quote.pk,
            beneficiary_id=alice_eur.pk,
            customer_transaction_id="INV-RACE",
        )
        thread, pids, outcome = in_background(second)
        wait_until_blocked(pids.get(timeout=30))
    thread.join(timeout=60)
    result = outcome["result"]
    assert isinstance(result, Conflict), outcome
    assert [(f.field, f.code) for f in result.fields] == [
        ("customer_transaction_id", "duplicate_customer_transaction_id")
    ]
    assert first.reference in result.message
    assert Transfer.objects.filter(customer_transaction_id="INV-RACE").count() == 1
    assert not Transfer.objects.filter(quote=second_quote).exists()
