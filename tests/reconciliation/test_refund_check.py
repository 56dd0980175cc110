"""The refund check on real PostgreSQL, transfers refunded through the services and their
events dispatched as the worker does: every refund updated the customer record in the
ledger, the CRM (HubSpot's update job per refund) and the books. One refund whose CRM update
never went out (the injected fault) opens exactly one mismatch; once done, it clears."""

from __future__ import annotations

import pytest
from django.utils import timezone

from fintech.core.models import OutboxEvent
from integrations.reconciliation.checks import CHECKS, CheckContext
from integrations.reconciliation.models import Mismatch
from integrations.reconciliation.runs import reconciliation_run
from integrations.sync.models import Connection, SyncJob
from tests.payments.conftest import dispatch_pending

pytestmark = pytest.mark.django_db


def crm_connection() -> Connection:
    return Connection.objects.create(
        provider="hubspot", kind=Connection.Kind.CRM, owner=Connection.Owner.PLATFORM,
        status=Connection.Status.ACTIVE, tenant_id="4242", tenant_name="4242",
        access_token="pat-test", calls_per_minute=100, calls_window_seconds=10,
    )  # fmt: skip


def update_job(reference: str) -> SyncJob:
    event = OutboxEvent.objects.get(type="payment.refunded", payload__reference=reference)
    return SyncJob.objects.get(object_type="profile", action=f"update:{event.id.hex}")


def done(job: SyncJob) -> None:
    job.skip()  # what an operator does with a job that needs no call; counts as done
    job.save()


def open_refund_mismatches() -> list[Mismatch]:
    return list(
        Mismatch.objects.filter(
            check_name="refund_customer_record", state__in=["open", "investigating"]
        )
    )


def test_a_refund_the_crm_never_heard_of_opens_exactly_one_mismatch(make_transfer):
    crm_connection()
    first, second = make_transfer("refunded"), make_transfer("refunded")
    dispatch_pending()  # HubSpot's handler makes one update job per refund (alice: business)
    check = CHECKS["refund_customer_record"]
    as_of = timezone.localdate()

    # both pending: the CRM has heard of neither yet
    listed = check.func(CheckContext(as_of=as_of, known_at=timezone.now()))
    assert sorted(e.key for e in listed) == sorted(
        [f"refund:{first.reference}", f"refund:{second.reference}"]
    )
    done(update_job(first.reference))  # the fault: the second's update never goes out

    reconciliation_run(as_of=as_of)

    (mismatch,) = open_refund_mismatches()
    assert mismatch.key == f"refund:{second.reference}"
    assert "CRM connection" in mismatch.detail
    assert "pending" in mismatch.detail

    done(update_job(second.reference))
    run = reconciliation_run(as_of=as_of)

    assert open_refund_mismatches() == []
    assert run.counts["checks"]["refund_customer_record"] == 0
    assert Mismatch.objects.get(check_name="refund_customer_record").resolution == "cleared"


def test_a_refund_with_no_crm_connected_is_complete_with_its_ledger_entry(make_transfer):
    make_transfer("refunded")
    dispatch_pending()
    check = CHECKS["refund_customer_record"]

    assert check.func(CheckContext(as_of=timezone.localdate(), known_at=timezone.now())) == []
