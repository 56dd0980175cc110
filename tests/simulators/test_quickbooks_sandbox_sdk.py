"""Intuit's own Python OAuth client (intuitlib's AuthClient, pointed at the sandbox's discovery
document) and python-quickbooks' client against the sandbox over real HTTP: the code exchange
with realmId, entities saved with a requestid, read, filtered by query, Change Data Capture,
a stale SyncToken as the library's exception, refresh and revoke."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.utils import timezone
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.customer import Customer

from tests.simulators.quickbooks import REDIRECT_URI

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def intuit(qbo_sandbox, monkeypatch) -> AuthClient:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # python-quickbooks' session
    client = AuthClient(
        django_settings.QUICKBOOKS_SANDBOX_CLIENT_ID,
        django_settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET,
        REDIRECT_URI,
        environment=f"{qbo_sandbox}/.well-known/openid_sandbox_configuration",
    )
    url = client.get_authorization_url([Scopes.ACCOUNTING])
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    answer = dict(parse_qsl(urlsplit(location).query))
    assert answer["state"] == client.state_token
    client.get_bearer_token(answer["code"], realm_id=answer["realmId"])
    return client


def quickbooks(intuit: AuthClient, base: str) -> QuickBooks:
    qb = QuickBooks(
        auth_client=intuit,
        refresh_token=intuit.refresh_token,
        company_id=intuit.realm_id,
        minorversion=75,
        use_decimal=True,
    )
    qb.api_url_v3 = f"{base}/v3"  # Intuit's host, here
    return qb


def test_intuits_clients_work_against_the_sandbox(intuit, qbo_sandbox) -> None:
    assert intuit.expires_in == 3600
    assert intuit.x_refresh_token_expires_in == 100 * 86400
    qb = quickbooks(intuit, qbo_sandbox)
    since = timezone.now() - timedelta(seconds=5)

    alice = Customer()
    alice.DisplayName = "Alice Ltd"
    alice.Notes = "fintech:profile:1"
    alice = alice.save(qb=qb, request_id="sdk-1")  # the library answers the stored object
    assert alice.Id
    assert alice.SyncToken == "0"

    found = Customer.filter(DisplayName="Alice Ltd", qb=qb)
    assert [c.Id for c in found] == [alice.Id]
    assert Customer.get(alice.Id, qb=qb).Notes == "fintech:profile:1"

    alice.Notes = "updated"
    alice = alice.save(qb=qb, request_id="sdk-2")
    assert alice.SyncToken == "1"
    stale = Customer.get(alice.Id, qb=qb)
    stale.SyncToken = "0"
    stale.Notes = "lost update"
    with pytest.raises(QuickbooksException) as refused:
        stale.save(qb=qb, request_id="sdk-3")
    assert refused.value.error_code == 5010

    changes = change_data_capture([Customer], since.strftime("%Y-%m-%dT%H:%M:%S"), qb=qb)
    assert [c.Id for c in changes.Customer] == [alice.Id]

    spent = intuit.refresh_token
    intuit.refresh()
    assert intuit.refresh_token != spent
    intuit.revoke()
    with pytest.raises(AuthClientError):
        intuit.refresh()
