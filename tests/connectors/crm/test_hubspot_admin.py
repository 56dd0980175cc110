"""CRM beside accounting on the operators' screens: the CRM connections list and page (the
allowlist shown), the jobs in the same failed-sync queue; engineering sees no allowlist-bearing
customer data beyond connections."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.sync.models import Connection, SyncJob
from tests.sync.conftest import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm_connection() -> Connection:
    return Connection.objects.create(
        provider="hubspot",
        kind=Connection.Kind.CRM,
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id="4242",
        tenant_name="4242",
        access_token="pat-secret-token",
        calls_per_minute=100,
        calls_window_seconds=10,
    )


def test_finance_sees_crm_connections_with_the_allowlist(client, crm_connection) -> None:
    client.force_login(staff("fiona", "finance"))
    listing = client.get(reverse("admin:integrations_crmconnection_changelist"))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "hubspot" in page
    assert "Connect CRM" in page
    assert "pat-secret-token" not in page
    detail = client.get(
        reverse("admin:integrations_crmconnection_change", args=[crm_connection.pk])
    ).content.decode()
    assert "What may reach the CRM" in detail
    assert "fintech_onboarding_stage" in detail
    assert "one of: lead, signed_up" in detail
    assert "pat-secret-token" not in detail
    assert "Account mapping" not in detail
    # CRM connections are not accounting books: not on that list.
    accounting = client.get(reverse("admin:integrations_accountingconnection_changelist"))
    assert "4242" not in accounting.content.decode()


def test_crm_jobs_are_in_the_same_failed_sync_queue(client, crm_connection) -> None:
    job = SyncJob.objects.create(
        connection=crm_connection, object_type="profile", object_id="7", action="company"
    )
    client.force_login(staff("fiona", "finance"))
    page = client.get(reverse("admin:integrations_syncjob_changelist")).content.decode()
    assert f"#{crm_connection.pk} hubspot" in page
    assert (
        client.get(reverse("admin:integrations_syncjob_change", args=[job.pk])).status_code == 200
    )


def test_the_connect_form_offers_crm_providers_only(client) -> None:
    client.force_login(staff("fiona", "finance"))
    page = client.get(reverse("admin:integrations_crmconnection_connect")).content.decode()
    assert 'value="hubspot"' in page
    assert 'value="xero"' not in page


def test_engineering_sees_crm_connections_not_their_jobs(client, crm_connection) -> None:
    client.force_login(staff("eddie", "engineering"))
    assert client.get(reverse("admin:integrations_crmconnection_changelist")).status_code == 200
    assert client.get(reverse("admin:integrations_syncjob_changelist")).status_code == 403
