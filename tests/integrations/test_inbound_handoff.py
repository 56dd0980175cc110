"""The inbound endpoint hands stored rows to the workers through a Redis list and a drain
(integrations/inbound/handoff.py): with a real Redis and a real worker, every accepted
webhook is processed, also when the drain's kick is lost or Redis is down at the time."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings

from integrations import partner_signing
from integrations.inbound import handoff
from integrations.models import InboundWebhook
from integrations.tasks import scan_due
from tests.integrations.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
URL = "/webhooks/payout-sandbox/"


@pytest.fixture(autouse=True)
def _clean_redis(redis_server):
    redis.Redis.from_url(redis_server.url).flushdb()


def post(client, n: int):
    """A signed partner status for a transfer we do not know: processing fails with that
    reason, which shows the row went through a worker."""
    body = json.dumps(
        {
            "id": f"evt_handoff_{n}",
            "type": "payout.sent",
            "created_at": "2026-11-30T08:00:00+00:00",
            "data": {"payout_id": f"po_{n}", "client_reference": f"TRNOSUCH{n}"},
        }
    ).encode()
    header = partner_signing.sign(secret=settings.PAYOUT_SANDBOX_WEBHOOK_SECRET, body=body)
    response = client.post(
        URL, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=header
    )
    assert response.status_code == 202
    return response


def all_processed(count: int):
    def done() -> bool:
        rows = InboundWebhook.objects.all()
        return len(rows) == count and all(
            r.status == "failed" and "unknown transfer" in r.error for r in rows
        )

    return done


def test_accepted_webhooks_are_processed_through_the_drain(client, start_worker) -> None:
    start_worker()
    for n in range(3):
        post(client, n)
    # No scanner tick: the first push's kick started a drain, which published each id.
    wait_for(all_processed(3), timeout=60)
    assert InboundWebhook.objects.filter(attempts=1).count() == 3


def test_a_lost_kick_is_made_up_by_the_scanner(client, redis_server, start_worker) -> None:
    for n in range(2):
        post(client, n)
    r = redis.Redis.from_url(redis_server.url)
    assert r.llen(handoff.KEY) == 2
    r.delete("celery")  # the drain's kick is lost (say, a Redis failover dropped it)
    start_worker()
    wait_for(all_processed(2), timeout=60, tick=scan_due)
    assert r.llen(handoff.KEY) == 0


def test_a_webhook_received_while_redis_is_down_is_processed_after(
    client, redis_server, start_worker
) -> None:
    start_worker()
    redis_server.stop()
    try:
        post(client, 1)  # still acknowledged: the row is stored, the hand-off failed
        row = InboundWebhook.objects.get()
        # No `enqueued_at`: the scanner's next tick publishes it, without waiting a lease.
        assert (row.status, row.enqueued_at) == ("received", None)
    finally:
        redis_server.start()
    wait_for(all_processed(1), timeout=60, tick=scan_due)
