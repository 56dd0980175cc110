"""The ledger admin is read-only for everyone, and answers: balances, entries, statements."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from ledger import chart
from ledger.models import Account, Hold, JournalEntry, Posting
from ledger.services import PostingSpec, entry_post, hold_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client(client):
    """ops: a superuser operator."""
    ops = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    client.force_login(ops)
    return client


@pytest.fixture
def books(alice_wallets):
    clearing = chart.transfer_clearing_account(currency="GBP")
    entry = entry_post(
        idempotency_key="fund-T1",
        postings=[
            PostingSpec.debit(alice_wallets.gbp.pk, 12_345, "GBP"),
            PostingSpec.credit(clearing.pk, 12_345, "GBP"),
        ],
        memo="transfer T1 funded",
    )
    hold = hold_place(account_id=alice_wallets.eur.pk, amount_minor=50, idempotency_key="h")
    return alice_wallets, entry, hold


@pytest.mark.parametrize("model", [Account, JournalEntry, Posting, Hold])
def test_nobody_can_add_change_or_delete(ops_client, books, model):
    opts = model._meta
    obj = model.objects.first()
    assert obj is not None
    add = ops_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code == 403
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    page = ops_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    delete = ops_client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]),
        {"post": "yes"},
    )
    assert delete.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_the_account_list_shows_balances_in_few_queries(
    ops_client, books, django_assert_max_num_queries
):
    for n in range(10):
        chart.wallet_account(owner=f"profile:{n}", currency="GBP")
    url = reverse("admin:ledger_account_changelist")
    with django_assert_max_num_queries(12):
        page = ops_client.get(url, {"currency__exact": "GBP", "q": "alice"})
    assert page.status_code == 200
    content = page.content.decode()
    assert "wallet:profile:alice:GBP" in content
    assert "876.55" in content  # 1,000.00 - 123.45
    assert "wallet:profile:alice:EUR" not in content


def test_an_entry_page_shows_its_postings(ops_client, books):
    _, entry, _ = books
    page = ops_client.get(reverse("admin:ledger_journalentry_change", args=[entry.pk]))
    content = page.content.decode()
    assert "clearing:transfers:GBP" in content
    assert "123.45" in content


def test_the_statement_shows_a_running_balance(ops_client, books):
    wallets, _, _ = books
    url = reverse("admin:ledger_account_statement", args=[wallets.gbp.pk])
    page = ops_client.get(url)
    assert page.status_code == 200
    content = page.content.decode()
    assert "transfer T1 funded" in content
    assert "1,000.00" in content
    assert "876.55" in content


def test_the_statement_needs_a_staff_login(client, books):
    wallets, _, _ = books
    url = reverse("admin:ledger_account_statement", args=[wallets.gbp.pk])
    assert client.get(url).status_code == 302
