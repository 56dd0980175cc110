"""Each transfer step moves the money the ledger's chart says it does (docs/ledger.md),
in the same transaction as its transition."""

from collections.abc import Callable

import pytest

from fintech.core.errors import LedgerRefused
from fintech.core.models import OutboxEvent
from fintech.core.money import convert_minor
from fintech.transfers.models import Transfer
from fintech.transfers.postings import DEFAULT_PAYOUT_PARTNER
from fintech.wallets.selectors import wallet_owner
from fintech.wallets.services import DEFAULT_FUNDING_PARTNER
from ledger import chart
from ledger.selectors import account_balance, ledger_verify_report
from tests.builders import build_beneficiary, build_profile, build_wallet_funding
from tests.conftest import ALICE_OPENING_BALANCES
from tests.transfers.conftest import OPS, STEP, quote_for

pytestmark = pytest.mark.django_db


def balances(transfer: Transfer) -> dict[str, int]:
    src, tgt = transfer.source_currency, transfer.target_currency
    accounts = {
        "wallet": chart.wallet_account(owner=wallet_owner(transfer.profile_id), currency=src),
        "clearing src": chart.transfer_clearing_account(currency=src),
        "clearing tgt": chart.transfer_clearing_account(currency=tgt),
        "fees": chart.fee_revenue_account(currency=src),
        "margin": chart.fx_margin_revenue_account(currency=tgt),
        "fx src": chart.fx_position_account(currency=src),
        "fx tgt": chart.fx_position_account(currency=tgt),
        "payout": chart.payout_partner_account(partner=DEFAULT_PAYOUT_PARTNER, currency=tgt),
        "funding": chart.funding_partner_account(partner=DEFAULT_FUNDING_PARTNER, currency=src),
    }
    return {name: account_balance(account_id=a.pk) for name, a in accounts.items()}


def margin_of(transfer: Transfer) -> int:
    at_mid = convert_minor(
        transfer.source_amount_minor - transfer.fee_minor,
        rate=transfer.quote.mid_rate,
        source=transfer.source_currency,
        target=transfer.target_currency,
    )
    return at_mid - transfer.target_amount_minor


def step(transfer: Transfer, action: str) -> Transfer:
    STEP[action](actor=OPS, transfer_id=transfer.pk, reason=f"test {action}")
    transfer.refresh_from_db()
    return transfer


def assert_books_balance() -> None:
    report = ledger_verify_report()
    assert report.ok, report


@pytest.fixture
def opening(make_transfer) -> Callable[[], tuple[Transfer, dict[str, int]]]:
    def make() -> tuple[Transfer, dict[str, int]]:
        transfer = make_transfer("created")
        return transfer, balances(transfer)

    return make


def test_fund_moves_the_source_amount_from_wallet_to_clearing(opening) -> None:
    transfer, before = opening()
    assert before["wallet"] == ALICE_OPENING_BALANCES["GBP"]
    after = balances(step(transfer, "fund"))
    s = transfer.source_amount_minor
    assert after["wallet"] == before["wallet"] - s
    assert after["clearing src"] == before["clearing src"] + s
    assert_books_balance()
    # The entry is announced in the same transaction, with its ledger key.
    announced = OutboxEvent.objects.filter(
        type="ledger.entry.created", profile_id=transfer.profile_id
    ).values_list("payload__idempotency_key", flat=True)
    assert f"transfer:{transfer.reference}:fund" in list(announced)


def test_submit_converts_and_books_fee_and_margin(opening) -> None:
    transfer, before = opening()
    after = balances(step(step(transfer, "fund"), "submit"))
    s, f, t = transfer.source_amount_minor, transfer.fee_minor, transfer.target_amount_minor
    m = margin_of(transfer)
    assert f > 0
    assert m > 0
    assert after["clearing src"] == before["clearing src"]
    assert after["fees"] == before["fees"] + f
    assert after["fx src"] == before["fx src"] + (s - f)
    assert after["fx tgt"] == before["fx tgt"] - (t + m)
    assert after["margin"] == before["margin"] + m
    assert after["clearing tgt"] == before["clearing tgt"] + t
    assert_books_balance()


def test_complete_pays_out_from_the_partner_account(opening) -> None:
    transfer, before = opening()
    after = balances(step(step(step(transfer, "fund"), "submit"), "complete"))
    t = transfer.target_amount_minor
    assert after["clearing tgt"] == before["clearing tgt"]
    assert after["payout"] == before["payout"] - t
    assert after["wallet"] == before["wallet"] - transfer.source_amount_minor
    assert_books_balance()


@pytest.mark.parametrize(
    ("path", "end"),
    [
        (["fund", "submit", "fail"], "failed"),
        (["fund", "cancel"], "cancelled"),
        (["fund", "submit", "cancel"], "cancelled"),
        (["cancel"], "cancelled"),
    ],
)
def test_the_money_goes_back_to_the_wallet_in_full(opening, path, end) -> None:
    transfer, before = opening()
    for action in path:
        transfer = step(transfer, action)
    assert transfer.state == end
    after = balances(transfer)
    # Wallet whole again; fee, margin, positions and clearing all back where they were.
    assert after == before
    assert_books_balance()


@pytest.mark.parametrize("path", [["fund", "submit", "fail"], ["fund", "submit", "complete"]])
def test_a_refund_returns_the_money_to_the_payers_bank(opening, path) -> None:
    transfer, before = opening()
    for action in path:
        transfer = step(transfer, action)
    after = balances(step(transfer, "refund"))
    s = transfer.source_amount_minor
    assert after["wallet"] == before["wallet"] - s
    assert after["funding"] == before["funding"] - s
    for name in ("clearing src", "clearing tgt", "fees", "margin", "fx src", "fx tgt", "payout"):
        assert after[name] == before[name], name
    assert_books_balance()


def test_funding_without_enough_money_is_refused_and_nothing_moves() -> None:
    carol = build_profile(legal_name="Carol Imports Ltd")
    build_wallet_funding(profile=carol, currency="GBP", amount_minor=10_000)  # 100.00 GBP
    from fintech.transfers.services import transfer_create

    transfer = transfer_create(
        actor=OPS,
        profile=carol,
        quote_id=quote_for(carol, amount="250.00").pk,
        beneficiary_id=build_beneficiary(profile=carol, currency="EUR").pk,
        customer_transaction_id="INV-1",
    )
    before = balances(transfer)
    with pytest.raises(LedgerRefused) as refused:
        step(transfer, "fund")
    assert refused.value.code == "insufficient_funds"
    transfer.refresh_from_db()
    assert transfer.state == "created"
    assert transfer.transitions.count() == 1  # only "create"
    assert balances(transfer) == before


def test_a_retried_step_cannot_post_twice(opening) -> None:
    transfer, before = opening()
    step(transfer, "fund")
    from fintech.core.errors import TransitionNotAllowed

    with pytest.raises(TransitionNotAllowed):
        step(transfer, "fund")
    assert balances(transfer)["wallet"] == before["wallet"] - transfer.source_amount_minor
