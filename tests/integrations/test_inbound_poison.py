"""A poison inbound message is failed and parked (a dead letter) while the others flow: one
that breaks its handler, one a worker dies on every time, a stray id on the hand-off list."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from fintech.core.models import DeadLetter
from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from integrations.errors import TransientError
from integrations.inbound import handoff
from integrations.inbound.providers import PROVIDERS, Provider
from integrations.inbound.services import DEAD_LETTER_SOURCE, inbound_process, inbound_reprocess
from integrations.models import InboundWebhook
from tests.integrations.test_inbound_webhooks import partner_event, post, process_all

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")


def test_a_message_that_breaks_its_handler_is_parked_and_the_others_apply(
    client, processing
) -> None:
    accepted = partner_event(processing.reference, "payout.accepted")
    poison = partner_event(processing.reference + "-POISON", "payout.failed", event_id="evt_poison")
    sent = partner_event(processing.reference, "payout.sent")
    # The edge refuses a NUL in a body today (fintech/core/safe_input.py) ...
    nul = partner_event(processing.reference + "\x00", "payout.failed", event_id="evt_nul")
    assert post(client, nul).status_code == 400
    for event in (accepted, poison, sent):
        assert post(client, event).status_code == 202
    # ... but a row stored before that guard existed may hold one (escaped in its JSON): its
    # reference reaches the handler's query, which PostgreSQL refuses: an error nobody planned.
    stored = InboundWebhook.objects.get(provider_event_id="evt_poison")
    InboundWebhook.objects.filter(pk=stored.pk).update(
        body=stored.body.replace("-POISON", "\\u0000")
    )

    outcomes = process_all()

    assert sorted(outcomes) == ["failed", "processed", "processed"]
    processing.refresh_from_db()
    assert processing.state == Transfer.State.COMPLETED
    bad = InboundWebhook.objects.get(provider_event_id="evt_poison")
    assert bad.status == "failed"
    assert "DataError" in bad.error
    letter = DeadLetter.objects.get(source=DEAD_LETTER_SOURCE)
    assert letter.reference == f"payout-sandbox:{bad.pk}"
    assert json.loads(letter.payload)["id"] == "evt_poison"
    assert inbound_process(inbound_id=bad.pk) == "skipped"  # not retried by itself


def test_a_message_a_worker_dies_on_every_time_is_failed_after_the_limit(
    client, processing, settings
) -> None:
    settings.INBOUND_WEBHOOK_MAX_ATTEMPTS = 3
    post(client, partner_event(processing.reference, "payout.sent"))
    row = InboundWebhook.objects.get()
    # Three workers claimed it and died: the claim lapsed each time, nothing was recorded.
    InboundWebhook.objects.filter(pk=row.pk).update(
        status="processing", attempts=3, locked_until=timezone.now() - timedelta(seconds=1)
    )

    assert inbound_process(inbound_id=row.pk) == "failed"

    row.refresh_from_db()
    assert row.status == "failed"
    assert row.error.startswith("gave up after 3 attempts")
    assert DeadLetter.objects.filter(source=DEAD_LETTER_SOURCE).count() == 1
    processing.refresh_from_db()
    assert processing.state == Transfer.State.PROCESSING  # never applied
    # The cause fixed, an operator reprocesses it: it gets its full count of attempts again.
    assert inbound_reprocess(actor=OPS, inbound_ids=[row.pk], reason="worker fixed") == 1
    assert inbound_process(inbound_id=row.pk) == "processed"
    processing.refresh_from_db()
    assert processing.state == Transfer.State.COMPLETED


def test_a_stray_id_on_the_hand_off_list_is_parked_and_the_real_ones_published(
    client, processing, redis_server
) -> None:
    r = redis.Redis.from_url(redis_server.url)
    r.flushdb()
    post(client, partner_event(processing.reference, "payout.sent"))
    row = InboundWebhook.objects.get()
    r.lpush(handoff.KEY, b"\xffnot-a-uuid", str(row.pk), b"42")

    assert handoff.drain() == 1

    assert r.llen(handoff.KEY) == 0
    queued = [json.loads(m)["headers"] for m in r.lrange("celery", 0, -1)]
    assert [(h["task"], h["argsrepr"]) for h in queued] == [
        ("integrations.inbound_process", repr((str(row.pk),)))
    ]
    letters = DeadLetter.objects.filter(source=handoff.DEAD_LETTER_SOURCE)
    assert sorted(letters.values_list("reference", flat=True)) == ["42", "\\xffnot-a-uuid"]
    assert inbound_process(inbound_id="42") == "refused"
    r.flushdb()


def always_unavailable(row, event):
    """A provider handler whose partner is down for good (a test provider's handler)."""
    raise TransientError("partner API: HTTP 503")


def test_a_message_failing_transiently_every_time_is_failed_after_the_limit(
    monkeypatch, settings
) -> None:
    settings.INBOUND_WEBHOOK_MAX_ATTEMPTS = 3
    flaky = Provider(
        name="flaky",
        secret_setting="PAYOUT_SANDBOX_WEBHOOK_SECRET",
        event_types=frozenset({"payout.sent"}),
        handler_path=f"{__name__}:always_unavailable",
    )
    monkeypatch.setitem(PROVIDERS, "flaky", flaky)
    event = partner_event("TRN1", "payout.sent", event_id="evt_flaky")
    row = InboundWebhook.objects.create(
        provider="flaky",
        provider_event_id="evt_flaky",
        event_type="payout.sent",
        signature_verdict="valid",
        status="received",
        body=json.dumps(event),
    )

    outcomes = [inbound_process(inbound_id=row.pk) for _ in range(4)]

    assert outcomes == ["retry", "retry", "failed", "skipped"]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error == "gave up after 3 attempts: partner API: HTTP 503"
    letter = DeadLetter.objects.get(source=DEAD_LETTER_SOURCE)
    assert letter.reference == f"flaky:{row.pk}"
