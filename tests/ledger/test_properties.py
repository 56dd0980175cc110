"""Property tests: random sequences of ledger operations and transfer lifecycles.

Whatever the sequence, after every step: every entry balances per currency (the deferred
database trigger fires, and the verifier agrees), every stored balance equals the sum of
its postings, held amounts equal active holds, and no wallet goes below zero. A refusal
for insufficient funds happens exactly when the amount exceeds what is available.
"""

from __future__ import annotations

import contextlib
import itertools

from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import chart
from ledger import transfer_postings as flows
from ledger.errors import (
    AlreadyReversed,
    HoldNotActive,
    InsufficientFunds,
    ReversalOfReversal,
)
from ledger.models import Hold
from ledger.selectors import account_available_balance, ledger_verify_report
from ledger.services import (
    PostingSpec,
    entry_post,
    entry_reverse,
    hold_capture,
    hold_place,
    hold_void,
)

OWNERS = ["profile:alice", "profile:bob"]
CURRENCIES = ["GBP", "EUR", "JPY"]

amounts = st.integers(min_value=1, max_value=50_000)
wallet_ref = st.tuples(st.sampled_from(OWNERS), st.sampled_from(CURRENCIES))
operations = st.one_of(
    st.tuples(st.just("fund"), wallet_ref, amounts),
    st.tuples(st.just("spend"), wallet_ref, amounts),
    st.tuples(st.just("hold"), wallet_ref, amounts),
    st.tuples(st.just("capture"), st.integers(0, 9), st.none()),
    st.tuples(st.just("void"), st.integers(0, 9), st.none()),
    st.tuples(st.just("reverse"), st.integers(0, 30), st.none()),
    st.tuples(
        st.just("transfer"),
        st.tuples(st.sampled_from(OWNERS), st.sampled_from(["GBP->EUR", "EUR->JPY"])),
        st.tuples(
            amounts,
            st.sampled_from(
                ["funded", "processing", "completed", "failed", "cancelled", "refunded"]
            ),
        ),
    ),
)


def assert_books_hold() -> None:
    with connection.cursor() as cursor:  # fire the deferred balance triggers now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    report = ledger_verify_report()
    assert report.ok, report.discrepancies


def run_transfer(ref: str, owner: str, pair: str, amount: int, end: str) -> None:
    src, tgt = pair.split("->")
    fee = amount // 100
    target = (amount - fee) * 3 // 2
    margin = (amount - fee) // 200
    t = flows.TransferMoney(
        reference=ref,
        owner=owner,
        source_currency=src,
        source_minor=amount,
        fee_minor=fee,
        target_currency=tgt,
        target_minor=target,
        margin_minor=margin,
        funding_partner="bank-gb",
        payout_partner="payout-eu",
    )
    flows.fund(t)
    if end == "cancelled":
        flows.cancel(t, submitted=False)
    if end in {"funded", "cancelled"}:
        return
    flows.submit(t)
    if end == "completed":
        flows.complete(t)
    elif end == "failed":
        flows.fail(t)
    elif end == "refunded":
        flows.fail(t)
        flows.refund(t, completed=False)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=1, max_size=20))
def test_random_operations_keep_the_books_balanced(django_db_setup, django_db_blocker, steps):
    with django_db_blocker.unblock(), transaction.atomic():
        run_steps(steps)
        transaction.set_rollback(True)  # each example starts from an empty ledger


def run_steps(steps) -> None:
    keys = itertools.count()
    entries: list[int] = []
    holds: list[int] = []
    for op, arg, extra in steps:
        key = f"p{next(keys)}"
        if op in {"fund", "spend", "hold"}:
            owner, currency = arg
            wallet = chart.wallet_account(owner=owner, currency=currency)
            available = account_available_balance(account_id=wallet.pk)
            if op == "fund":
                entries.append(
                    flows.wallet_fund(
                        owner=owner, currency=currency, amount_minor=extra,
                        partner="bank", key=key,
                    ).pk
                )  # fmt: skip
            else:
                try:
                    if op == "spend":
                        clearing = chart.transfer_clearing_account(currency=currency)
                        legs = [
                            PostingSpec.debit(wallet.pk, extra, currency),
                            PostingSpec.credit(clearing.pk, extra, currency),
                        ]
                        entries.append(entry_post(idempotency_key=key, postings=legs, memo=op).pk)
                    else:
                        hold = hold_place(
                            account_id=wallet.pk, amount_minor=extra, idempotency_key=key
                        )
                        holds.append(hold.pk)
                    assert extra <= available
                except InsufficientFunds:
                    assert extra > available
        elif op in {"capture", "void"} and holds:
            hold = Hold.objects.select_related("account").get(pk=holds[arg % len(holds)])
            try:
                if op == "capture":
                    clearing = chart.transfer_clearing_account(currency=hold.account.currency)
                    captured = hold_capture(
                        hold_id=hold.pk, to_account_id=clearing.pk, idempotency_key=key, memo="c"
                    )
                    entries.append(captured.pk)
                else:
                    hold_void(hold_id=hold.pk)
                assert hold.status == Hold.Status.ACTIVE or op == "void"
            except HoldNotActive:
                assert hold.status != Hold.Status.ACTIVE
        elif op == "reverse" and entries:
            with contextlib.suppress(AlreadyReversed, ReversalOfReversal, InsufficientFunds):
                entry_reverse(entry_id=entries[arg % len(entries)], idempotency_key=key, memo="r")
        elif op == "transfer":
            owner, pair = arg
            amount, end = extra
            src = pair.split("->")[0]
            wallet = chart.wallet_account(owner=owner, currency=src)
            available = account_available_balance(account_id=wallet.pk)
            try:
                run_transfer(key, owner, pair, amount, end)
                assert amount <= available
            except InsufficientFunds:
                assert amount > available
        assert_books_hold()
