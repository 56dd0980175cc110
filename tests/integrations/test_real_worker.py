"""With real pieces: a throwaway Redis server, real Celery workers (subprocesses), our server
(live_server, serving the inbound webhooks and the partner simulators) and a receiver on
127.0.0.1 verifying our signatures with `standardwebhooks`. Each wait is bounded."""

from __future__ import annotations

import pytest
import redis

from fintech.compliance.models import ComplianceStatus
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_fund, transfer_submit
from integrations.models import InboundWebhook, WebhookAttempt, WebhookDelivery
from integrations.relay import outbox_relay
from integrations.tasks import scan_due
from integrations.webhooks.services import endpoint_create, endpoint_send_test
from tests.builders import build_profile
from tests.integrations.conftest import create_transfer, fund_wallet, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
OPS = Actor.system("test")


@pytest.fixture(autouse=True)
def _clean_redis(redis_server):
    redis.Redis.from_url(redis_server.url).flushdb()


@pytest.fixture
def ours(live_server, settings):
    """Our server as partners see it (simulators call back to it), with instant simulators."""
    settings.FINTECH_BASE_URL = live_server.url
    settings.PAYOUT_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/payout-partner"
    settings.KYC_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/kyc-provider"
    settings.PAYOUT_SANDBOX_LATENCY_SECONDS = 0
    settings.KYC_SANDBOX_LATENCY_SECONDS = 0
    return live_server.url


def subscribe(profile, receiver, **kwargs):
    created = endpoint_create(actor=OPS, profile=profile, url=receiver.url, **kwargs)
    receiver.secrets.append(created.secret)
    return created


def received_types(receiver) -> list[str]:
    return [r.json["type"] for r in receiver.received if r.verified_with]


def test_the_whole_sandbox_flow(ours, start_worker, receiver, alice) -> None:
    """create, fund, payout at the partner, its signed webhook, completed, and our signed
    webhook received and verified by the customer."""
    start_worker(base_url=ours)
    subscribe(alice, receiver)
    fund_wallet(alice, "GBP", 1_000_00)
    transfer = create_transfer(alice)
    transfer_fund(actor=OPS, transfer_id=transfer.pk)
    transfer_submit(actor=OPS, transfer_id=transfer.pk)

    wait_for(lambda: "transfer.completed" in received_types(receiver), timeout=60)

    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.COMPLETED
    inbound = InboundWebhook.objects.filter(provider="payout-sandbox").order_by("occurred_at")
    assert [(r.event_type, r.signature_verdict, r.status) for r in inbound] == [
        ("payout.accepted", "valid", "processed"),
        ("payout.sent", "valid", "processed"),
    ]
    completed = next(r for r in receiver.received if r.json["type"] == "transfer.completed")
    assert completed.json["data"]["reference"] == transfer.reference
    assert completed.json["data"]["state"] == "completed"
    for expected in ("transfer.initiated", "transfer.funded", "transfer.submitted"):
        assert expected in received_types(receiver)
    # Every message verified with the customer's secret, each webhook-id once.
    assert all(r.verified_with for r in receiver.received)
    ids = [r.webhook_id for r in receiver.received]
    assert len(ids) == len(set(ids))


def test_kyc_sandbox_verifies_or_asks_for_review(ours, start_worker, receiver) -> None:
    start_worker(base_url=ours)
    clear = build_profile(verified=False, submitted=True, legal_name="Clear Trading Ltd")
    doubtful = build_profile(verified=False, submitted=True, legal_name="Consider Me Ltd")

    def state(profile):
        return ComplianceStatus.objects.get(profile=profile)

    wait_for(lambda: state(clear).state == "verified", timeout=60)
    wait_for(lambda: state(doubtful).review_required, timeout=60)
    assert OutboxEvent.objects.filter(type="business.verified", profile_id=clear.pk).exists()
    assert OutboxEvent.objects.filter(
        type="compliance.review_required", profile_id=doubtful.pk
    ).exists()
    assert state(doubtful).state == "pending"


def test_no_event_is_lost_while_redis_is_down(
    redis_server, start_worker, receiver, alice, settings
):
    # Short leases: a message the worker took just as Redis went away (it comes back only
    # after the visibility timeout) is handed out again within the wait below.
    settings.OUTBOX_DISPATCH_LEASE_SECONDS = 3
    settings.WEBHOOK_DELIVERY_LEASE_SECONDS = 8
    start_worker(WEBHOOK_DELIVERY_LEASE_SECONDS="8")
    subscribe(alice, receiver, event_types=["transfer.initiated"])
    redis_server.stop()
    try:
        transfers = [create_transfer(alice) for _ in range(3)]  # each commit's kick fails
        assert outbox_relay().published == 0  # beat's relay cannot publish either
        assert OutboxEvent.objects.filter(type="transfer.initiated", status="pending").count() == 3
    finally:
        redis_server.start()

    # Beat's next ticks, once Redis is back. The bound covers the worker's own reconnection:
    # Celery's consumer retries the broker 2, 4, 6 ... up to 30 s apart (kombu's defaults), so
    # on a loaded machine it may come back half a minute after Redis does.
    wait_for(
        lambda: len(received_types(receiver)) == 3,
        timeout=120,
        tick=lambda: (outbox_relay(), scan_due()),
    )
    references = sorted(r.json["data"]["reference"] for r in receiver.received)
    assert references == sorted(t.reference for t in transfers)
    assert not OutboxEvent.objects.filter(status="pending", type="transfer.initiated").exists()


def test_a_worker_killed_during_a_delivery_is_taken_over_after_the_lease(
    start_worker, receiver, alice, settings
) -> None:
    """SIGKILL mid-delivery: the message stays unacknowledged in Redis until the visibility
    timeout (an hour); the row's claim lapses after the lease (above the HTTP timeout) and the
    scanner has another worker attempt it again, same webhook-id, within about the lease."""
    lease = 8  # above the workers' WEBHOOK_TIMEOUT_SECONDS (5)
    settings.WEBHOOK_DELIVERY_LEASE_SECONDS = lease  # the scanner's republish window
    env = {"WEBHOOK_DELIVERY_LEASE_SECONDS": str(lease), "CELERY_VISIBILITY_TIMEOUT": "3600"}
    receiver.script = [(200, 20.0)]  # the first request hangs: the worker is mid-delivery
    first = start_worker(**env)
    # Subscribed to a type nothing emits here: the test event is the only traffic.
    endpoint = subscribe(alice, receiver, event_types=["invoice.synced"]).endpoint
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)

    wait_for(lambda: len(receiver.received) == 1, timeout=30)
    first.kill()
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)

    start_worker(**env)
    # Bounded far below the visibility timeout: the scanner, not Redis, brings it back.
    wait_for(
        lambda: WebhookDelivery.objects.get(pk=delivery_id).status == "succeeded",
        timeout=lease + 30,
        tick=scan_due,
    )
    assert len(receiver.received) == 2
    assert {r.webhook_id for r in receiver.received} == {delivery.webhook_id}
    assert all(r.verified_with for r in receiver.received)
    attempts = WebhookAttempt.objects.filter(delivery_id=delivery_id).order_by("number")
    assert [a.number for a in attempts] == [1, 2]
    assert "worker stopped" in attempts[0].error  # the lost attempt is on record
    assert attempts[1].status_code == 200
    # Nobody took it over while the first claim could still be alive.
    assert (attempts[1].started_at - attempts[0].started_at).total_seconds() >= lease
