"""What an integration team watches on `/metrics`, with the pieces that feed it: the API's
response times and failures (counted in the request's own round trip to Redis), the broker's
queue, reconciliation and ERP figures from the database."""

from __future__ import annotations

import pytest
from celery import current_app
from django.utils import timezone

from fintech.core.metrics import METRICS_KEY
from fintech.core.redis_client import redis_client
from fintech.payments.models import ApprovalFailure
from integrations.reconciliation.models import Mismatch
from tests.integrations.conftest import point_celery_at, redis_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_redis(settings, redis_server):  # noqa: F811 (the fixture)
    """Counters on this test process's own Redis: on the shared REDIS_URL, every API request
    of the other xdist processes adds to them."""
    settings.REDIS_URL = redis_server.url
    redis_client().delete(METRICS_KEY)


def test_api_timings_failures_queue_and_reconciliation_reach_prometheus(
    client,
    settings,
    alice_api,
    alice,
    redis_server,  # noqa: F811 (the fixture)
) -> None:
    """What an integration team watches: response time histograms and failed requests by
    endpoint (its route, not its ids) and code, the broker's queue and its oldest message,
    open reconciliation mismatches by check, ERP approval failures by reason."""
    settings.METRICS_TOKEN = "scrape-secret-1234"
    quote = {"source_currency": "GBP", "target_currency": "EUR", "source_amount": "250.00"}
    assert alice_api.post("/quotes", quote).status_code == 201
    assert alice_api.get("/transfers/999999999").status_code == 404
    assert alice_api.get("/transfers/999999998").status_code == 404
    original = current_app.conf.broker_url
    point_celery_at(redis_server.url)
    try:
        redis_client().delete("celery")
        current_app.send_task("integrations.scan_due")  # no worker: it waits in the queue
        Mismatch.objects.create(
            check_name="payout_confirmed", key="t-1", as_of=timezone.localdate(), detail="late"
        )
        ApprovalFailure.objects.create(profile=alice, reason="expired")
        lines = (
            client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-1234")
            .content.decode()
            .splitlines()
        )
    finally:
        redis_client().delete("celery")
        point_celery_at(original)

    def value(prefix: str) -> float:
        found = [line for line in lines if line.startswith(prefix)]
        assert len(found) == 1, (prefix, found)
        return float(found[0].rsplit(" ", 1)[1])

    quotes = 'endpoint="/api/v1/quotes",method="POST"'
    assert value(f"fintech_api_request_duration_seconds_count{{{quotes}}}") == 1
    every = 'endpoint="/api/v1/quotes",le="+Inf",method="POST"'
    assert value(f"fintech_api_request_duration_seconds_bucket{{{every}}}") == 1
    assert value(f"fintech_api_request_duration_seconds_sum{{{quotes}}}") > 0
    one_transfer = 'code="404",endpoint="/api/v1/transfers/<str:transfer_id>",method="GET"'
    assert value(f"fintech_api_requests_failed_total{{{one_transfer}}}") == 2
    assert value('fintech_queue_messages_waiting{queue="celery"}') == 1
    assert 0 <= value('fintech_queue_oldest_message_age_seconds{queue="celery"}') < 3600
    assert value('fintech_reconciliation_mismatches_open{check="payout_confirmed"}') == 1
    assert value('fintech_erp_approval_failures_recorded{reason="expired"}') == 1
    assert "fintech_provider_timeouts_total 0.0" in lines
    assert "fintech_webhook_delivery_attempts_total 0.0" in lines
