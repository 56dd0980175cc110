"""Issue 11 item 4: each retry of a failing delivery goes out at its scheduled time, within
one scan interval, under a controlled clock. Real pieces: PostgreSQL, a receiver on 127.0.0.1
answering 500, the scanner's query (`deliveries_due`) and the attempt a worker would make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import redis
import time_machine

from fintech.core.services import Actor
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.webhooks.services import (
    deliveries_due,
    delivery_attempt,
    endpoint_create,
    endpoint_send_test,
)
from tests.integrations.conftest import point_celery_at

pytestmark = pytest.mark.django_db(transaction=True)
OPS = Actor.system("test")
SCAN_SECONDS = 5  # beat runs integrations.scan_due every 5 s
SCHEDULE = [5, 60, 300, 900]  # seconds before attempts 2..5


def test_each_retry_goes_out_at_its_scheduled_time(redis_server, receiver, alice, settings):
    redis.Redis.from_url(redis_server.url).flushdb()
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    receiver.script = [(500, 0.0)] * 10  # down for the whole schedule
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        endpoint = endpoint_create(
            actor=OPS, profile=alice, url=receiver.url, event_types=["invoice.synced"]
        ).endpoint
        delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
        # The worker takes the message published at commit: the first attempt.
        assert delivery_attempt(delivery_id=delivery_id) == "retry"
        scheduled = [WebhookDelivery.objects.get(pk=delivery_id).next_attempt_at]
        # Beat: a scan every SCAN_SECONDS; a worker attempts what it publishes.
        elapsed = 0
        while WebhookDelivery.objects.get(pk=delivery_id).status == "pending":
            clock.shift(SCAN_SECONDS)
            elapsed += SCAN_SECONDS
            assert elapsed < sum(SCHEDULE) * 2, "the schedule did not finish"
            for due in deliveries_due():
                delivery_attempt(delivery_id=due)
                scheduled.append(WebhookDelivery.objects.get(pk=due).next_attempt_at)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "exhausted"
    attempts = list(WebhookAttempt.objects.filter(delivery_id=delivery_id).order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3, 4, 5]
    assert attempts[0].started_at == start
    for n, (before, after) in enumerate(pairwise(attempts)):
        due = scheduled[n]
        # Each retry was due SCHEDULE[n] (+/-10% jitter) after the attempt before it ...
        assert SCHEDULE[n] * 0.9 <= (due - before.started_at).total_seconds() <= SCHEDULE[n] * 1.1
        # ... and went out at that time, within one scan interval.
        assert due <= after.started_at < due + timedelta(seconds=SCAN_SECONDS)
    # Five requests reached the receiver, all with the same webhook-id.
    assert len(receiver.received) == 5
    assert {r.webhook_id for r in receiver.received} == {delivery.webhook_id}


def test_a_delivery_whose_publish_failed_goes_out_at_the_next_scan(redis_server, alice):
    endpoint = endpoint_create(
        actor=OPS, profile=alice, url="http://127.0.0.1:9/x", event_types=["invoice.synced"]
    ).endpoint
    point_celery_at("redis://127.0.0.1:9/0")  # nothing listens there: the broker is down
    try:
        delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    finally:
        point_celery_at(redis_server.url)
    # Un-stamped when the publish failed: the scanner's next tick takes it, not a lease later.
    assert WebhookDelivery.objects.get(pk=delivery_id).enqueued_at is None
    assert deliveries_due() == [delivery_id]
