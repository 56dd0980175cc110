"""A Xero user changes objects (through the control endpoint); the sandbox then sends Xero's
webhook, signed x-xero-signature = base64(HMAC-SHA256(key, raw body)), to a receiver on a
private port that checks the HMAC itself. And Xero's intent-to-receive handshake."""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal

import pytest

from integrations.models import XeroSandboxWebhook
from integrations.simulators.xero.webhooks import webhook_send, webhook_steps_due
from tests.simulators.test_xero_sandbox_api import contact_of, invoice_body

pytestmark = pytest.mark.django_db(transaction=True)


def deliver_pending() -> list[str]:
    """What the worker does with each webhook's wake-up (no worker runs in these tests)."""
    pending = XeroSandboxWebhook.objects.filter(delivered_at__isnull=True).order_by("created_at")
    return [webhook_send(webhook_id=str(pk)) for pk in pending.values_list("pk", flat=True)]


def test_a_voided_invoice_is_announced_by_a_signed_webhook(xero, xero_receiver, settings) -> None:
    alice = contact_of(xero)
    invoice = xero.ok("PUT", "Invoices", invoice_body(alice["ContactID"]))["Invoices"][0]
    assert XeroSandboxWebhook.objects.count() == 0  # the app's own writes: off by default

    voided = xero.control(f"/objects/invoice/{invoice['InvoiceID']}", {"Status": "VOIDED"})
    assert voided.status_code == 200, voided.text
    assert deliver_pending() == ["delivered"]

    (body, signature, valid) = xero_receiver.received[0]
    key = settings.XERO_WEBHOOK_KEY.encode()
    assert signature == base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    assert valid
    payload = xero_receiver.events()[0]
    assert payload["firstEventSequence"] == payload["lastEventSequence"] == 1
    assert len(payload["entropy"]) == 20
    (event,) = payload["events"]
    assert event == {
        "resourceUrl": f"{xero.api}/Invoices/{invoice['InvoiceID']}",
        "resourceId": invoice["InvoiceID"],
        "eventDateUtc": event["eventDateUtc"],
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": xero.tenant_id,
        "tenantType": "ORGANISATION",
    }
    # The app follows the resourceUrl, as our connector will.
    fetched = xero.session.get(
        event["resourceUrl"],
        headers={"xero-tenant-id": xero.tenant_id, "Accept": "application/json"},
        timeout=10,
    ).json()
    assert fetched["Invoices"][0]["Status"] == "VOIDED"


def test_a_new_total_and_an_archived_contact(xero, xero_receiver) -> None:
    alice = contact_of(xero)
    body = invoice_body(alice["ContactID"], Status="DRAFT")
    invoice = xero.ok("PUT", "Invoices", body)["Invoices"][0]
    changed = xero.control(f"/objects/invoices/{invoice['InvoiceID']}", {"Total": 80.5})
    assert changed.status_code == 200, changed.text
    assert changed.json()["Total"] == 80.5
    assert xero.ok("GET", f"Invoices/{invoice['InvoiceID']}")["Invoices"][0]["Total"] == Decimal(
        "80.5"
    )
    archived = xero.control(f"/objects/contact/{alice['ContactID']}", method="DELETE")
    assert archived.json()["ContactStatus"] == "ARCHIVED"
    assert deliver_pending() == ["delivered", "delivered"]
    events = [p["events"][0] for p in xero_receiver.events()]
    assert [(e["eventCategory"], e["eventType"]) for e in events] == [
        ("INVOICE", "UPDATE"),
        ("CONTACT", "UPDATE"),  # archiving is an UPDATE at Xero
    ]
    assert [p["firstEventSequence"] for p in xero_receiver.events()] == [1, 2]


def test_a_webhook_not_acknowledged_is_sent_again_later(xero, xero_receiver) -> None:
    alice = contact_of(xero)
    xero.control(f"/objects/contact/{alice['ContactID']}", {"Name": "Alice Renamed Ltd"})
    xero_receiver.key = "not-the-key"  # the receiver refuses (401) what it cannot verify
    assert deliver_pending() == ["retry"]
    hook = XeroSandboxWebhook.objects.get()
    assert (hook.attempts, hook.last_status) == (1, "401")
    assert webhook_steps_due() == []  # due again in 5 s, not now
    assert webhook_send(webhook_id=str(hook.pk)) == "skipped"


def test_intent_to_receive_sends_one_good_and_one_bad_signature(xero, xero_receiver) -> None:
    answer = xero.control("/intent-to-receive")
    assert answer.json() == {"valid": 200, "invalid": 401, "ok": True}
    assert [valid for _body, _sig, valid in xero_receiver.received] == [True, False]
    assert xero_receiver.events()[0]["events"] == []


def test_the_apps_own_changes_can_send_webhooks_too(xero, xero_receiver) -> None:
    xero.control("", {"webhooks_on_api_changes": True})
    alice = contact_of(xero)
    assert deliver_pending() == ["delivered"]
    (event,) = xero_receiver.events()[0]["events"]
    assert (event["eventCategory"], event["eventType"], event["resourceId"]) == (
        "CONTACT",
        "CREATE",
        alice["ContactID"],
    )
