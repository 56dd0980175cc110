"""The operator console: logs with failure filters, and actions that call services."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.urls import reverse

from fintech.core.services import Actor, event_emit
from integrations import partner_signing
from integrations.models import InboundWebhook, WebhookDelivery
from integrations.webhooks.services import endpoint_create, endpoint_send_test

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")


@pytest.fixture
def console(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture
def failed_delivery(alice) -> WebhookDelivery:
    endpoint = endpoint_create(actor=OPS, profile=alice, url="http://127.0.0.1:9/x").endpoint
    delivery_id = endpoint_send_test(actor=OPS, endpoint_id=endpoint.pk)
    WebhookDelivery.objects.filter(pk=delivery_id).update(status="exhausted", attempts=8)
    return WebhookDelivery.objects.get(pk=delivery_id)


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("core/outboxevent", "?age=pending_1m"),
        ("core/outboxevent", "?status__exact=dead"),
        ("integrations/sandboxpayout", ""),
        ("integrations/webhookendpoint", "?health=failing"),
        ("integrations/webhookendpoint", "?health=disabled"),
        ("integrations/webhookdelivery", "?failures=exhausted"),
        ("integrations/webhookdelivery", "?failures=stuck"),
        ("integrations/inboundwebhook", "?signature_verdict__exact=invalid"),
        ("integrations/payoutinstruction", ""),
        ("integrations/kyccheck", ""),
    ],
)
def test_the_logs_and_their_filters_load(console, failed_delivery, model, query) -> None:
    response = console.get(f"/admin/{model}/{query}")
    assert response.status_code == 200


def test_the_delivery_page_shows_its_attempts(console, failed_delivery) -> None:
    url = reverse("admin:integrations_webhookdelivery_change", args=[failed_delivery.pk])
    response = console.get(url)
    assert response.status_code == 200
    assert failed_delivery.webhook_id in response.content.decode()


def test_redeliver_action(console, failed_delivery) -> None:
    response = console.post(
        reverse("admin:integrations_webhookdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [failed_delivery.pk]},
        follow=True,
    )
    assert "1 delivery(ies) queued" in response.content.decode()
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == "pending"


def test_replay_failed_since_asks_for_the_time_then_replays(console, failed_delivery) -> None:
    url = reverse("admin:integrations_webhookdelivery_changelist")
    form = {"action": "replay_failed_since", "_selected_action": [failed_delivery.pk]}
    page = console.post(url, form)
    assert page.status_code == 200
    assert b"Replay" in page.content
    since = failed_delivery.created_at.strftime("%Y-%m-%d %H:%M:%S")
    console.post(url, {**form, "apply": "1", "since": since, "reason": "endpoint fixed"})
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == "pending"


def test_reprocess_action_on_the_inbound_log(console) -> None:
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payout.sent",
            "created_at": "2026-11-30T08:00:00+00:00",
            "data": {"client_reference": "TRNOPE"},
        }
    ).encode()
    header = partner_signing.sign(secret=settings.PAYOUT_SANDBOX_WEBHOOK_SECRET, body=body)
    console.post(
        "/webhooks/payout-sandbox/",
        body,
        content_type="application/json",
        HTTP_SANDBOX_SIGNATURE=header,
    )
    row = InboundWebhook.objects.get()
    InboundWebhook.objects.filter(pk=row.pk).update(status="failed", error="unknown transfer")
    response = console.post(
        reverse("admin:integrations_inboundwebhook_changelist"),
        {"action": "reprocess", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "1 message(s) queued" in response.content.decode()
    row.refresh_from_db()
    assert row.status == "received"


def test_outbox_redispatch_action(console, db) -> None:
    from django.db import transaction

    from fintech.core.models import OutboxEvent

    with transaction.atomic():
        event = event_emit(type="test.happened", payload={}, profile_id=None)
    OutboxEvent.objects.filter(pk=event.pk).update(status="dispatched")
    console.post(
        reverse("admin:core_outboxevent_changelist"),
        {"action": "redispatch", "_selected_action": [event.pk]},
    )
    event.refresh_from_db()
    assert event.status == "pending"


def test_a_dead_event_is_listed_with_its_error_and_dispatched_again(console, db) -> None:
    from django.db import transaction

    from fintech.core.models import OutboxEvent

    with transaction.atomic():
        event = event_emit(type="test.happened", payload={}, profile_id=None)
    OutboxEvent.objects.filter(pk=event.pk).update(
        status="dead", dispatch_attempts=8, last_error="KeyError: 'id'"
    )
    listing = console.get(reverse("admin:core_outboxevent_changelist") + "?status__exact=dead")
    assert str(event.pk) in listing.content.decode()
    page = console.get(reverse("admin:core_outboxevent_change", args=[event.pk]))
    assert "KeyError" in page.content.decode()
    console.post(
        reverse("admin:core_outboxevent_changelist"),
        {"action": "redispatch", "_selected_action": [event.pk]},
    )
    event.refresh_from_db()
    assert (event.status, event.dispatch_attempts, event.last_error) == ("pending", 0, "")
