"""Every bad input of issue 3 raises its typed ledger error, and nothing is written."""

from __future__ import annotations

import pytest

from ledger import chart, errors
from ledger.services import (
    PostingSpec,
    account_close,
    account_open,
    entry_post,
    entry_reverse,
    hold_place,
)
from tests.ledger.conftest import ledger_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(alice_wallets, bob_wallet):
    closed = account_open(
        code="wallet:profile:carol:GBP", name="Carol", type="liability", currency="GBP"
    )
    account_close(account_id=closed.pk)
    return {
        "alice_gbp": alice_wallets.gbp.pk,
        "alice_eur": alice_wallets.eur.pk,
        "bob_gbp": bob_wallet.pk,
        "clearing": chart.transfer_clearing_account(currency="GBP").pk,
        "closed": closed.pk,
    }


def D(account: int, amount: int, currency: str = "GBP") -> PostingSpec:
    return PostingSpec.debit(account, amount, currency)


def C(account: int, amount: int, currency: str = "GBP") -> PostingSpec:
    return PostingSpec.credit(account, amount, currency)


BAD_ENTRIES = {
    "unbalanced": (
        lambda a: [D(a["alice_gbp"], 100), C(a["clearing"], 99)],
        errors.UnbalancedEntry,
        "unbalanced_entry",
    ),
    "a single posting": (lambda a: [D(a["alice_gbp"], 100)], errors.UnbalancedEntry, None),
    "no postings": (lambda a: [], errors.UnbalancedEntry, None),
    "zero amount": (
        lambda a: [D(a["alice_gbp"], 0), C(a["clearing"], 0)],
        errors.ZeroOrNegativeAmount,
        "amount_not_positive",
    ),
    "negative amount": (
        lambda a: [D(a["alice_gbp"], -100), C(a["clearing"], -100)],
        errors.ZeroOrNegativeAmount,
        None,
    ),
    "both sides on one posting": (
        lambda a: [
            PostingSpec(a["alice_gbp"], "GBP", debit_minor=100, credit_minor=100),
            C(a["clearing"], 0 + 1),
        ],
        errors.InvalidPosting,
        None,
    ),
    "a float amount": (
        lambda a: [D(a["alice_gbp"], 1.5), C(a["clearing"], 1.5)],
        errors.ZeroOrNegativeAmount,
        None,
    ),
    "mixed currency (GBP debit, EUR credit)": (
        lambda a: [D(a["alice_gbp"], 100), C(a["alice_eur"], 100, "EUR")],
        errors.MixedCurrency,
        "mixed_currency",
    ),
    "posting currency differs from the account's": (
        lambda a: [D(a["alice_gbp"], 100, "EUR"), C(a["alice_eur"], 100, "EUR")],
        errors.CurrencyMismatch,
        "currency_mismatch",
    ),
    "not an ISO 4217 currency": (
        lambda a: [D(a["alice_gbp"], 100, "ZZZ"), C(a["clearing"], 100, "ZZZ")],
        errors.InvalidCurrency,
        None,
    ),
    "unknown account": (
        lambda a: [D(a["alice_gbp"], 100), C(999_999_999, 100)],
        errors.UnknownAccount,
        "unknown_account",
    ),
    "closed account": (
        lambda a: [D(a["alice_gbp"], 100), C(a["closed"], 100)],
        errors.AccountClosed,
        "account_closed",
    ),
    "overdrawing a wallet": (
        lambda a: [D(a["bob_gbp"], 1), C(a["clearing"], 1)],
        errors.InsufficientFunds,
        "insufficient_funds",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_a_bad_entry_raises_its_typed_error_and_writes_nothing(accounts, case):
    build, error, code = BAD_ENTRIES[case]
    before = ledger_counts()

    with pytest.raises(error) as excinfo:
        entry_post(idempotency_key=f"bad:{case}", postings=build(accounts), memo=case)

    assert isinstance(excinfo.value, errors.LedgerError)
    assert excinfo.value.message
    if code:
        assert excinfo.value.code == code
    assert ledger_counts() == before


def test_a_reversal_of_a_reversal_is_refused_and_writes_nothing(accounts):
    entry = entry_post(
        idempotency_key="e",
        postings=[D(accounts["alice_gbp"], 100), C(accounts["clearing"], 100)],
        memo="x",
    )
    reversal = entry_reverse(entry_id=entry.pk, idempotency_key="e:rev", memo="undo")
    before = ledger_counts()

    with pytest.raises(errors.ReversalOfReversal) as excinfo:
        entry_reverse(entry_id=reversal.pk, idempotency_key="e:rev:rev", memo="undo the undo")

    assert excinfo.value.code == "reversal_of_reversal"
    assert ledger_counts() == before


def test_a_second_reversal_is_refused_and_writes_nothing(accounts):
    entry = entry_post(
        idempotency_key="e2",
        postings=[D(accounts["alice_gbp"], 100), C(accounts["clearing"], 100)],
        memo="x",
    )
    entry_reverse(entry_id=entry.pk, idempotency_key="e2:rev", memo="undo")
    before = ledger_counts()
    with pytest.raises(errors.AlreadyReversed):
        entry_reverse(entry_id=entry.pk, idempotency_key="e2:rev-again", memo="undo again")
    assert ledger_counts() == before


def test_a_hold_larger_than_the_available_balance_is_refused_and_writes_nothing(accounts):
    hold_place(account_id=accounts["alice_gbp"], amount_minor=60_000, idempotency_key="h1")
    before = ledger_counts()

    with pytest.raises(errors.InsufficientFunds) as excinfo:
        hold_place(account_id=accounts["alice_gbp"], amount_minor=40_001, idempotency_key="h2")

    assert "40001" in excinfo.value.message
    assert excinfo.value.details["available_minor"] == 40_000
    assert ledger_counts() == before


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"amount_minor": 0}, errors.ZeroOrNegativeAmount),
        ({"amount_minor": -5}, errors.ZeroOrNegativeAmount),
        ({"account_id": 999_999_999}, errors.UnknownAccount),
    ],
)
def test_a_bad_hold_raises_its_typed_error(accounts, kwargs, error):
    before = ledger_counts()
    arguments = {"account_id": accounts["alice_gbp"], "amount_minor": 10, "idempotency_key": "h"}
    with pytest.raises(error):
        hold_place(**{**arguments, **kwargs})
    assert ledger_counts() == before


def test_a_hold_on_a_closed_account_is_refused(accounts):
    with pytest.raises(errors.AccountClosed):
        hold_place(account_id=accounts["closed"], amount_minor=1, idempotency_key="h-closed")
