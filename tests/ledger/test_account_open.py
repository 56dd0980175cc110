"""Opening and closing accounts."""

from __future__ import annotations

import pytest

from ledger import errors
from ledger.models import Account
from ledger.selectors import account_balance
from ledger.services import (
    PostingSpec,
    account_close,
    account_get_or_open,
    account_open,
    entry_post,
)

pytestmark = pytest.mark.django_db


def test_it_opens_an_account_with_a_zero_balance():
    account = account_open(
        code="expense:bank-fees:JPY", name="Bank fees", type="expense", currency="JPY"
    )
    assert account.status == Account.Status.OPEN
    assert account_balance(account_id=account.pk) == 0


def test_a_taken_code_is_refused():
    account_open(code="x:GBP", name="x", type="asset", currency="GBP")
    with pytest.raises(errors.AccountExists):
        account_open(code="x:GBP", name="x", type="asset", currency="GBP")


def test_get_or_open_refuses_the_same_code_with_other_attributes():
    first = account_get_or_open(code="y:GBP", name="y", type="asset", currency="GBP")
    assert account_get_or_open(code="y:GBP", name="y", type="asset", currency="GBP") == first
    with pytest.raises(errors.AccountExists):
        account_get_or_open(code="y:GBP", name="y", type="liability", currency="GBP")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"currency": "gbp"}, errors.InvalidCurrency),
        ({"currency": "ZZZ"}, errors.InvalidCurrency),
        ({"currency": "XXX"}, errors.InvalidCurrency),  # ISO code with no minor unit
        ({"type": "cash"}, errors.LedgerError),
        ({"code": ""}, errors.LedgerError),
    ],
)
def test_bad_attributes_are_refused(kwargs, error):
    with pytest.raises(error):
        account_open(**{"code": "z", "name": "z", "type": "asset", "currency": "GBP", **kwargs})
    assert not Account.objects.exists()


def test_only_an_empty_account_can_be_closed(alice_wallets):
    with pytest.raises(errors.AccountNotEmpty):
        account_close(account_id=alice_wallets.gbp.pk)

    empty = account_open(code="e:GBP", name="e", type="liability", currency="GBP")
    closed = account_close(account_id=empty.pk)
    assert closed.status == Account.Status.CLOSED
    assert account_close(account_id=empty.pk).status == Account.Status.CLOSED  # idempotent
    with pytest.raises(errors.AccountClosed):
        entry_post(
            idempotency_key="to-closed",
            postings=[
                PostingSpec.debit(alice_wallets.gbp.pk, 1, "GBP"),
                PostingSpec.credit(empty.pk, 1, "GBP"),
            ],
            memo="x",
        )


def test_closing_an_unknown_account_is_refused():
    with pytest.raises(errors.UnknownAccount):
        account_close(account_id=987654321)
