"""`manage.py xero_sandbox` tells a developer how to connect to the sandbox."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import XeroSandboxOrg


@pytest.mark.django_db
def test_it_prints_the_urls_credentials_and_the_default_tenant(settings) -> None:
    out = StringIO()
    call_command("xero_sandbox", stdout=out)
    text = out.getvalue()
    org = XeroSandboxOrg.objects.get()
    assert f"{org.pk}  Demo Org (sandbox)  (GBP, EUR, USD)" in text
    assert settings.XERO_SANDBOX_CLIENT_SECRET in text
    assert "/sandbox/xero/identity/connect/token" in text
