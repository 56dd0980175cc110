"""Counters every process adds to (Redis) and the integrations' gauges (database), on
`/metrics` for Prometheus and on the admin's integration health page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from fintech.core.metrics import METRICS_KEY, metric_field, metric_incr, metrics_snapshot
from fintech.core.models import OutboxEvent
from fintech.core.redis_client import redis_client
from fintech.core.services import Actor, event_emit
from tests.builders import build_user
from tests.dbfaults import closed_port

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")


@pytest.fixture(autouse=True)
def _fresh_counters(settings, redis_server):
    """Counters on this test process's own Redis: on the shared REDIS_URL, every API request
    of the other xdist processes adds to them."""
    settings.REDIS_URL = redis_server.url
    redis_client().delete(METRICS_KEY)


def staff(username: str, role: str):
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_counters_add_up_across_calls_with_labels() -> None:
    metric_incr("outbox_redispatched")
    metric_incr("outbox_redispatched", by=2)
    metric_incr("tasks_retried_transient", labels={"task": "integrations.event_dispatch"})
    assert metrics_snapshot() == {
        "outbox_redispatched": 3,
        metric_field("tasks_retried_transient", {"task": "integrations.event_dispatch"}): 1,
    }


def test_a_count_with_redis_down_is_dropped_not_raised(settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    metric_incr("outbox_redispatched")  # no exception: a metric never fails the work
    assert metrics_snapshot() == {}


def test_metrics_are_hidden_without_credentials_and_refused_with_wrong_ones(
    client, settings
) -> None:
    settings.METRICS_TOKEN = "scrape-secret-1234"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    client.force_login(staff("sam", "support"))  # support sees customers, not the machinery
    assert client.get("/metrics").status_code == 403


def test_prometheus_scrapes_counters_and_gauges_with_the_token(client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-secret-1234"
    event_emit(type="webhook.test", payload={}, profile_id=None)
    OutboxEvent.objects.update(occurred_at=timezone.now() - timedelta(seconds=90))
    metric_incr("tasks_retried_transient", labels={"task": "integrations.webhook_deliver"})

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-1234")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    lines = response.content.decode().splitlines()
    assert "fintech_outbox_pending 1.0" in lines
    age = next(line for line in lines if line.startswith("fintech_outbox_oldest_unfinished_age"))
    assert 90 <= float(age.split()[1]) < 3600
    assert 'fintech_tasks_retried_transient_total{task="integrations.webhook_deliver"} 1.0' in lines
    assert "fintech_outbox_redispatched_total 0.0" in lines  # known counters show from zero
    for gauge in ("outbox_dead", "webhook_deliveries_exhausted", "inbound_webhooks_failed"):
        assert f"fintech_{gauge} 0.0" in lines


def test_metrics_need_the_staff_second_factor_when_it_is_required(client, settings) -> None:
    settings.STAFF_2FA_REQUIRED = True
    client.force_login(staff("erin", "engineering"))  # password only, no second factor
    assert client.get("/metrics").status_code == 403


def test_engineering_sees_the_integration_health_page_and_metrics(client) -> None:
    event_emit(type="webhook.test", payload={}, profile_id=None)
    metric_incr("outbox_redispatched", by=4)
    client.force_login(staff("erin", "engineering"))

    page = client.get(reverse("admin:integrations_integrationhealth_changelist"))

    assert page.status_code == 200
    html = page.content.decode()
    for figure in (
        "outbox_pending",
        "outbox_oldest_unfinished_age_seconds",
        "outbox_dead",
        "webhook_deliveries_pending",
        "inbound_webhooks_failed",
        "payout_instructions_error",
        "kyc_checks_pending",
        "tasks_retried_transient",
        "outbox_redispatched",
    ):
        assert figure in html, figure
    counted = {name: value for name, _help, _labels, value in page.context["counters"]}
    assert counted["outbox_redispatched"] == 4
    gauges = {gauge.name: gauge.value for gauge in page.context["gauges"]}
    assert gauges["outbox_pending"] == 1
    assert client.get("/metrics").status_code == 200


def test_support_does_not_see_the_integration_health_page(client) -> None:
    client.force_login(staff("sam", "support"))
    page = client.get(reverse("admin:integrations_integrationhealth_changelist"))
    assert page.status_code in (302, 403)
