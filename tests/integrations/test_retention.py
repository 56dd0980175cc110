"""Retention: finished deliveries and inbound messages past their days go, in bounded batches;
pending work, recent rows and rows parked for an operator stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from fintech.core.dead_letters import dead_letter_record
from fintech.core.services import Actor
from integrations.inbound.services import DEAD_LETTER_SOURCE as INBOUND_SOURCE
from integrations.models import InboundWebhook, WebhookAttempt, WebhookDelivery
from integrations.retention import retention_purge
from integrations.tasks import retention_purge as retention_purge_task
from integrations.webhooks.services import DEAD_LETTER_SOURCE as DELIVERY_SOURCE
from integrations.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")
OLD = timedelta(days=91)


@pytest.fixture
def endpoint(alice):
    return endpoint_create(actor=OPS, profile=alice, url="http://127.0.0.1:9/hook").endpoint


def delivery(endpoint, status: str, *, age: timedelta, last_attempt_age: timedelta | None = None):
    event_id = uuid.uuid4()
    row = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        webhook_id=f"msg_{event_id.hex}",
        event_type="webhook.test",
        payload={},
        status=status,
    )
    when = timezone.now() - age
    last = None if last_attempt_age is None else timezone.now() - last_attempt_age
    WebhookDelivery.objects.filter(pk=row.pk).update(created_at=when, last_attempt_at=last)
    WebhookAttempt.objects.create(delivery=row, number=1, started_at=when)
    return row


def inbound(status: str, *, age: timedelta, verdict: str = "valid") -> InboundWebhook:
    row = InboundWebhook.objects.create(
        provider="payout-sandbox",
        provider_event_id=f"evt_{uuid.uuid4().hex}",
        signature_verdict=verdict,
        status=status,
    )
    InboundWebhook.objects.filter(pk=row.pk).update(received_at=timezone.now() - age)
    return row


def remaining(model) -> set:
    return set(model.objects.values_list("pk", flat=True))


def test_old_finished_deliveries_go_and_everything_still_needed_stays(endpoint) -> None:
    gone = [
        delivery(endpoint, "succeeded", age=OLD, last_attempt_age=OLD),
        delivery(endpoint, "exhausted", age=OLD),
        delivery(endpoint, "failed", age=OLD),
    ]
    kept = [
        delivery(endpoint, "pending", age=OLD),  # a retry still waiting
        delivery(endpoint, "succeeded", age=timedelta(days=10)),  # recent
        # An old event redelivered by an operator last week: its evidence is recent.
        delivery(endpoint, "succeeded", age=OLD, last_attempt_age=timedelta(days=7)),
    ]
    parked = delivery(endpoint, "failed", age=OLD)
    dead_letter_record(source=DELIVERY_SOURCE, reference=str(parked.pk), payload={}, error="parked")
    kept.append(parked)

    assert retention_purge() == {"webhook_deliveries": 3, "inbound_webhooks": 0}

    assert remaining(WebhookDelivery) == {d.pk for d in kept}
    assert not WebhookAttempt.objects.filter(delivery_id__in=[d.pk for d in gone]).exists()
    assert WebhookAttempt.objects.count() == len(kept)


def test_old_finished_inbound_messages_go_and_unprocessed_ones_stay() -> None:
    gone = [
        inbound("processed", age=OLD),
        inbound("ignored", age=OLD),
        inbound("failed", age=OLD),
        inbound("rejected", age=OLD, verdict="invalid"),
    ]
    kept = [
        inbound("received", age=OLD),
        inbound("processing", age=OLD),
        inbound("processed", age=timedelta(days=1)),
    ]
    parked = inbound("failed", age=OLD)
    dead_letter_record(
        source=INBOUND_SOURCE, reference=f"payout-sandbox:{parked.pk}", payload="", error="x"
    )
    kept.append(parked)

    assert retention_purge_task() == {"webhook_deliveries": 0, "inbound_webhooks": len(gone)}
    assert remaining(InboundWebhook) == {r.pk for r in kept}


def test_each_run_is_bounded_and_the_next_one_goes_on(endpoint, settings) -> None:
    settings.RETENTION_BATCH_SIZE = 2
    settings.RETENTION_MAX_BATCHES = 2
    for _ in range(5):
        delivery(endpoint, "succeeded", age=OLD)

    assert retention_purge()["webhook_deliveries"] == 4
    assert WebhookDelivery.objects.count() == 1
    assert retention_purge()["webhook_deliveries"] == 1
    assert retention_purge()["webhook_deliveries"] == 0


def test_zero_days_keeps_everything(endpoint, settings) -> None:
    settings.RETENTION_WEBHOOK_DELIVERIES_DAYS = 0
    settings.RETENTION_INBOUND_WEBHOOKS_DAYS = 0
    delivery(endpoint, "succeeded", age=timedelta(days=4000))
    inbound("processed", age=timedelta(days=4000))
    assert retention_purge() == {"webhook_deliveries": 0, "inbound_webhooks": 0}


def test_the_purge_is_scheduled_by_beat() -> None:
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("integrations.migrations.0003_retention_schedule")
    migration.create_schedule(apps, None)  # a transactional test elsewhere may have flushed it
    task = PeriodicTask.objects.get(task="integrations.retention_purge")
    assert task.enabled
    assert task.crontab is not None
