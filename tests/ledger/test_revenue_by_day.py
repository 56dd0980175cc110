"""`revenue_by_day`: the revenue accounts' net postings per UTC day (the dashboard's revenue)."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger import chart
from ledger.selectors import RevenueDay, revenue_by_day
from tests.ledger.test_entry_views_and_daily_totals import LATE, MORNING, NEXT_DAY, post

pytestmark = pytest.mark.django_db


def test_it_nets_each_revenue_account_per_day_and_skips_other_accounts(alice_wallets) -> None:
    bank = chart.funding_partner_account(partner="bank-gb", currency="GBP")
    fees = chart.fee_revenue_account(currency="GBP")
    margin = chart.fx_margin_revenue_account(currency="EUR")
    post(bank, alice_wallets.gbp, 1_000, MORNING)  # not revenue
    post(alice_wallets.gbp, fees, 30, MORNING)
    post(fees, alice_wallets.gbp, 10, LATE)  # a reversal gives some back
    post(alice_wallets.eur, margin, 7, NEXT_DAY, "EUR")

    rows = revenue_by_day(since=MORNING, until=NEXT_DAY + dt.timedelta(days=1))

    assert rows == [
        RevenueDay(MORNING.date(), fees.pk, "revenue:fees:GBP", "GBP", 20),
        RevenueDay(NEXT_DAY.date(), margin.pk, "revenue:fx-margin:EUR", "EUR", 7),
    ]


def test_a_backdated_entry_counts_on_its_effective_day_only(alice_wallets) -> None:
    fees = chart.fee_revenue_account(currency="GBP")
    post(alice_wallets.gbp, fees, 30, NEXT_DAY)
    # Posted later (a higher id) but effective the day before the window.
    post(alice_wallets.gbp, fees, 99, MORNING)

    assert [
        r.net_minor for r in revenue_by_day(since=NEXT_DAY, until=NEXT_DAY + dt.timedelta(1))
    ] == [30]
    assert [r.net_minor for r in revenue_by_day(since=MORNING, until=NEXT_DAY)] == [99]
    assert revenue_by_day(since=MORNING - dt.timedelta(days=9), until=MORNING) == []
