"""`/webhooks/<provider>/`: verified before anything else, stored once, processed once and in
order of the provider's occurred-at; every refusal recorded with its verdict."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from fintech.core.services import Actor
from fintech.transfers.models import Transfer, TransferTransition
from integrations import partner_signing
from integrations.inbound.services import inbound_process, inbound_reprocess
from integrations.models import InboundWebhook, PayoutInstruction

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")
URL = "/webhooks/payout-sandbox/"


def post(
    client,
    event: dict,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    header: str | None = None,
    url: str = URL,
):
    body = json.dumps(event).encode()
    if header is None:
        header = partner_signing.sign(
            secret=secret or settings.PAYOUT_SANDBOX_WEBHOOK_SECRET,
            body=body,
            timestamp=timestamp,
        )
    extra = {"HTTP_SANDBOX_SIGNATURE": header} if header else {}
    return client.post(url, body, content_type="application/json", **extra)


def partner_event(reference: str, type_: str, *, event_id: str | None = None, at=None) -> dict:
    at = at or timezone.now()
    return {
        "id": event_id or f"evt_{type_}_{reference}",
        "type": type_,
        "created_at": at.isoformat(),
        "data": {
            "payout_id": "po_1",
            "client_reference": reference,
            "status": type_[7:],
            "failure_code": "invalid_account",
            "failure_message": "closed",
        },
    }


def process_all() -> list[str]:
    ids = InboundWebhook.objects.filter(status="received").order_by("received_at")
    return [inbound_process(inbound_id=pk) for pk in ids.values_list("pk", flat=True)]


def test_a_signed_status_completes_the_transfer(client, processing) -> None:
    response = post(client, partner_event(processing.reference, "payout.sent"))
    assert response.status_code == 202
    assert json.loads(response.content)["status"] == "accepted"
    assert process_all() == ["processed"]
    processing.refresh_from_db()
    assert processing.state == Transfer.State.COMPLETED
    transition = TransferTransition.objects.get(transfer=processing, transition="complete")
    assert transition.actor_label == "system:payout-sandbox"
    row = InboundWebhook.objects.get()
    assert (row.signature_verdict, row.status) == ("valid", "processed")
    assert PayoutInstruction.objects.get().status == "sent"


def test_a_duplicate_and_a_replay_are_processed_once(client, processing) -> None:
    event = partner_event(processing.reference, "payout.sent")
    body = json.dumps(event).encode()
    header = partner_signing.sign(secret=settings.PAYOUT_SANDBOX_WEBHOOK_SECRET, body=body)
    first = client.post(URL, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=header)
    # The partner retries, and an attacker replays the captured request byte for byte.
    again = post(client, event)
    replay = client.post(URL, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=header)
    assert [first.status_code, again.status_code, replay.status_code] == [202, 200, 200]
    assert json.loads(replay.content)["status"] == "duplicate"
    assert InboundWebhook.objects.count() == 1
    row = InboundWebhook.objects.get()
    assert inbound_process(inbound_id=row.pk) == "processed"
    assert inbound_process(inbound_id=row.pk) == "skipped"  # the task delivered twice
    # An operator reprocesses it: the status is already applied, nothing moves again.
    assert inbound_reprocess(actor=OPS, inbound_ids=[row.pk]) == 1
    assert inbound_process(inbound_id=row.pk) == "ignored"
    assert (
        TransferTransition.objects.filter(transfer=processing, transition="complete").count() == 1
    )


def test_a_forged_signature_is_refused_and_recorded(client, processing) -> None:
    response = post(client, partner_event(processing.reference, "payout.sent"), secret="forged")
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "signature_invalid"
    row = InboundWebhook.objects.get()
    assert (row.signature_verdict, row.status) == ("invalid", "rejected")
    assert process_all() == []
    assert inbound_process(inbound_id=row.pk) == "skipped"  # never processed, even if asked
    processing.refresh_from_db()
    assert processing.state == Transfer.State.PROCESSING


def test_a_missing_signature_is_401(client, processing) -> None:
    response = post(client, partner_event(processing.reference, "payout.sent"), header="")
    assert response.status_code == 401
    assert InboundWebhook.objects.get().signature_verdict == "missing"


def test_a_stale_timestamp_is_refused(client, processing) -> None:
    old = int(time.time()) - 301
    response = post(client, partner_event(processing.reference, "payout.sent"), timestamp=old)
    assert response.status_code == 400
    assert json.loads(response.content)["error"] == "timestamp_stale"
    assert InboundWebhook.objects.get().signature_verdict == "stale"


def test_a_body_changed_after_signing_is_refused(client, processing) -> None:
    event = partner_event(processing.reference, "payout.sent")
    header = partner_signing.sign(
        secret=settings.PAYOUT_SANDBOX_WEBHOOK_SECRET, body=json.dumps(event).encode()
    )
    event["data"]["status"] = "failed"
    assert post(client, event, header=header).status_code == 401


def test_an_unknown_provider_is_404_and_recorded(client) -> None:
    response = post(client, {"id": "x"}, url="/webhooks/nobody/")
    assert response.status_code == 404
    row = InboundWebhook.objects.get()
    assert (row.provider, row.signature_verdict) == ("nobody", "unknown_provider")


def test_malformed_json_is_400_and_recorded(client) -> None:
    body = b"{not json"
    header = partner_signing.sign(secret=settings.PAYOUT_SANDBOX_WEBHOOK_SECRET, body=body)
    response = client.post(
        URL, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=header
    )
    assert response.status_code == 400
    row = InboundWebhook.objects.get()
    assert (row.signature_verdict, row.status) == ("valid", "rejected")
    assert "JSON" in row.error


def test_an_unknown_event_type_is_stored_and_ignored(client, processing) -> None:
    response = post(client, partner_event(processing.reference, "payout.teleported"))
    assert response.status_code == 202
    row = InboundWebhook.objects.get()
    assert row.status == "ignored"
    assert "unknown event type" in row.error


def test_an_event_for_an_unknown_transfer_fails_with_its_reason(client, processing) -> None:
    post(client, partner_event("TRNOSUCHTHING", "payout.sent"))
    assert process_all() == ["failed"]
    row = InboundWebhook.objects.get()
    assert "unknown transfer" in row.error


def test_statuses_out_of_order_apply_by_occurred_at(client, processing) -> None:
    now = timezone.now()
    # "sent" happened after "accepted", but arrives first.
    post(client, partner_event(processing.reference, "payout.sent", at=now))
    post(
        client,
        partner_event(processing.reference, "payout.accepted", at=now - timedelta(seconds=30)),
    )
    assert process_all() == ["processed", "ignored"]
    ignored = InboundWebhook.objects.get(event_type="payout.accepted")
    assert ignored.error.startswith("stale:")
    assert PayoutInstruction.objects.get().status == "sent"
    processing.refresh_from_db()
    assert processing.state == Transfer.State.COMPLETED


def test_a_failed_payout_fails_the_transfer_with_the_partner_reason(client, processing) -> None:
    post(client, partner_event(processing.reference, "payout.failed"))
    assert process_all() == ["processed"]
    processing.refresh_from_db()
    assert processing.state == Transfer.State.FAILED
    assert "invalid_account" in processing.failure_reason


def test_a_returned_payout_after_completion_refunds(client, processing) -> None:
    now = timezone.now()
    post(client, partner_event(processing.reference, "payout.sent", at=now - timedelta(seconds=5)))
    post(client, partner_event(processing.reference, "payout.returned", at=now))
    assert process_all() == ["processed", "processed"]
    processing.refresh_from_db()
    assert processing.state == Transfer.State.REFUNDED
