"""QuickBooks beside Xero on the same operator screens and the same OAuth callback: no
screen of its own, nothing there that only Xero fits."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from integrations.sync import services
from integrations.sync.models import Connection
from tests.connectors.quickbooks.conftest import OPS
from tests.connectors.quickbooks.intuit import REALM

pytestmark = pytest.mark.django_db
CONNECTIONS = "admin:integrations_accountingconnection_changelist"


@pytest.fixture
def fiona(client, ops):
    client.force_login(ops)
    return client


def test_the_connect_form_offers_both_providers(fiona) -> None:
    page = fiona.get(reverse("admin:integrations_accountingconnection_connect")).content.decode()
    assert 'value="quickbooks"' in page
    assert 'value="xero"' in page


def test_the_callback_carries_the_realm_to_the_adapter(client, intuit, settings) -> None:
    connection, url = services.connection_start(actor=OPS, provider="quickbooks", profile_id=None)
    assert url.startswith(settings.QUICKBOOKS_AUTHORIZE_URL)
    assert "scope=com.intuit.quickbooks.accounting" in url
    state = parse_qs(urlsplit(url).query)["state"][0]
    page = client.get(
        "/integrations/oauth/callback/", {"code": "c", "state": state, "realmId": REALM}
    )
    assert page.status_code == 200, page.content
    connection = Connection.objects.get(pk=connection.pk)
    assert (connection.status, connection.tenant_id) == (Connection.Status.ACTIVE, REALM)
    assert connection.tenant_name == "Alice Books"
    assert connection.base_currency == "GBP"
    assert connection.accounts.count() == 8


def test_quickbooks_is_listed_and_mapped_on_xeros_screens(fiona, books) -> None:
    Connection.objects.create(
        provider="xero", owner=Connection.Owner.PLATFORM, status=Connection.Status.ACTIVE,
        tenant_id="t-1", tenant_name="Xero Org",
    )  # fmt: skip
    listed = fiona.get(reverse(CONNECTIONS)).content.decode()
    assert "Alice Books" in listed
    assert "Xero Org" in listed
    mapping = reverse("admin:integrations_accountingconnection_mapping", args=[books.pk])
    page = fiona.get(mapping).content.decode()
    assert "client_money:EUR" in page
    assert "Fits: Bank." in page
    assert "tax type" not in page  # Xero's line settings: not QuickBooks'
    assert "Old fees" in page  # inactive accounts listed (the problems say why not to map)
