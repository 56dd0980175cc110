"""The chart of accounts: each helper opens its account once, with the right type and flags."""

from __future__ import annotations

import pytest

from ledger import chart
from ledger.models import Account

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("helper", "kwargs", "code", "type", "allow_negative"),
    [
        (
            chart.wallet_account,
            {"owner": "profile:42"},
            "wallet:profile:42:GBP",
            "liability",
            False,
        ),
        (chart.transfer_clearing_account, {}, "clearing:transfers:GBP", "liability", False),
        (
            chart.funding_partner_account,
            {"partner": "bank-gb"},
            "funding:bank-gb:GBP",
            "asset",
            True,
        ),
        (chart.payout_partner_account, {"partner": "pay-eu"}, "payout:pay-eu:GBP", "asset", True),
        (chart.fx_position_account, {}, "fx:position:GBP", "equity", True),
        (chart.fee_revenue_account, {}, "revenue:fees:GBP", "revenue", True),
        (chart.fx_margin_revenue_account, {}, "revenue:fx-margin:GBP", "revenue", True),
    ],
)
def test_each_account_is_opened_once_with_its_type(helper, kwargs, code, type, allow_negative):
    account = helper(currency="GBP", **kwargs)
    again = helper(currency="GBP", **kwargs)

    assert again.pk == account.pk
    assert (account.code, account.type, account.allow_negative) == (code, type, allow_negative)
    assert Account.objects.filter(code=code).count() == 1


def test_wallets_are_per_owner_and_currency():
    gbp = chart.wallet_account(owner="profile:1", currency="GBP")
    eur = chart.wallet_account(owner="profile:1", currency="EUR")
    other = chart.wallet_account(owner="profile:2", currency="GBP")
    assert len({gbp.pk, eur.pk, other.pk}) == 3
    assert eur.currency == "EUR"
