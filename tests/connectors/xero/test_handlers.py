"""Our events -> Xero sync jobs: which jobs, once each, what a failure does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from fintech.core.models import OutboxEvent
from integrations.connectors.accounting.xero.handlers import HANDLERS
from integrations.sync.models import Connection, SyncJob, SyncMismatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(alice) -> Connection:
    """The platform's own books, connected to Xero."""
    return Connection.objects.create(
        provider="xero",
        owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE,
        tenant_id="tenant-1",
        token_expires_at=timezone.now() + timedelta(minutes=30),
    )


@pytest.fixture
def alice_books(alice) -> Connection:
    """alice's own Xero, connected by her finance team."""
    return Connection.objects.create(
        provider="xero",
        owner=Connection.Owner.PROFILE,
        profile=alice,
        status=Connection.Status.ACTIVE,
        tenant_id="tenant-alice",
    )


def dispatch(transfer_or_profile_id: int, event_type: str) -> None:
    """Run the Xero handlers for the events of that type (as the relay would)."""
    events = OutboxEvent.objects.filter(type=event_type)
    for event in events:
        if event.payload.get("id", event.profile_id) in (transfer_or_profile_id,) or (
            event_type == "wallet.funded"
        ):
            with transaction.atomic():
                HANDLERS[event_type](event)


def jobs(connection: Connection) -> set[tuple[str, str, str, str]]:
    return {
        (j.object_type, j.action, j.state, j.depends_on.action if j.depends_on else "")
        for j in SyncJob.objects.filter(connection=connection).select_related("depends_on")
    }


def test_a_submitted_transfer_makes_its_contact_fee_and_margin_jobs_once(send, books) -> None:
    transfer = send("processing")
    dispatch(transfer.pk, "transfer.submitted")
    dispatch(transfer.pk, "transfer.submitted")  # replayed
    assert jobs(books) == {
        ("profile", "contact", "pending", ""),
        ("transfer", "fee_invoice", "pending", "contact"),
        ("transfer", "fx_margin", "pending", "contact"),
    }


def test_a_completed_transfer_pays_the_fee_and_books_the_customers_payout(
    send, books, alice_books
) -> None:
    transfer = send("completed")
    dispatch(transfer.pk, "transfer.submitted")
    dispatch(transfer.pk, "transfer.completed")
    assert ("transfer", "fee_payment", "pending", "fee_invoice") in jobs(books)
    assert jobs(alice_books) == {("transfer", "supplier_payout", "pending", "")}


def test_a_failed_transfer_posts_nothing_and_raises_an_exception(send, books) -> None:
    transfer = send("failed")
    dispatch(transfer.pk, "transfer.submitted")
    dispatch(transfer.pk, "transfer.failed")
    states = {(a, s) for _, a, s, _ in jobs(books)}
    assert ("fee_invoice", "skipped") in states
    assert ("fx_margin", "skipped") in states
    assert not any(a in ("fee_credit_note", "fx_margin_reversal") for a, _ in states)
    note = SyncJob.objects.get(connection=books, action="fee_invoice").note
    assert "failed before this reached Xero: nothing posted" in note
    mismatch = SyncMismatch.objects.get(connection=books)
    assert mismatch.kind == SyncMismatch.Kind.TRANSFER_FAILED
    assert mismatch.object_id == transfer.reference
    dispatch(transfer.pk, "transfer.failed")  # replayed: still one exception
    assert SyncMismatch.objects.filter(connection=books).count() == 1


def test_a_failure_after_posting_is_reversed_not_deleted(send, books) -> None:
    transfer = send("failed")
    dispatch(transfer.pk, "transfer.submitted")
    SyncJob.objects.filter(connection=books, action__in=["fee_invoice", "fx_margin"]).update(
        state=SyncJob.State.SYNCED, external_id="X"
    )
    dispatch(transfer.pk, "transfer.failed")
    assert {
        ("transfer", "fee_credit_note", "pending", "fee_invoice"),
        ("transfer", "fx_margin_reversal", "pending", "fx_margin"),
    } <= jobs(books)


def test_a_refund_credits_the_fee_and_reverses_the_margin(send, books) -> None:
    transfer = send("refunded")
    dispatch(transfer.pk, "transfer.submitted")
    SyncJob.objects.filter(connection=books, action__in=["fee_invoice", "fx_margin"]).update(
        state=SyncJob.State.SYNCED, external_id="X"
    )
    dispatch(transfer.pk, "payment.refunded")
    assert {
        ("refund", "fee_credit_note", "pending", "fee_invoice"),
        ("refund", "fx_margin_reversal", "pending", "fx_margin"),
    } <= jobs(books)


def test_a_wallet_funding_goes_to_both_books(alice, books, alice_books) -> None:
    from tests.builders import build_wallet_funding

    build_wallet_funding(profile=alice, currency="GBP", amount_minor=500_00)
    dispatch(alice.pk, "wallet.funded")
    assert ("funding", "funding", "pending", "contact") in jobs(books)
    assert jobs(alice_books) == {("funding", "customer_funding", "pending", "")}


def test_a_disconnected_connection_gets_no_jobs(send, books) -> None:
    Connection.objects.filter(pk=books.pk).update(status=Connection.Status.DISCONNECTED)
    transfer = send("processing")
    dispatch(transfer.pk, "transfer.submitted")
    assert not SyncJob.objects.exists()


def test_a_paused_connection_keeps_its_jobs_waiting(send, books) -> None:
    Connection.objects.filter(pk=books.pk).update(status=Connection.Status.RECONNECT_REQUIRED)
    transfer = send("processing")
    dispatch(transfer.pk, "transfer.submitted")
    assert SyncJob.objects.filter(connection=books, state="pending").count() == 3
