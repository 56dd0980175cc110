"""The sync engine on /metrics and the integration health page: per-connection backlog, the
oldest waiting job, failed and dead counts, the token's state, and the engine's counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fintech.core.metrics import METRICS_KEY
from fintech.core.redis_client import redis_client
from integrations.observability.selectors import sync_connection_health, sync_gauges
from integrations.sync import oauth
from integrations.sync.models import Connection, SyncJob
from tests.sync.conftest import job_through, staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    redis_client().delete(METRICS_KEY)


@pytest.fixture
def queue(alice_books) -> Connection:
    """alice's books: two jobs waiting (one pending, one to retry), one failed, one synced."""
    from integrations.sync import services

    services.job_ensure(
        connection=alice_books, object_type="transfer", object_id="TR-P", action="invoice"
    )
    job_through(alice_books, object_type="transfer", object_id="TR-R", action="flaky")
    job_through(alice_books, object_type="transfer", object_id="TR-F", action="fail")
    job_through(alice_books, object_type="transfer", object_id="TR-S", action="invoice")
    SyncJob.objects.filter(object_id="TR-R").update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    return alice_books


def by_name(gauges):
    return {(g.name, tuple(sorted(g.labels.items()))): g.value for g in gauges}


def test_gauges_per_connection_and_in_total(queue) -> None:
    gauges = by_name(sync_gauges())
    labels = (("connection", str(queue.pk)), ("provider", "fakebooks"))
    assert gauges[("sync_connection_backlog", labels)] == 2
    assert gauges[("sync_connection_failed", labels)] == 1
    assert gauges[("sync_connection_dead", labels)] == 0
    assert gauges[("sync_connection_reconnect_required", labels)] == 0
    assert 590 < gauges[("sync_connection_oldest_waiting_age_seconds", labels)] < 700
    assert 1700 < gauges[("sync_connection_token_expires_in_seconds", labels)] <= 1800
    assert gauges[("sync_jobs_backlog", ())] == 2
    assert gauges[("sync_jobs_failed", ())] == 1


def test_a_refused_refresh_shows_as_reconnect_required(queue) -> None:
    oauth.connection_reconnect_required(connection_id=queue.pk, reason="invalid_grant")
    [health] = sync_connection_health()
    assert health.token_status == "reconnect required"
    gauges = by_name(sync_gauges())
    assert gauges[("sync_connections_reconnect_required", ())] == 1


def test_metrics_page_has_the_sync_gauges_and_counters(client, settings, queue) -> None:
    settings.METRICS_TOKEN = "scrape-secret-1234"
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-1234").content.decode()
    assert (
        f'fintech_sync_connection_backlog{{connection="{queue.pk}",provider="fakebooks"}} 2.0'
        in text
    )
    assert "fintech_sync_jobs_failed 1.0" in text
    # Counted by the engine as the jobs above ran.
    assert (
        f'fintech_sync_errors_total{{class="PermanentError",connection="{queue.pk}",'
        f'provider="{queue.provider}"}} 1.0' in text
    )
    assert 'fintech_sync_jobs_total{provider="fakebooks",state="synced"} 1.0' in text
    assert "fintech_sync_job_ms_total" in text
    assert "fintech_sync_rate_limited_total" in text  # known counters show, zero until counted
    assert "fintech_xero_timeouts_total" in text


def test_health_page_shows_each_connection(client, queue) -> None:
    client.force_login(staff("eddie", "engineering"))
    page = client.get(reverse("admin:integrations_integrationhealth_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="health-sync-connections"' in text
    assert f"#{queue.pk}" in text
    assert "valid, expires" in text
    assert "sync_errors" in text
    assert "Alice Trading" not in text  # no customer names on the engineers' page
