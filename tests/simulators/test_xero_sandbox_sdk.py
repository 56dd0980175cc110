"""Xero's own Python SDK (xero-python) as the client, pointed at the sandbox: its requests
(dates as /Date(ms)/, its headers) are accepted and its models read our answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (
    Contact,
    Contacts,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
)
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import ApiException

pytestmark = pytest.mark.django_db(transaction=True)


def sdk_for(xero, settings) -> AccountingApi:
    client = ApiClient(
        Configuration(
            oauth2_token=OAuth2Token(
                client_id=settings.XERO_SANDBOX_CLIENT_ID,
                client_secret=settings.XERO_SANDBOX_CLIENT_SECRET,
            )
        ),
        pool_threads=1,
    )
    store = {"token": dict(xero.session.token)}
    client.oauth2_token_getter(lambda: store["token"])
    client.oauth2_token_saver(lambda token: store.update(token=token))
    client.set_oauth2_token(store["token"])
    return AccountingApi(client, base_url=xero.api)


def test_the_official_sdk_creates_and_reads_back(xero, settings) -> None:
    api = sdk_for(xero, settings)
    created = api.create_contacts(
        xero.tenant_id,
        contacts=Contacts(contacts=[Contact(name="Alice Trading Ltd", contact_number="P-7")]),
        idempotency_key="sdk-contact-1",
    )
    alice = created.contacts[0]
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=alice.contact_id),
        date=date(2026, 12, 1),
        due_date=date(2026, 12, 15),
        line_amount_types=LineAmountTypes.NOTAX,
        reference="TR-SDK",
        status="AUTHORISED",
        line_items=[
            LineItem(
                description="Fee", quantity=1, unit_amount=Decimal("12.34"), account_code="200"
            )
        ],
    )
    answer = api.create_invoices(xero.tenant_id, invoices=Invoices(invoices=[invoice]))
    (made,) = answer.invoices
    assert made.total == Decimal("12.34")
    assert made.date == date(2026, 12, 1)
    found = api.get_invoices(xero.tenant_id, where='Reference=="TR-SDK"')
    assert [i.invoice_id for i in found.invoices] == [made.invoice_id]

    refused = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=alice.contact_id),
        line_items=[
            LineItem(description="Old", quantity=1, unit_amount=Decimal("1"), account_code="299")
        ],
    )
    with pytest.raises(ApiException) as error:
        api.create_invoices(xero.tenant_id, invoices=Invoices(invoices=[refused]))
    assert error.value.status == 400
    assert "has been archived" in error.value.body.decode()
