"""`crm:write`, the scope of the credentials we issue to CRM connectors: it sets the account
manager and reads nothing financial from the API."""

from __future__ import annotations

import json

import pytest

from fintech.api import scopes
from fintech.core.models import OutboxEvent
from tests.api.conftest import api_for, fund_wallet, issue_client
from tests.api.test_scopes_and_tenancy import ENDPOINTS, business_data, call

pytestmark = pytest.mark.django_db


def test_a_crm_credential_reads_no_financial_data(client, alice) -> None:
    fund_wallet(alice, "GBP", 100_000)
    data = business_data(alice)
    crm = api_for(client, issue_client(alice, scopes=[scopes.CRM_WRITE]))
    for method, template, required in ENDPOINTS:
        if required == scopes.CRM_WRITE:
            continue
        response = call(crm, method, data.path(template))
        assert response.status_code == 403, (method, template, response.content)
        assert json.loads(response.content)["code"] == "insufficient_scope"
    # Nor can it obtain any other scope for itself.
    wider = api_for(client, issue_client(alice, scopes=[scopes.CRM_WRITE]), scope=scopes.CRM_WRITE)
    assert wider.get("/balances").status_code == 403


def test_a_crm_credential_sets_the_account_manager(client, alice) -> None:
    crm = api_for(client, issue_client(alice, scopes=[scopes.CRM_WRITE]))
    answer = crm.post("/crm/account-manager", {"email": "AM@example.com", "name": "Ada Manager"})
    assert answer.status_code == 200, answer.content
    assert json.loads(answer.content) == {
        "email": "am@example.com",
        "name": "Ada Manager",
        "changed": True,
    }
    alice.refresh_from_db()
    assert alice.account_manager_email == "am@example.com"
    assert OutboxEvent.objects.filter(type="customer.account_manager_changed").count() == 1
    again = crm.post("/crm/account-manager", {"email": "am@example.com", "name": "Ada Manager"})
    assert json.loads(again.content)["changed"] is False
    bad = crm.post("/crm/account-manager", {"email": "not-an-email", "name": ""})
    assert bad.status_code == 400
    assert "email" in bad.content.decode()
