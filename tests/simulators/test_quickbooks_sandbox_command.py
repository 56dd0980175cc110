"""`manage.py quickbooks_sandbox` tells a developer how to connect to the sandbox."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import QuickBooksSandboxCompany, QuickBooksSandboxObject


@pytest.mark.django_db
def test_it_prints_the_urls_credentials_and_the_demo_company(settings) -> None:
    out = StringIO()
    call_command("quickbooks_sandbox", stdout=out)
    text = out.getvalue()
    company = QuickBooksSandboxCompany.objects.get()
    assert f"{company.realm_id}  Demo Company (sandbox)  (EUR, GBP, USD)" in text
    assert settings.QUICKBOOKS_SANDBOX_CLIENT_SECRET in text
    assert "/sandbox/quickbooks/oauth2/tokens/bearer" in text


@pytest.mark.django_db
def test_the_demo_chart_has_an_account_for_every_role_of_the_connector() -> None:
    from integrations.connectors.accounting.quickbooks.roles import ROLES_CUSTOMER, ROLES_PLATFORM
    from integrations.simulators.quickbooks.companies import company_default
    from tests.connectors.quickbooks.conftest import CUSTOMER_ROLES, PLATFORM_ROLES

    company = company_default()
    accounts = {
        row.object_id: row.data
        for row in QuickBooksSandboxObject.objects.filter(company=company, entity="Account")
    }
    for roles, ids in ((ROLES_PLATFORM, PLATFORM_ROLES), (ROLES_CUSTOMER, CUSTOMER_ROLES)):
        for role in roles:
            account = accounts[ids[role.name]]
            assert role.accepts(account["AccountType"]), (role.name, account)
            assert account["Active"] is True
    assert {a["Active"] for a in accounts.values()} == {True, False}  # inactive ones too
    assert {a["CurrencyRef"]["value"] for a in accounts.values()} == {"GBP", "EUR", "USD"}
