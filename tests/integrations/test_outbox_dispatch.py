"""An event is done only when the database says so (issue 12): the relay's hand-out is a
lease, the fan-out and the `dispatched` mark commit together, a lost message is handed out
again after the lease, and a poison event is parked while the others flow. Real pieces: a
throwaway Redis restarted empty, real Celery workers, a receiver on 127.0.0.1."""

from __future__ import annotations

import pytest
import redis
from django.db import transaction

from fintech.core.models import OutboxEvent
from fintech.core.services import Actor, event_emit, outbox_requeue
from integrations import relay
from integrations.models import WebhookDelivery
from integrations.relay import outbox_relay
from integrations.tasks import scan_due
from integrations.webhooks.services import endpoint_create
from tests.integrations.conftest import create_transfer, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
OPS = Actor.system("test")


@pytest.fixture(autouse=True)
def _clean_redis(redis_server):
    redis.Redis.from_url(redis_server.url).flushdb()


def subscribe(profile, receiver, event_types: list[str]) -> None:
    created = endpoint_create(actor=OPS, profile=profile, url=receiver.url, event_types=event_types)
    receiver.secrets.append(created.secret)


def broken_submission(profile) -> OutboxEvent:
    """A `transfer.submitted` the payout connector cannot act on (no transfer id): its
    dispatch raises every time."""
    with transaction.atomic():
        return event_emit(
            type="transfer.submitted", payload={"reference": "TR-BROKEN"}, profile_id=profile.pk
        )


def test_a_failed_dispatch_leaves_no_fan_out_and_the_event_pending(receiver, alice, settings):
    settings.PAYOUT_CONNECTOR = "sandbox"
    subscribe(alice, receiver, ["transfer.submitted"])
    event = broken_submission(alice)
    assert outbox_relay().published >= 1  # it and alice's own events

    with pytest.raises(KeyError):
        relay.event_dispatch(event_id=str(event.pk))  # as the worker would run it

    event.refresh_from_db()
    # The delivery it made was rolled back with the failure: not done, nothing half-done.
    assert not WebhookDelivery.objects.filter(event_id=event.pk).exists()
    assert (event.status, event.dispatch_attempts) == ("pending", 1)
    assert event.dispatch_until is not None  # handed out again when this lapses
    assert "KeyError" in event.last_error


@pytest.mark.slow
def test_a_dispatch_lost_with_redis_is_handed_out_again_after_its_lease(
    redis_server, start_worker, receiver, alice, settings
):
    settings.OUTBOX_DISPATCH_LEASE_SECONDS = 2
    subscribe(alice, receiver, ["transfer.initiated"])
    transfer = create_transfer(alice)
    event = OutboxEvent.objects.get(type="transfer.initiated", profile_id=alice.pk)
    assert outbox_relay().published >= 1  # handed to Redis; no worker is running yet

    redis_server.stop()  # no persistence: it comes back empty, the message is gone
    redis_server.start()

    event.refresh_from_db()
    assert (event.status, event.dispatch_attempts) == ("pending", 1)
    assert outbox_relay().published == 0  # its lease runs: not handed out twice meanwhile
    start_worker(OUTBOX_DISPATCH_LEASE_SECONDS="2")
    # Beat's relay ticks: once the lease lapses the event is handed out again.
    wait_for(
        lambda: OutboxEvent.objects.get(pk=event.pk).status == "dispatched",
        timeout=30,
        tick=outbox_relay,
    )
    event.refresh_from_db()
    assert event.dispatch_attempts == 2
    assert event.dispatched_at is not None
    wait_for(lambda: receiver.received, timeout=30, tick=scan_due)

    # A late copy of the lost message (a redelivery) finds the event done: nothing more.
    assert relay.event_dispatch(event_id=str(event.pk)) == 0
    assert WebhookDelivery.objects.filter(event_id=event.pk).count() == 1
    assert len(receiver.received) == 1
    assert receiver.received[0].json["data"]["reference"] == transfer.reference


@pytest.mark.slow
def test_a_poison_event_is_parked_and_the_others_flow(
    start_worker, receiver, alice, settings
) -> None:
    settings.OUTBOX_DISPATCH_LEASE_SECONDS = 1
    settings.OUTBOX_DISPATCH_MAX_ATTEMPTS = 3
    subscribe(alice, receiver, ["transfer.initiated", "transfer.submitted"])
    poison = broken_submission(alice)  # the oldest: first in every relay batch
    transfers = [create_transfer(alice) for _ in range(3)]
    # The worker relays too (the commits' kicks): the same leases there.
    start_worker(
        PAYOUT_CONNECTOR="sandbox",
        OUTBOX_DISPATCH_LEASE_SECONDS="1",
        OUTBOX_DISPATCH_MAX_ATTEMPTS="3",
    )

    wait_for(
        lambda: OutboxEvent.objects.get(pk=poison.pk).status == "dead",
        timeout=60,
        tick=outbox_relay,
    )
    wait_for(
        lambda: len(receiver.received) == 3, timeout=30, tick=lambda: (outbox_relay(), scan_due())
    )

    poison.refresh_from_db()
    assert poison.dispatch_attempts == 3
    assert "KeyError" in poison.last_error
    assert not WebhookDelivery.objects.filter(event_id=poison.pk).exists()
    # The others flowed past it, each delivered once.
    assert sorted(r.json["data"]["reference"] for r in receiver.received) == sorted(
        t.reference for t in transfers
    )
    assert not OutboxEvent.objects.filter(status="pending").exists()

    # An operator dispatches it again (after a fix): back in the relay's hands, attempts reset.
    assert outbox_requeue(event_ids=[poison.pk]) == 1
    poison.refresh_from_db()
    assert (poison.status, poison.dispatch_attempts, poison.last_error) == ("pending", 0, "")
