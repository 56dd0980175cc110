"""Holds: reserve, then capture (post + release atomically) or void."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger import chart
from ledger.errors import HoldAmountExceeded, HoldNotActive, IdempotencyConflict
from ledger.models import Hold
from ledger.selectors import account_available_balance, account_balance, account_summary
from ledger.services import hold_capture, hold_place, hold_void, holds_expire
from tests.ledger.conftest import ledger_counts

pytestmark = pytest.mark.django_db


def test_a_hold_lowers_the_available_balance_not_the_posted_one(alice_wallets):
    hold_place(account_id=alice_wallets.gbp.pk, amount_minor=30_000, idempotency_key="h")

    summary = account_summary(account_id=alice_wallets.gbp.pk)
    assert (summary.posted_minor, summary.held_minor, summary.available_minor) == (
        100_000,
        30_000,
        70_000,
    )


def test_placing_the_same_hold_twice_returns_the_first(alice_wallets):
    first = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=100, idempotency_key="h")
    before = ledger_counts()
    again = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=100, idempotency_key="h")
    assert again.pk == first.pk
    assert ledger_counts() == before
    with pytest.raises(IdempotencyConflict):
        hold_place(account_id=alice_wallets.gbp.pk, amount_minor=101, idempotency_key="h")


def test_capture_posts_the_entry_and_releases_the_hold_together(alice_wallets, check_deferred):
    clearing = chart.transfer_clearing_account(currency="GBP")
    hold = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=30_000, idempotency_key="h")

    entry = hold_capture(
        hold_id=hold.pk, to_account_id=clearing.pk, idempotency_key="h:capture", memo="fund"
    )
    check_deferred()

    hold.refresh_from_db()
    assert hold.status == Hold.Status.CAPTURED
    assert hold.capture_entry_id == entry.pk
    summary = account_summary(account_id=alice_wallets.gbp.pk)
    assert (summary.posted_minor, summary.held_minor, summary.available_minor) == (
        70_000,
        0,
        70_000,
    )
    assert account_balance(account_id=clearing.pk) == 30_000
    # A retry of the capture returns the same entry.
    assert (
        hold_capture(
            hold_id=hold.pk, to_account_id=clearing.pk, idempotency_key="h:capture", memo="fund"
        ).pk
        == entry.pk
    )


def test_a_partial_capture_releases_the_rest(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    hold = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=30_000, idempotency_key="h")
    hold_capture(
        hold_id=hold.pk,
        to_account_id=clearing.pk,
        idempotency_key="c",
        memo="x",
        amount_minor=10_000,
    )
    assert account_available_balance(account_id=alice_wallets.gbp.pk) == 90_000


def test_a_capture_above_the_hold_is_refused(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    hold = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=100, idempotency_key="h")
    before = ledger_counts()
    with pytest.raises(HoldAmountExceeded):
        hold_capture(
            hold_id=hold.pk,
            to_account_id=clearing.pk,
            idempotency_key="c",
            memo="x",
            amount_minor=101,
        )
    assert ledger_counts() == before


def test_void_releases_and_a_voided_hold_cannot_be_captured(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    hold = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=500, idempotency_key="h")

    hold_void(hold_id=hold.pk, reason="customer cancelled")
    assert hold_void(hold_id=hold.pk).status == Hold.Status.VOIDED  # idempotent

    assert account_available_balance(account_id=alice_wallets.gbp.pk) == 100_000
    with pytest.raises(HoldNotActive):
        hold_capture(hold_id=hold.pk, to_account_id=clearing.pk, idempotency_key="c", memo="x")


def test_a_captured_hold_cannot_be_voided(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    hold = hold_place(account_id=alice_wallets.gbp.pk, amount_minor=500, idempotency_key="h")
    hold_capture(hold_id=hold.pk, to_account_id=clearing.pk, idempotency_key="c", memo="x")
    with pytest.raises(HoldNotActive):
        hold_void(hold_id=hold.pk)


def test_expired_holds_are_released_by_the_sweeper_and_cannot_be_captured(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    past = timezone.now() - timedelta(minutes=1)
    hold = hold_place(
        account_id=alice_wallets.gbp.pk, amount_minor=500, idempotency_key="h", expires_at=past
    )
    with pytest.raises(HoldNotActive):
        hold_capture(hold_id=hold.pk, to_account_id=clearing.pk, idempotency_key="c", memo="x")

    assert holds_expire() == 1

    assert account_available_balance(account_id=alice_wallets.gbp.pk) == 100_000
    hold.refresh_from_db()
    assert hold.status == Hold.Status.VOIDED
