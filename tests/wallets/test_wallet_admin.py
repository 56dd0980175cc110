"""Operators see a profile's wallet balances, from the ledger, on its page."""

import pytest
from django.urls import reverse

from tests.conftest import ALICE_OPENING_BALANCES

pytestmark = pytest.mark.django_db


def test_the_profile_page_shows_each_wallet_from_the_ledger(client, ops, alice) -> None:
    client.force_login(ops)
    page = client.get(reverse("admin:customers_profile_change", args=[alice.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert f"{ALICE_OPENING_BALANCES['GBP'] // 100:.2f} GBP" in text
    assert f"{ALICE_OPENING_BALANCES['EUR'] // 100:.2f} EUR" in text
    assert "/statement/" in text


def test_a_profile_without_money_says_so(client, ops, bob) -> None:
    client.force_login(ops)
    page = client.get(reverse("admin:customers_profile_change", args=[bob.pk]))
    assert "no wallets yet" in page.content.decode()
