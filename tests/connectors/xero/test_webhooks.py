"""Xero's webhooks at /webhooks/xero/: the signature over the raw bytes (HMACs computed here),
the intent-to-receive handshake, each delivery stored once, unknown tenants named."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from integrations.inbound.services import inbound_process
from integrations.models import InboundWebhook

pytestmark = pytest.mark.django_db
KEY = "xero-webhook-key-for-tests"


@pytest.fixture(autouse=True)
def _key(settings):
    settings.XERO_WEBHOOK_KEY = KEY


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def post(client, body: bytes, signature: str | None):
    headers = {"HTTP_X_XERO_SIGNATURE": signature} if signature is not None else {}
    return client.post("/webhooks/xero/", data=body, content_type="application/json", **headers)


INTENT = b'{"events":[],"firstEventSequence": 0,"lastEventSequence": 0,"entropy": "S0m3r4Nd0mt3xt"}'


def event_body(tenant: str = "tenant-unknown", resource: str = "inv-1") -> bytes:
    return json.dumps(
        {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource}",
                    "resourceId": resource,
                    "eventDateUtc": "2026-12-01T10:00:00.000",
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                }
            ],
            "firstEventSequence": 7,
            "lastEventSequence": 7,
            "entropy": "AbCdEf",
        },
        separators=(",", ":"),
    ).encode()


def test_intent_to_receive_with_a_valid_signature_is_200_and_not_stored(client) -> None:
    answer = post(client, INTENT, sign(INTENT))
    assert answer.status_code == 200
    assert not InboundWebhook.objects.filter(signature_verdict="valid").exists()


def test_intent_to_receive_with_an_invalid_signature_is_401(client) -> None:
    assert post(client, INTENT, sign(INTENT, key="another key")).status_code == 401
    assert post(client, INTENT, sign(INTENT + b" ")).status_code == 401  # other bytes
    assert post(client, INTENT, None).status_code == 401
    refused = InboundWebhook.objects.filter(provider="xero")
    assert set(refused.values_list("signature_verdict", flat=True)) == {"invalid", "missing"}


def test_the_signature_is_over_the_raw_bytes_not_the_parsed_json(client) -> None:
    body = event_body()
    reformatted = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert post(client, reformatted, sign(body)).status_code == 401
    assert post(client, body, sign(body)).status_code == 200


def test_a_delivery_is_stored_once_and_an_unknown_tenant_is_a_clear_failure(client) -> None:
    body = event_body(tenant="tenant-nobody-connected")
    assert post(client, body, sign(body)).status_code == 200
    assert post(client, body, sign(body)).json()["status"] == "duplicate"  # Xero retried
    row = InboundWebhook.objects.get(provider="xero", signature_verdict="valid")
    assert inbound_process(inbound_id=row.pk) == InboundWebhook.Status.FAILED
    row.refresh_from_db()
    assert "unknown tenant tenant-nobody-connected" in row.error


def test_a_signed_body_that_is_not_a_xero_event_is_refused(client) -> None:
    body = b'{"events": [{"resourceId": "x"}]}'
    answer = post(client, body, sign(body))
    assert answer.status_code == 400
    assert "resourceId, tenantId, eventCategory and eventType" in answer.json()["detail"]
