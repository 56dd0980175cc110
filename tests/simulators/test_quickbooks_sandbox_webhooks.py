"""The sandbox's webhooks, both shapes, signed intuit-signature with the verifier token, sent
over real HTTP to OUR receiver (/webhooks/quickbooks/ on the live server) which must accept
them; Change Data Capture reports the same changes, deletions included."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.connectors.accounting.quickbooks.webhooks import changes_of
from integrations.models import InboundWebhook, QuickBooksSandboxWebhook
from integrations.simulators.quickbooks import webhooks
from integrations.simulators.quickbooks.webhooks import webhook_send, webhook_steps_due
from tests.integrations.conftest import wait_for
from tests.simulators.test_quickbooks_sandbox_api import customer, journal_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def to_our_receiver(settings, live_server) -> str:
    url = f"{live_server.url}/webhooks/quickbooks/"
    settings.QUICKBOOKS_SANDBOX_WEBHOOK_URL = url
    return url


def deliver_pending() -> list[str]:
    """What the worker does with each webhook's wake-up (no worker runs in these tests)."""
    pending = QuickBooksSandboxWebhook.objects.filter(delivered_at__isnull=True)
    return [
        webhook_send(webhook_id=str(pk))
        for pk in pending.order_by("created_at").values_list("pk", flat=True)
    ]


def received() -> list[InboundWebhook]:
    return list(InboundWebhook.objects.filter(provider="quickbooks").order_by("received_at"))


def test_classic_webhooks_are_signed_and_accepted_by_our_receiver(qbo, to_our_receiver) -> None:
    alice = customer(qbo)
    qbo.control(f"/objects/Customer/{alice['Id']}", {"Notes": "changed by a QuickBooks user"})
    assert deliver_pending() == ["delivered", "delivered"]
    rows = received()
    assert [r.signature_verdict for r in rows] == ["valid", "valid"]
    bodies = [json.loads(r.body) for r in rows]
    (note,) = bodies[0]["eventNotifications"]
    assert note["realmId"] == qbo.realm_id
    assert note["dataChangeEvent"]["entities"] == [
        {
            "name": "Customer",
            "id": alice["Id"],
            "operation": "Create",
            "lastUpdated": alice["MetaData"]["LastUpdatedTime"],
        }
    ]
    changes = [c for body in bodies for c in changes_of(body)]
    assert [(c.entity, c.entity_id, c.operation) for c in changes] == [
        ("Customer", alice["Id"], "Create"),
        ("Customer", alice["Id"], "Update"),
    ]
    # The user's change raised the SyncToken behind the app's back.
    assert qbo.ok("GET", f"customer/{alice['Id']}")["Customer"]["SyncToken"] == "1"


def test_cloudevents_webhooks_are_accepted_by_our_receiver(qbo, to_our_receiver) -> None:
    assert qbo.control("", {"webhook_format": "cloudevents"}).json()["webhook_format"] == (
        "cloudevents"
    )
    entry = qbo.create("JournalEntry", journal_body())
    qbo.ok("POST", "journalentry?operation=delete", {"Id": entry["Id"], "SyncToken": "0"})
    assert deliver_pending() == ["delivered", "delivered"]
    rows = received()
    assert [r.signature_verdict for r in rows] == ["valid", "valid"]
    events = [json.loads(r.body)[0] for r in rows]
    assert [e["type"] for e in events] == [
        "qbo.journalentry.created.v1",
        "qbo.journalentry.deleted.v1",
    ]
    assert {e["intuitaccountid"] for e in events} == {qbo.realm_id}
    assert {e["intuitentityid"] for e in events} == {entry["Id"]}
    assert {e["specversion"] for e in events} == {"1.0"}


def test_a_wrong_signature_is_refused_and_the_webhook_sent_again_later(
    qbo, to_our_receiver, monkeypatch
) -> None:
    customer(qbo)
    hook = QuickBooksSandboxWebhook.objects.get()
    original = webhooks.sign
    monkeypatch.setattr(webhooks, "sign", lambda body, verifier=None: original(body, "forged"))
    assert webhook_send(webhook_id=str(hook.pk)) == "retry"
    hook.refresh_from_db()
    assert (hook.attempts, hook.last_status) == (1, "401")  # our receiver refused it
    assert received()[0].signature_verdict == "invalid"
    assert webhook_steps_due() == []  # due again in 5 s, not now
    QuickBooksSandboxWebhook.objects.filter(pk=hook.pk).update(next_step_at=timezone.now())
    monkeypatch.setattr(webhooks, "sign", original)
    assert [str(pk) for pk in webhook_steps_due()] == [str(hook.pk)]  # the scan finds it
    assert webhook_send(webhook_id=str(hook.pk)) == "delivered"


def test_webhooks_can_be_turned_off(qbo, to_our_receiver) -> None:
    qbo.control("", {"webhooks_on": False})
    customer(qbo)
    assert not QuickBooksSandboxWebhook.objects.exists()


def test_change_data_capture_reports_changes_and_deletions(qbo) -> None:
    since = (timezone.now() - timedelta(seconds=5)).isoformat()
    alice = customer(qbo)
    entry = qbo.create("JournalEntry", journal_body())
    qbo.ok("POST", "journalentry?operation=delete", {"Id": entry["Id"], "SyncToken": "0"})
    qbo.control(f"/objects/Customer/{alice['Id']}", method="DELETE")  # made inactive
    response = qbo.session.get(
        f"{qbo.api}/cdc",
        params={"entities": "Customer,JournalEntry,Bill", "changedSince": since},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    (cdc,) = response.json()["CDCResponse"]
    customers, entries, bills = cdc["QueryResponse"]
    assert [(c["Id"], c["Active"], c["SyncToken"]) for c in customers["Customer"]] == [
        (alice["Id"], False, "1")
    ]
    assert entries["JournalEntry"] == [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": entry["Id"],
            "MetaData": {
                "LastUpdatedTime": entries["JournalEntry"][0]["MetaData"]["LastUpdatedTime"]
            },
        }
    ]
    assert bills == {}
    too_old = qbo.session.get(
        f"{qbo.api}/cdc",
        params={"entities": "Customer", "changedSince": "2020-01-01T00:00:00Z"},
        headers={"Accept": "application/json"},
    )
    assert too_old.status_code == 400


@pytest.mark.slow
def test_a_real_worker_delivers_to_our_receiver(
    qbo, to_our_receiver, start_worker, live_server
) -> None:
    start_worker(base_url=live_server.url)
    customer(qbo)
    wait_for(lambda: received(), timeout=30)
    (row,) = received()
    assert row.signature_verdict == "valid"
    hook = QuickBooksSandboxWebhook.objects.get()
    wait_for(lambda: QuickBooksSandboxWebhook.objects.get().delivered_at is not None, timeout=10)
    hook.refresh_from_db()
    assert (hook.attempts, hook.last_status) == (1, "200")


def test_a_journal_entry_deleted_behind_our_back_becomes_a_mismatch(qbo, to_our_receiver) -> None:
    """The whole path: the sandbox's signed webhook, our receiver, our processing."""
    from integrations.inbound.services import inbound_process
    from integrations.sync.models import Connection, SyncJob, SyncMismatch

    qbo.control("", {"webhooks_on": False})
    entry = qbo.create("JournalEntry", journal_body())
    books = Connection.objects.create(
        provider="quickbooks",
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id=qbo.realm_id,
    )
    job = SyncJob.objects.create(
        connection=books, object_type="transfer", object_id="TR1", action="fee_journal",
        external_id=entry["Id"],
    )  # fmt: skip
    SyncJob.objects.filter(pk=job.pk).update(state=SyncJob.State.SYNCED)
    qbo.control("", {"webhooks_on": True, "webhook_format": "cloudevents"})
    deleted = qbo.control(f"/objects/JournalEntry/{entry['Id']}", method="DELETE")
    assert deleted.status_code == 200
    assert deliver_pending() == ["delivered"]
    (row,) = received()
    assert row.signature_verdict == "valid"
    assert inbound_process(inbound_id=row.pk) == InboundWebhook.Status.PROCESSED
    mismatch = SyncMismatch.objects.get(connection=books)
    assert (mismatch.kind, mismatch.object_id) == (SyncMismatch.Kind.EXTERNAL_DELETED, "TR1")
