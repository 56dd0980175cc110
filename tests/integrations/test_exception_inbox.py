"""The exception inbox: one list of what needs a human, from every source, kept in step by a
set-based scan; assign, snooze and resolve in the admin, audited; each role sees only the
sources it may view.

People: fiona (finance), sam (support), eddie (engineering), bob (KYC pending)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fintech.compliance.services import compliance_clear_review, compliance_flag_review
from fintech.core.dead_letters import dead_letter_record, dead_letter_resolve
from fintech.core.models import AuditEvent
from fintech.core.services import Actor
from fintech.transfers.models import Transfer
from fintech.transfers.services import transfer_cancel
from integrations.inbox.scan import _LOCK_KEY, exception_scan
from integrations.inbox.selectors import open_exception_counts, open_q
from integrations.inbox.services import exception_resolve
from integrations.models import ExceptionItem, InboundWebhook, WebhookDelivery
from integrations.reconciliation.mismatches import mismatch_resolve_note
from integrations.reconciliation.models import Mismatch
from integrations.sync.models import Connection, SyncJob
from integrations.sync.services import job_retry
from integrations.webhooks.services import delivery_redeliver, endpoint_create
from tests.builders import build_user
from tests.integrations.conftest import create_transfer

pytestmark = pytest.mark.django_db
OPS = Actor.system("test")
S = ExceptionItem.Source
INBOX = reverse("admin:integrations_exceptionitem_changelist")


def staff(username: str, role: str) -> tuple[Client, object]:
    user = build_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client, user


def open_items(source: str | None = None):
    items = ExceptionItem.objects.filter(open_q())
    return items.filter(source=source) if source else items


# --- sources, built as production builds them where a service exists ---------------------------


def books(status: str = Connection.Status.ACTIVE, provider: str = "xero") -> Connection:
    return Connection.objects.create(
        provider=provider, owner=Connection.Owner.PLATFORM, name="Platform books", status=status
    )


def dead_job(connection_: Connection) -> SyncJob:
    return SyncJob.objects.create(
        connection=connection_,
        object_type="transfer",
        object_id=f"T-{uuid.uuid4().hex[:6]}",
        action="invoice",
        state=SyncJob.State.DEAD,
        last_error="400 ValidationException: Account code 200 is archived",
    )


def exhausted_delivery(profile) -> WebhookDelivery:
    endpoint = endpoint_create(actor=OPS, profile=profile, url="http://127.0.0.1:9/hook").endpoint
    event_id = uuid.uuid4()
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        webhook_id=f"msg_{event_id.hex}",
        event_type="transfer.completed",
        payload={},
        status=WebhookDelivery.Status.EXHAUSTED,
        attempts=8,
        last_error="connection refused",
    )


def recon_mismatch() -> Mismatch:
    return Mismatch.objects.create(
        check_name="statement_line_unmatched",
        key=f"line:{uuid.uuid4().hex[:8]}",
        as_of=date(2026, 11, 30),
        detail="50.00 GBP in, matched to nothing",
        currency="GBP",
        difference_minor=5000,
    )


@pytest.fixture
def everything(alice, bob):
    """One problem of each kind the tests build: a dead sync job, an exhausted delivery, a
    reconciliation mismatch, a dead letter, bob's compliance review, a transfer stuck in
    created past its SLA, a connection whose token refresh was refused, a failed inbound."""
    transfer = create_transfer(alice)
    Transfer.objects.filter(pk=transfer.pk).update(created_at=timezone.now() - timedelta(days=3))
    compliance_flag_review(actor=OPS, status=bob.compliance, reason="structuring pattern")
    return {
        S.SYNC_JOB: dead_job(books()),
        S.WEBHOOK_DELIVERY: exhausted_delivery(alice),
        S.RECON_MISMATCH: recon_mismatch(),
        S.DEAD_LETTER: dead_letter_record(
            source="api.request_log", reference="r-1", payload={}, error="bad row"
        ),
        S.COMPLIANCE_REVIEW: bob.compliance,
        S.TRANSFER_STUCK: transfer,
        S.CONNECTION: books(Connection.Status.RECONNECT_REQUIRED, provider="quickbooks"),
        S.INBOUND_WEBHOOK: InboundWebhook.objects.create(
            provider="payout-sandbox",
            provider_event_id="evt_1",
            signature_verdict=InboundWebhook.Verdict.VALID,
            status=InboundWebhook.Status.FAILED,
            error="unknown transfer",
        ),
    }


# --- the scan -----------------------------------------------------------------------------------


def test_each_problem_appears_once_however_often_the_scan_runs(everything):
    first = exception_scan()
    assert first.ran
    assert {s for s, n in first.opened.items() if n} == set(everything)
    assert exception_scan().opened == dict.fromkeys(first.opened, 0)
    assert open_items().count() == len(everything)
    job = everything[S.SYNC_JOB]
    item = open_items(S.SYNC_JOB).get()
    assert (item.source_id, item.severity) == (str(job.pk), ExceptionItem.Severity.HIGH)
    assert item.title.startswith(f"Sync invoice transfer {job.object_id} dead: 400")
    assert open_items(S.TRANSFER_STUCK).get().source_id.endswith(":created")
    # The compliance review's reason is a compliance note: never in the title.
    assert "structuring" not in open_items(S.COMPLIANCE_REVIEW).get().title


def test_items_resolve_when_their_source_is_fixed(everything, bob):
    exception_scan()
    job_retry(actor=OPS, job_id=everything[S.SYNC_JOB].pk, reason="account code fixed")
    delivery_redeliver(actor=OPS, delivery_ids=[everything[S.WEBHOOK_DELIVERY].pk])
    mismatch_resolve_note(actor=OPS, mismatch_id=everything[S.RECON_MISMATCH].pk, note="bank fee")
    dead_letter_resolve(actor=OPS, dead_letter_ids=[everything[S.DEAD_LETTER].pk], note="ok")
    compliance_clear_review(actor=OPS, status=bob.compliance, reason="explained")
    transfer_cancel(actor=OPS, transfer_id=everything[S.TRANSFER_STUCK].pk, reason="abandoned")

    result = exception_scan()

    fixed = {S.SYNC_JOB, S.WEBHOOK_DELIVERY, S.RECON_MISMATCH, S.DEAD_LETTER,
             S.COMPLIANCE_REVIEW, S.TRANSFER_STUCK}  # fmt: skip
    assert {s for s, n in result.resolved.items() if n} == fixed
    assert set(open_items().values_list("source", flat=True)) == set(everything) - fixed
    resolved = ExceptionItem.objects.get(source=S.SYNC_JOB)
    assert resolved.resolved_by is None  # the scan, not a person
    assert resolved.resolution_note.startswith("Fixed at the source")


def test_a_problem_that_comes_back_opens_a_new_item():
    job = dead_job(books())
    exception_scan()
    job_retry(actor=OPS, job_id=job.pk, reason="try again")
    exception_scan()
    # It failed again later: a new item (the old one stays resolved, with its history).
    SyncJob.objects.filter(pk=job.pk).update(
        state=SyncJob.State.DEAD, updated_at=timezone.now() + timedelta(seconds=1)
    )
    exception_scan()
    assert ExceptionItem.objects.filter(source=S.SYNC_JOB, source_id=str(job.pk)).count() == 2
    assert open_items(S.SYNC_JOB).count() == 1


def test_a_person_resolving_an_item_is_not_undone_by_the_next_scan():
    dead_job(books())
    exception_scan()
    fiona = build_user("fiona", is_staff=True, is_superuser=True)
    item = open_items(S.SYNC_JOB).get()
    exception_resolve(actor=Actor.for_user(fiona), user=fiona, item_ids=[item.pk],
                      note="known: Xero support ticket 123")  # fmt: skip
    assert exception_scan().opened[S.SYNC_JOB] == 0
    assert not open_items(S.SYNC_JOB).exists()


def test_a_scan_while_another_runs_returns_at_once_and_opens_nothing():
    dead_job(books())
    other = connections.create_connection("default")  # another process's scan, holding the lock
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
            assert not exception_scan().ran
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    finally:
        other.close()
    assert exception_scan().opened[S.SYNC_JOB] == 1


def test_open_exception_counts_by_source_and_severity(everything):
    exception_scan()
    counts = {(r["source"], r["severity"]): r["count"] for r in open_exception_counts()}
    assert counts[(S.SYNC_JOB, ExceptionItem.Severity.HIGH)] == 1
    assert counts[(S.TRANSFER_STUCK, ExceptionItem.Severity.LOW)] == 1
    assert sum(counts.values()) == len(everything)
    support = build_user("sam", is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    seen = {r["source"] for r in open_exception_counts(user=support)}
    assert seen == {S.COMPLIANCE_REVIEW, S.TRANSFER_STUCK}


# --- the admin ----------------------------------------------------------------------------------


def test_finance_assigns_snoozes_and_resolves_in_the_admin_each_audited(everything):
    exception_scan()
    fiona, fiona_user = staff("fiona", "finance")
    page = fiona.get(INBOX)
    assert page.status_code == 200
    job_item = open_items(S.SYNC_JOB).get()
    assert reverse("admin:integrations_syncjob_change", args=[everything[S.SYNC_JOB].pk]) in (
        page.text
    )

    fiona.post(INBOX, {"action": "assign_to_me", "_selected_action": [job_item.pk]})
    assert ExceptionItem.objects.get(pk=job_item.pk).owner == fiona_user
    mine = fiona.get(INBOX + "?owner=me")
    assert job_item.title in mine.text

    form = fiona.post(INBOX, {"action": "snooze", "_selected_action": [job_item.pk]})
    assert form.status_code == 200
    assert 'name="until"' in form.text  # the intermediate form
    until = timezone.now() + timedelta(hours=2)
    fiona.post(INBOX, {"action": "snooze", "_selected_action": [job_item.pk], "confirm": "yes",
                       "until": until.strftime("%Y-%m-%d %H:%M:%S"),
                       "reason": "Xero outage, status page says 2 h"})  # fmt: skip
    assert not open_items(S.SYNC_JOB).exists()
    assert job_item.title in fiona.get(INBOX + "?status=snoozed").text

    # Acting on a snoozed item: from the snoozed list (the actions work on the list shown).
    fiona.post(INBOX + "?status=snoozed", {"action": "resolve", "_selected_action": [job_item.pk],
               "confirm": "yes", "note": "mapped a live account code and retried"})  # fmt: skip
    done = ExceptionItem.objects.get(pk=job_item.pk)
    assert done.resolved_by == fiona_user
    assert done.resolution_note == "mapped a live account code and retried"

    trail = AuditEvent.objects.filter(target_type="integrations.exceptionitem",
                                      target_id=str(job_item.pk)).order_by("id")  # fmt: skip
    assert [(e.action, e.actor_id) for e in trail] == [
        ("exception.assign", fiona_user.pk),
        ("exception.snooze", fiona_user.pk),
        ("exception.resolve", fiona_user.pk),
    ]
    assert trail[1].reason == "Xero outage, status page says 2 h"


def test_a_resolve_without_a_note_changes_nothing(everything):
    exception_scan()
    fiona, _ = staff("fiona", "finance")
    item = open_items(S.SYNC_JOB).get()
    page = fiona.post(INBOX, {"action": "resolve", "_selected_action": [item.pk],
                              "confirm": "yes", "note": "  "})  # fmt: skip
    assert page.status_code == 200  # the form again, with its error
    assert open_items(S.SYNC_JOB).exists()


def test_a_snoozed_item_comes_back_after_its_time(everything):
    exception_scan()
    fiona, fiona_user = staff("fiona", "finance")
    item = open_items(S.RECON_MISMATCH).get()
    until = timezone.now() + timedelta(hours=1)
    fiona.post(INBOX, {"action": "snooze", "_selected_action": [item.pk], "confirm": "yes",
                       "until": until.strftime("%Y-%m-%d %H:%M:%S"),
                       "reason": "waiting for the bank's answer"})  # fmt: skip
    assert not open_items(S.RECON_MISMATCH).exists()
    with time_machine.travel(until + timedelta(minutes=1)):
        exception_scan()  # the source is still a problem: the same item, no second one
        assert open_items(S.RECON_MISMATCH).get().pk == item.pk
        fiona.force_login(fiona_user)  # her session ended while idle
        assert item.title in fiona.get(INBOX).text


def test_each_role_sees_only_the_sources_it_may_view(everything):
    exception_scan()
    sam, _ = staff("sam", "support")
    eddie, _ = staff("eddie", "engineering")
    by_source = {i.source: i for i in ExceptionItem.objects.all()}

    support_page = sam.get(INBOX + "?status=all")
    assert support_page.status_code == 200
    assert by_source[S.COMPLIANCE_REVIEW].title in support_page.text
    assert by_source[S.SYNC_JOB].title not in support_page.text
    assert by_source[S.RECON_MISMATCH].title not in support_page.text
    # Another source's item by its URL: a 404, never its data.
    job_url = reverse("admin:integrations_exceptionitem_change", args=[by_source[S.SYNC_JOB].pk])
    assert sam.get(job_url).status_code == 404
    # Nor through an action with a forged id.
    sam.post(INBOX, {"action": "resolve", "_selected_action": [by_source[S.SYNC_JOB].pk],
                     "confirm": "yes", "note": "not mine"})  # fmt: skip
    assert ExceptionItem.objects.get(pk=by_source[S.SYNC_JOB].pk).resolved_at is None

    engineering_page = eddie.get(INBOX + "?status=all")
    for visible in (S.WEBHOOK_DELIVERY, S.DEAD_LETTER, S.CONNECTION, S.INBOUND_WEBHOOK):
        assert by_source[visible].title in engineering_page.text
    for hidden in (S.COMPLIANCE_REVIEW, S.SYNC_JOB, S.RECON_MISMATCH):
        assert by_source[hidden].title not in engineering_page.text
    compliance_url = reverse(
        "admin:integrations_exceptionitem_change", args=[by_source[S.COMPLIANCE_REVIEW].pk]
    )
    assert eddie.get(compliance_url).status_code == 404


def test_staff_without_the_inbox_permission_get_a_403():
    nobody = build_user("nina", is_staff=True)
    client = Client()
    client.force_login(nobody)
    assert client.get(INBOX).status_code == 403


def test_beat_runs_the_scan_every_minute():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from fintech.celery import app as celery_app

    migration = importlib.import_module("integrations.migrations.0017_exception_inbox")
    migration.create_schedule(apps, None)  # re-run: transactional tests elsewhere flush it
    migration.create_schedule(apps, None)  # idempotent
    task = PeriodicTask.objects.get(task="integrations.exception_inbox_scan")
    assert (task.interval.every, task.interval.period, task.enabled) == (60, "seconds", True)
    assert "integrations.exception_inbox_scan" in celery_app.tasks


def test_an_items_page_links_to_the_fixing_screen(everything):
    exception_scan()
    fiona, _ = staff("fiona", "finance")
    item = open_items(S.RECON_MISMATCH).get()
    page = fiona.get(reverse("admin:integrations_exceptionitem_change", args=[item.pk]))
    assert page.status_code == 200
    mismatch = everything[S.RECON_MISMATCH]
    assert reverse("admin:integrations_mismatch_change", args=[mismatch.pk]) in page.text
    assert "Match, resolve with a note or write off" in page.text


def test_a_held_payment_request_is_an_item_until_an_operator_rejects_it(alice):
    from fintech.payments.models import PaymentRequest
    from fintech.payments.services.operators import payment_request_operator_reject
    from tests.builders import build_beneficiary

    held = PaymentRequest.objects.create(
        profile=alice,
        erp_payment_id="PAY-7",
        beneficiary=build_beneficiary(profile=alice, currency="EUR", holder_name="Lieferant"),
        amount_side=PaymentRequest.AmountSide.SOURCE,
        amount_minor=500_000,
        currency="GBP",
        source_currency="GBP",
        target_currency="EUR",
        due_date=date(2026, 12, 3),
        state=PaymentRequest.State.HELD,
        suspicious_activity=True,
        maker_label="erp",
    )
    exception_scan()
    item = open_items(S.PAYMENT_HELD).get()
    assert (item.source_id, item.severity) == (str(held.pk), ExceptionItem.Severity.HIGH)
    assert item.title == "Payment request PAY-7 held: Alice Trading Ltd"
    payment_request_operator_reject(actor=OPS, request_id=held.pk, reason="screening confirmed")
    exception_scan()
    assert not open_items(S.PAYMENT_HELD).exists()


def test_the_inbox_page_costs_the_same_queries_for_one_item_or_many(everything):
    from django.test.utils import CaptureQueriesContext

    fiona, fiona_user = staff("fiona", "finance")
    books_ = books(provider="hubspot")
    dead_job(books_)
    exception_scan()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fiona.get(INBOX + "?status=all").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(20):
        dead_job(books_)
    exception_scan()
    ExceptionItem.objects.update(owner=fiona_user)
    assert queries() == few


def test_finance_hands_an_item_to_a_colleague(everything):
    exception_scan()
    fiona, _ = staff("fiona", "finance")
    _, frank = staff("frank", "finance")
    item = open_items(S.RECON_MISMATCH).get()
    form = fiona.post(INBOX, {"action": "assign_to", "_selected_action": [item.pk]})
    assert 'name="owner"' in form.text
    fiona.post(INBOX, {"action": "assign_to", "_selected_action": [item.pk], "confirm": "yes",
                       "owner": frank.pk})  # fmt: skip
    assert ExceptionItem.objects.get(pk=item.pk).owner == frank
    event = AuditEvent.objects.get(action="exception.assign", target_id=str(item.pk))
    assert event.data["owner_id"] == frank.pk
