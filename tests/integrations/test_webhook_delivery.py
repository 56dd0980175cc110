"""Outbound deliveries against a real receiver on 127.0.0.1 that verifies our signatures with
the `standardwebhooks` package (attempts are made in-process here; the worker tests run them
through Celery)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fintech.celery import app as celery_app
from fintech.core.models import OutboxEvent
from fintech.core.services import Actor
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.relay import event_dispatch
from integrations.webhooks.services import (
    delivery_attempt,
    delivery_redeliver,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_send_test,
)

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")


def subscribe(profile, receiver, **kwargs):
    created = endpoint_create(actor=OPS, profile=profile, url=receiver.url, **kwargs)
    receiver.secrets.append(created.secret)
    return created


def latest_event(profile, type_: str) -> OutboxEvent:
    return OutboxEvent.objects.filter(profile_id=profile.pk, type=type_).latest("occurred_at")


def make_due(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_per_standard_webhooks_and_recorded(alice, receiver) -> None:
    created = subscribe(alice, receiver)
    assert created.secret.startswith("whsec_")
    event = latest_event(alice, "business.verified")
    assert event_dispatch(event_id=str(event.pk)) == 1
    delivery = WebhookDelivery.objects.get(event_id=event.pk)

    assert delivery_attempt(delivery_id=delivery.pk) == "succeeded"

    [got] = receiver.received
    assert got.verified_with == [created.secret]  # standardwebhooks.Webhook.verify passed
    assert got.webhook_id == f"msg_{event.pk.hex}"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.json["type"] == "business.verified"
    assert got.json["id"] == str(event.pk)
    assert got.json["data"]["profile_id"] == alice.pk
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.succeeded) == (1, 200, True)
    assert attempt.response_excerpt == '{"ok": true}'
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_dispatching_an_event_twice_delivers_it_once(alice, receiver) -> None:
    subscribe(alice, receiver)
    event = latest_event(alice, "business.verified")
    event_dispatch(event_id=str(event.pk))
    event_dispatch(event_id=str(event.pk))
    assert WebhookDelivery.objects.filter(event_id=event.pk).count() == 1


def test_a_filter_limits_the_event_types(alice, receiver) -> None:
    subscribe(alice, receiver, event_types=["transfer.completed"])
    event = latest_event(alice, "business.verified")
    assert event_dispatch(event_id=str(event.pk)) == 0


def test_retries_keep_the_webhook_id_and_follow_the_schedule(alice, receiver) -> None:
    subscribe(alice, receiver)
    receiver.script = [(500, 0), (503, 0)]
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=WebhookEndpoint.objects.get().pk)

    before = timezone.now()
    assert delivery_attempt(delivery_id=delivery_id) == "retry"
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    # First retry after 5 s +/- 10% jitter.
    assert before + timedelta(seconds=4) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=6)
    # Not due yet: a second copy of the task does nothing.
    assert delivery_attempt(delivery_id=delivery_id) == "skipped"

    make_due(delivery_id)
    assert delivery_attempt(delivery_id=delivery_id) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=270)  # 5 min - 10%
    make_due(delivery_id)
    assert delivery_attempt(delivery_id=delivery_id) == "succeeded"

    assert len({r.webhook_id for r in receiver.received}) == 1
    assert len(receiver.received) == 3
    codes = list(
        WebhookAttempt.objects.filter(delivery_id=delivery_id)
        .order_by("number")
        .values_list("status_code", flat=True)
    )
    assert codes == [500, 503, 200]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.failure_streak, endpoint.failing_since) == (0, None)


def test_a_delivery_is_exhausted_after_the_schedule(alice, receiver, settings) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 10]
    subscribe(alice, receiver)
    receiver.script = [(500, 0)] * 3
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=WebhookEndpoint.objects.get().pk)
    outcomes = []
    for _ in range(3):
        outcomes.append(delivery_attempt(delivery_id=delivery_id))
        if outcomes[-1] == "retry":
            make_due(delivery_id)
    assert outcomes == ["retry", "retry", "exhausted"]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        WebhookDelivery.Status.EXHAUSTED,
        3,
        None,
    )
    # An operator redelivers it: same webhook-id, and it goes through now.
    assert delivery_redeliver(actor=OPS, delivery_ids=[delivery_id]) == 1
    assert delivery_attempt(delivery_id=delivery_id) == "succeeded"
    assert len({r.webhook_id for r in receiver.received}) == 1


def test_410_gone_disables_the_endpoint(alice, receiver) -> None:
    subscribe(alice, receiver)
    receiver.script = [(410, 0)]
    endpoint = WebhookEndpoint.objects.get()
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    assert delivery_attempt(delivery_id=delivery_id) == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert "410" in endpoint.disabled_reason
    # Its owner hears about it through an event.
    assert OutboxEvent.objects.filter(type="webhook.endpoint_disabled").count() == 1


def test_an_endpoint_failing_for_days_is_disabled(alice, receiver, settings) -> None:
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 3
    subscribe(alice, receiver)
    receiver.script = [(500, 0)]
    endpoint = WebhookEndpoint.objects.get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failure_streak=40, failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    assert delivery_attempt(delivery_id=delivery_id) == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert "3 days" in endpoint.disabled_reason


def test_during_a_rotation_both_secrets_verify(alice, receiver) -> None:
    old = subscribe(alice, receiver).secret
    endpoint = WebhookEndpoint.objects.get()
    new = endpoint_rotate_secret(actor=OPS, endpoint_id=endpoint.pk).secret
    receiver.secrets.append(new)
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    delivery_attempt(delivery_id=delivery_id)

    [got] = receiver.received
    assert got.verified_with == [old, new]  # two v1 signatures, space-separated
    assert len(got.headers["webhook-signature"].split(" ")) == 2

    # Once the previous secret expires only the new one signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    delivery_attempt(delivery_id=delivery_id)
    assert receiver.received[1].verified_with == [new]


def test_the_secret_is_encrypted_at_rest(alice, receiver) -> None:
    from django.db import connection

    secret = subscribe(alice, receiver).secret
    with connection.cursor() as cursor:
        cursor.execute("select secret from integrations_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored


def test_an_unreachable_endpoint_is_an_attempt_with_its_error(alice) -> None:
    created = endpoint_create(actor=OPS, profile=alice, url="http://127.0.0.1:9/nothing")
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=created.endpoint.pk)
    assert delivery_attempt(delivery_id=delivery_id) == "retry"
    attempt = WebhookAttempt.objects.get(delivery_id=delivery_id)
    assert attempt.status_code is None
    assert "ConnectionError" in attempt.error


def test_a_delivery_the_broker_refused_is_retried_at_the_next_tick(alice, receiver) -> None:
    from integrations.tasks import scan_due
    from tests.integrations.conftest import free_port, point_celery_at

    subscribe(alice, receiver)
    event_dispatch(event_id=str(latest_event(alice, "business.verified").pk))
    delivery = WebhookDelivery.objects.get(endpoint__profile=alice)
    make_due(delivery.pk)
    # Its first publish was lost long ago: the scanner should publish it now.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(enqueued_at=None)
    original = celery_app.conf.broker_url
    point_celery_at(f"redis://127.0.0.1:{free_port()}/0")  # Redis is down
    try:
        assert scan_due()["deliveries"] == 0  # taken, but the broker refused it
    finally:
        point_celery_at(original)
    # Not stamped as published: the next scan (seconds later) publishes it, not the lease.
    delivery.refresh_from_db()
    assert delivery.enqueued_at is None
