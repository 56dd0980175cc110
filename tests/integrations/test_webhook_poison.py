"""A delivery that breaks its own attempt (here: an endpoint whose stored secret is unusable)
is failed and parked as a dead letter; the event's other deliveries go out."""

from __future__ import annotations

import pytest

from fintech.core.models import DeadLetter
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.relay import event_dispatch
from integrations.webhooks.services import (
    DEAD_LETTER_SOURCE,
    deliveries_due,
    delivery_attempt,
)
from tests.integrations.test_webhook_delivery import latest_event, subscribe

pytestmark = pytest.mark.django_db


def test_a_delivery_that_breaks_its_attempt_is_parked_and_the_others_go_out(
    alice, receiver
) -> None:
    good = subscribe(alice, receiver).endpoint
    bad = subscribe(alice, receiver).endpoint
    # A secret the signing library cannot read (a botched migration, a bad manual edit).
    WebhookEndpoint.objects.filter(pk=bad.pk).update(secret="whsec_%%%not base64%%%")
    event = latest_event(alice, "business.verified")
    assert event_dispatch(event_id=str(event.pk)) == 2
    good_delivery = WebhookDelivery.objects.get(event_id=event.pk, endpoint=good)
    bad_delivery = WebhookDelivery.objects.get(event_id=event.pk, endpoint=bad)

    assert delivery_attempt(delivery_id=bad_delivery.pk) == "failed"
    assert delivery_attempt(delivery_id=good_delivery.pk) == "succeeded"

    assert len(receiver.received) == 1
    bad_delivery.refresh_from_db()
    assert bad_delivery.status == WebhookDelivery.Status.FAILED
    assert bad_delivery.last_error.startswith("parked: ")
    assert bad_delivery.locked_until is None
    assert bad_delivery.pk not in deliveries_due()  # not picked up again and again
    attempt = WebhookAttempt.objects.get(delivery=bad_delivery)
    assert attempt.error.startswith("parked: ")
    letter = DeadLetter.objects.get(source=DEAD_LETTER_SOURCE)
    assert letter.reference == str(bad_delivery.pk)
    assert str(event.pk) in letter.payload
    assert letter.resolved_at is None
