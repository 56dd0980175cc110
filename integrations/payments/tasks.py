"""The ERP payments' Celery task: a pain.001 file's payments taken in the background.

Stable name: queued messages refer to it. The message only wakes a worker: the intake row is
the record (a due time the scan `payment_file_intake` finds), claimed before anything is done.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from fintech.payments.models import PaymentFileIntake
from fintech.payments.services.intake import (
    LEASE_SECONDS,
    payment_file_intake_due,
    payment_file_intake_run,
)
from integrations import claims

TASK = "integrations.payment_file_intake"


@shared_task(name=TASK, ignore_result=True)
def payment_file_intake(intake_id: str) -> int:
    # The claim: of two copies of the wake-up (a redelivery, the scan again) one runs; a run
    # that dies leaves the lease to lapse and the scan hands the file on, resumed at its cursor.
    if not claims.claim_one(
        PaymentFileIntake, intake_id, lease_seconds=LEASE_SECONDS, ready=payment_file_intake_due()
    ):
        return 0
    run = payment_file_intake_run(
        intake_id=int(intake_id), budget_seconds=settings.PAYMENT_FILE_RUN_SECONDS
    )
    return run.payments_done


def intakes_due() -> list[object]:
    """For the beat scanner: files with payments left, due, and not held by a live run."""
    return claims.take_due(
        PaymentFileIntake,
        ready=payment_file_intake_due(),
        limit=20,
        republish_after_seconds=60,
        order_by=("next_run_at",),
        due_field="next_run_at",
    )
