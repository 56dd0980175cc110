"""QuickBooks' webhooks at /webhooks/quickbooks/: Intuit's known-answer signature vector
(from its .NET SDK's tests, ../shared/third_party/README.md), both payload shapes, each
delivery stored once, a deletion of what we synced raised for operators."""

from __future__ import annotations

import json

import pytest

from integrations.connectors.accounting.quickbooks.webhooks import changes_of, signature
from integrations.inbound.services import inbound_process
from integrations.models import InboundWebhook
from integrations.sync.models import Connection, SyncJob, SyncMismatch

pytestmark = pytest.mark.django_db

# Intuit's known answer: this token over these bytes gives this signature.
INTUIT_TOKEN = "00faeec4-08d0-4996-bb37-698ae19f0149"
INTUIT_BODY = (
    b'{"eventNotifications":[{"realmId":"1269959970","dataChangeEvent":{"entities":['
    b'{"name":"Vendor","id":"40","operation":"Update","lastUpdated":"2016-10-05T03:09:04.000Z"},'
    b'{"name":"Customer","id":"43","operation":"Create","lastUpdated":"2016-10-05T03:07:04.000Z"}'
    b"]}}]}"
)
INTUIT_SIGNATURE = "6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM="


@pytest.fixture(autouse=True)
def _token(settings):
    settings.QUICKBOOKS_WEBHOOK_VERIFIER = INTUIT_TOKEN


def post(client, body: bytes, sig: str | None):
    headers = {"HTTP_INTUIT_SIGNATURE": sig} if sig is not None else {}
    return client.post(
        "/webhooks/quickbooks/", data=body, content_type="application/json", **headers
    )


def test_our_signature_matches_intuits_known_answer() -> None:
    assert signature(INTUIT_TOKEN, INTUIT_BODY) == INTUIT_SIGNATURE


def test_a_signed_delivery_is_accepted_once_and_a_forged_one_refused(client) -> None:
    assert post(client, INTUIT_BODY, INTUIT_SIGNATURE).status_code == 200
    assert post(client, INTUIT_BODY, INTUIT_SIGNATURE).json()["status"] == "duplicate"
    assert post(client, INTUIT_BODY + b" ", INTUIT_SIGNATURE).status_code == 401
    assert post(client, INTUIT_BODY, None).status_code == 401
    assert (
        InboundWebhook.objects.filter(provider="quickbooks", signature_verdict="valid").count() == 1
    )


def test_both_shapes_read_as_the_same_changes() -> None:
    classic = changes_of(json.loads(INTUIT_BODY))

    def cloud_event(n: str, kind: str, entity_id: str, time: str) -> dict[str, object]:
        return {
            "specversion": "1.0",
            "id": n,
            "source": "intuit.qbo",
            "time": time,
            "type": kind,
            "intuitentityid": entity_id,
            "intuitaccountid": "1269959970",
            "data": {},
        }

    cloud = changes_of(
        [
            cloud_event("a1", "qbo.vendor.updated.v1", "40", "2016-10-05T03:09:04Z"),
            cloud_event("a2", "qbo.customer.created.v1", "43", "2016-10-05T03:07:04Z"),
        ]
    )
    assert [(c.realm_id, c.entity.lower(), c.entity_id) for c in classic] == [
        (c.realm_id, c.entity.lower(), c.entity_id) for c in cloud
    ]


def test_an_unknown_realm_is_a_clear_failure(client) -> None:
    post(client, INTUIT_BODY, INTUIT_SIGNATURE)
    row = InboundWebhook.objects.get(provider="quickbooks", signature_verdict="valid")
    assert inbound_process(inbound_id=row.pk) == InboundWebhook.Status.FAILED
    row.refresh_from_db()
    assert "unknown realm 1269959970" in row.error


def test_a_deletion_of_what_we_synced_is_raised_not_overwritten(client) -> None:
    books = Connection.objects.create(
        provider="quickbooks",
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id="1269959970",
    )
    job = SyncJob.objects.create(
        connection=books, object_type="transfer", object_id="TR1", action="fee_journal",
        external_id="77",
    )  # fmt: skip
    SyncJob.objects.filter(pk=job.pk).update(state=SyncJob.State.SYNCED)
    body = json.dumps(
        {"eventNotifications": [{"realmId": "1269959970", "dataChangeEvent": {"entities": [
            {"name": "JournalEntry", "id": "77", "operation": "Delete",
             "lastUpdated": "2026-12-01T10:00:00.000Z"}]}}]}
    ).encode()  # fmt: skip
    assert post(client, body, signature(INTUIT_TOKEN, body)).status_code == 200
    row = InboundWebhook.objects.get(provider="quickbooks", signature_verdict="valid")
    assert inbound_process(inbound_id=row.pk) == InboundWebhook.Status.PROCESSED
    mismatch = SyncMismatch.objects.get(connection=books)
    assert mismatch.kind == SyncMismatch.Kind.EXTERNAL_DELETED
    assert mismatch.object_id == "TR1"
    assert SyncJob.objects.get(pk=job.pk).state == SyncJob.State.SYNCED
