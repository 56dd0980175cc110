"""The worked example of docs/ledger.md: alice sends 1,000.00 GBP (fee 5.00) to EUR at mid
1.15 with a 50 bp margin; the beneficiary receives 1,138.53 EUR and we keep 5.72 EUR margin.
One test per step, as accounting scenarios: each checks every balance the step moves."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from ledger import chart
from ledger import transfer_postings as flows
from ledger.selectors import account_balance, entry_postings, ledger_verify_report

pytestmark = pytest.mark.django_db

ALICE = "profile:alice"


def to_minor(major: Decimal) -> int:
    return int((major * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


SOURCE = 100_000  # 1,000.00 GBP paid by alice, fee included
FEE = 500  # 5.00 GBP
MID = Decimal("1.15")
CUSTOMER_RATE = MID * (1 - Decimal("0.0050"))  # 50 bp margin: 1.14425
TARGET = to_minor(Decimal(SOURCE - FEE) / 100 * CUSTOMER_RATE)  # 995.00 * 1.14425 -> 1138.53
MARGIN = to_minor(Decimal(SOURCE - FEE) / 100 * MID) - TARGET  # 1144.25 - 1138.53 = 5.72

T1 = flows.TransferMoney(
    reference="T1",
    owner=ALICE,
    source_currency="GBP",
    source_minor=SOURCE,
    fee_minor=FEE,
    target_currency="EUR",
    target_minor=TARGET,
    margin_minor=MARGIN,
    funding_partner="bank-gb",
    payout_partner="payout-eu",
)


def balances() -> dict[str, int]:
    codes = {
        "wallet": chart.wallet_account(owner=ALICE, currency="GBP"),
        "funding GBP": chart.funding_partner_account(partner="bank-gb", currency="GBP"),
        "clearing GBP": chart.transfer_clearing_account(currency="GBP"),
        "clearing EUR": chart.transfer_clearing_account(currency="EUR"),
        "fx GBP": chart.fx_position_account(currency="GBP"),
        "fx EUR": chart.fx_position_account(currency="EUR"),
        "fees GBP": chart.fee_revenue_account(currency="GBP"),
        "margin EUR": chart.fx_margin_revenue_account(currency="EUR"),
        "payout EUR": chart.payout_partner_account(partner="payout-eu", currency="EUR"),
    }
    return {name: account_balance(account_id=a.pk) for name, a in codes.items()}


ZERO = dict.fromkeys(
    [
        "wallet",
        "funding GBP",
        "clearing GBP",
        "clearing EUR",
        "fx GBP",
        "fx EUR",
        "fees GBP",
        "margin EUR",
        "payout EUR",
    ],
    0,
)


@pytest.fixture
def funded_wallet(db):
    flows.wallet_fund(owner=ALICE, currency="GBP", amount_minor=SOURCE, partner="bank-gb", key="w1")


def test_the_example_numbers():
    assert (TARGET, MARGIN) == (113_853, 572)


def test_wallet_funding(funded_wallet, check_deferred):
    check_deferred()
    assert balances() == {**ZERO, "funding GBP": 100_000, "wallet": 100_000}


def test_transfer_funded_from_the_wallet(funded_wallet):
    flows.fund(T1)
    assert balances() == {**ZERO, "funding GBP": 100_000, "clearing GBP": 100_000}


def test_submitted_for_payout_converts_through_fx_positions(funded_wallet, check_deferred):
    flows.fund(T1)
    entry = flows.submit(T1)
    check_deferred()

    assert sorted(entry_postings(entry_id=entry.pk)) == sorted(
        [
            ("clearing:transfers:GBP", "GBP", 100_000, 0),
            ("fx:position:GBP", "GBP", 0, 99_500),
            ("revenue:fees:GBP", "GBP", 0, 500),
            ("fx:position:EUR", "EUR", 114_425, 0),
            ("clearing:transfers:EUR", "EUR", 0, 113_853),
            ("revenue:fx-margin:EUR", "EUR", 0, 572),
        ]
    )
    assert balances() == {
        **ZERO,
        "funding GBP": 100_000,
        "fx GBP": 99_500,
        "fees GBP": 500,
        "fx EUR": -114_425,
        "clearing EUR": 113_853,
        "margin EUR": 572,
    }


def test_completed_pays_out_from_the_payout_partner(funded_wallet):
    flows.fund(T1)
    flows.submit(T1)
    flows.complete(T1)
    assert balances() == {
        **ZERO,
        "funding GBP": 100_000,
        "fx GBP": 99_500,
        "fees GBP": 500,
        "fx EUR": -114_425,
        "margin EUR": 572,
        "payout EUR": -113_853,
    }
    assert ledger_verify_report().ok


def test_failed_unwinds_the_conversion_and_returns_everything_to_the_wallet(funded_wallet):
    flows.fund(T1)
    flows.submit(T1)
    flows.fail(T1)
    assert balances() == {**ZERO, "funding GBP": 100_000, "wallet": 100_000}


def test_cancelled_before_submit_returns_the_money(funded_wallet):
    flows.fund(T1)
    flows.cancel(T1, submitted=False)
    assert balances() == {**ZERO, "funding GBP": 100_000, "wallet": 100_000}


def test_cancelled_while_processing_unwinds_the_conversion(funded_wallet):
    flows.fund(T1)
    flows.submit(T1)
    flows.cancel(T1, submitted=True)
    assert balances() == {**ZERO, "funding GBP": 100_000, "wallet": 100_000}


def test_refunded_after_failure_pays_the_wallet_back_to_the_payers_bank(funded_wallet):
    flows.fund(T1)
    flows.submit(T1)
    flows.fail(T1)
    flows.refund(T1, completed=False)
    assert balances() == ZERO


def test_refunded_after_completion_unwinds_everything_to_the_payers_bank(funded_wallet):
    flows.fund(T1)
    flows.submit(T1)
    flows.complete(T1)
    flows.refund(T1, completed=True)
    assert balances() == ZERO
    assert ledger_verify_report().ok


def test_a_negative_margin_is_booked_as_a_loss(funded_wallet, check_deferred):
    # A tiny fixed-target transfer can round in the customer's favour: at mid the converted
    # amount is worth 1 minor unit less than the beneficiary gets. The books show that loss.
    tiny = replace(T1, reference="T-tiny", target_minor=100, margin_minor=-1)
    flows.fund(tiny)
    flows.submit(tiny)
    check_deferred()
    after = balances()
    assert after["margin EUR"] == -1
    assert after["fx EUR"] == -99  # the target bought at its mid value
    assert after["clearing EUR"] == 100
