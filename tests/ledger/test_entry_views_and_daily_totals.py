"""Reads for readers outside the ledger: an entry and its postings as plain values, and each
UTC day's postings summed per (currency, group of accounts) in one streamed query."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger import chart
from ledger import transfer_postings as flows
from ledger.selectors import (
    DayTotals,
    daily_totals,
    entries_by_idempotency_keys,
    entry_ids_on_day,
    entry_view,
)
from ledger.services import PostingSpec, entry_post
from tests.ledger.conftest import ALICE, fund_wallet, key

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)
LATE = dt.datetime(2026, 4, 1, 23, 59, 59, tzinfo=dt.UTC)
NEXT_DAY = dt.datetime(2026, 4, 2, 0, 0, tzinfo=dt.UTC)
GROUPS = [("wallet:", "wallets"), ("funding:", "banks"), ("revenue:", "revenue")]


def post(debit, credit, amount: int, at: dt.datetime, currency: str = "GBP") -> int:
    entry = entry_post(
        idempotency_key=key("daily"),
        postings=[
            PostingSpec.debit(debit.pk, amount, currency),
            PostingSpec.credit(credit.pk, amount, currency),
        ],
        memo="test",
        effective_at=at,
    )
    return int(entry.pk)


def test_entry_view_is_the_entry_and_its_postings(alice_wallets) -> None:
    entry_id = fund_wallet(alice_wallets.gbp, 2_500)
    view = entry_view(entry_id=entry_id)
    assert view is not None
    assert [(p.account_code, p.currency, p.debit_minor, p.credit_minor) for p in view.postings] == [
        ("funding:bank-gb:GBP", "GBP", 2_500, 0),
        (f"wallet:{ALICE}:GBP", "GBP", 0, 2_500),
    ]
    assert view.net_credit(code_prefix="wallet:") == 2_500
    assert view.net_credit(code_prefix="funding:") == -2_500
    assert entry_view(entry_id=entry_id + 1_000) is None


def test_entries_by_keys_finds_those_that_exist_oldest_first(alice_wallets) -> None:
    money = flows.TransferMoney(
        reference="TRVIEW",
        owner=ALICE,
        source_currency="GBP",
        source_minor=10_000,
        fee_minor=50,
        target_currency="EUR",
        target_minor=11_000,
        margin_minor=44,
        funding_partner="bank-gb",
        payout_partner="payout-eu",
    )
    fund, submit = flows.fund(money), flows.submit(money)
    views = entries_by_idempotency_keys(
        idempotency_keys=[money.key(s) for s in ("submit", "complete", "fund")]
    )
    assert [v.id for v in views] == [fund.pk, submit.pk]
    assert views[1].net_credit(code_prefix="revenue:fees:") == 50
    assert views[1].net_credit(code_prefix="revenue:fx-margin:") == 44


def test_daily_totals_sum_per_day_currency_and_group(alice_wallets) -> None:
    gbp_bank = chart.funding_partner_account(partner="bank-gb", currency="GBP")
    eur_bank = chart.funding_partner_account(partner="bank-eu", currency="EUR")
    fees = chart.fee_revenue_account(currency="GBP")
    a = post(gbp_bank, alice_wallets.gbp, 1_000, MORNING)
    b = post(alice_wallets.gbp, fees, 30, LATE)
    c = post(eur_bank, alice_wallets.eur, 700, LATE, "EUR")
    d = post(gbp_bank, alice_wallets.gbp, 5, NEXT_DAY)

    day = MORNING.date()
    totals = list(daily_totals(start=day, end=day, groups=GROUPS))

    assert totals == [
        DayTotals(day, "EUR", 1, (("banks", 700, 0), ("wallets", 0, 700))),
        DayTotals(day, "GBP", 2, (("banks", 1_000, 0), ("revenue", 0, 30), ("wallets", 30, 1_000))),
    ]
    assert list(entry_ids_on_day(day=day, currency="GBP")) == [a, b]
    assert list(entry_ids_on_day(day=day, currency="EUR")) == [c]
    assert list(entry_ids_on_day(day=NEXT_DAY.date(), currency="GBP")) == [d]
    both = list(daily_totals(start=day, end=NEXT_DAY.date(), groups=GROUPS, chunk_size=1))
    assert [(t.day, t.currency, t.entry_count) for t in both] == [
        (day, "EUR", 1),
        (day, "GBP", 2),
        (NEXT_DAY.date(), "GBP", 1),
    ]


def test_an_account_no_group_claims_is_in_group_empty(alice_wallets) -> None:
    gbp_bank = chart.funding_partner_account(partner="bank-gb", currency="GBP")
    post(gbp_bank, alice_wallets.gbp, 1_000, MORNING)
    (only,) = daily_totals(start=MORNING.date(), end=MORNING.date(), groups=[("wallet:", "w")])
    assert only.groups == (("", 1_000, 0), ("w", 0, 1_000))
    (none,) = daily_totals(start=MORNING.date(), end=MORNING.date(), groups=[])
    assert none.groups == (("", 1_000, 1_000),)
