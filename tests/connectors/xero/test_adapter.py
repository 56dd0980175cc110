"""The Xero adapter's refusals before any call, and the roles its mapping screen shows."""

from __future__ import annotations

import pytest

from integrations.connectors.accounting.xero.adapter import XeroAdapter, roles_in
from integrations.errors import PermanentError
from integrations.sync.adapters import JobContext
from integrations.sync.models import Connection, SyncJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def books() -> Connection:
    return Connection.objects.create(
        provider="xero",
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id="tenant-1",
        tenant_name="Demo Org",
        base_currency="GBP",
        currencies=["GBP", "EUR"],
    )


def test_a_currency_the_organisation_lacks_is_a_clear_error_before_any_call(send, books) -> None:
    transfer = send("processing", source="GBP", target="USD")
    job = SyncJob.objects.create(
        connection=books, object_type="transfer", object_id=transfer.reference, action="fx_margin"
    )
    with pytest.raises(
        PermanentError, match="currency USD is not enabled in the Xero organisation"
    ):
        XeroAdapter().perform(JobContext(connection=books, job=job))


def test_each_currency_has_its_own_bank_account_row(books) -> None:
    names = {r.name: r for r in XeroAdapter().roles(connection=books)}
    assert names["client_money"].currency == "GBP"
    assert names["client_money"].required
    assert names["client_money:EUR"].currency == "EUR"
    assert not names["client_money:EUR"].required
    assert not names["fx_position"].required  # journals only
    mapped = {"client_money": "091", "client_money:EUR": "092", "fee_revenue": "200"}
    assert roles_in(mapped, "EUR")["client_money"] == "092"
    assert roles_in(mapped, "USD")["client_money"] == "091"  # Xero will refuse, visibly


def test_daily_journal_mode_needs_every_ledger_role(books) -> None:
    books.mode = Connection.Mode.DAILY_JOURNAL
    required = {r.name for r in XeroAdapter().roles(connection=books) if r.required}
    assert {"fx_position", "payout_clearing", "customer_funds", "client_money"} <= required
