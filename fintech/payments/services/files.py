"""pain.001 files in, pain.002 status reports out (fintech/payments/pain001.py reads and
writes the XML).

A file is one batch, keyed by its MsgId: the same file again (same checksum) is the same
batch, answered again; the same MsgId with other content is a 409. The whole file is refused
(nothing created) if it is not well-formed, not a pain.001.001.03/09, invalid against its
schema, or its NbOfTxs/CtrlSum do not add up. Otherwise the file is stored once and each
payment is checked on its own (intake.py, in chunks, in the background for a file larger
than one chunk): the valid ones become requests (on through the same pipeline as the API's),
the others are kept on the batch with their reasons, and the pain.002 reports both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fintech.core.errors import Conflict, DomainError, FieldError
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.payments.models import PaymentBatch, PaymentFileIntake
from fintech.payments.pain001 import (
    TX_STATUS,
    FileRefused,
    Pain001File,
    TxStatus,
    iso_code,
    pain001_check,
    pain002_build,
)
from fintech.payments.services.intake import payment_file_intake_run
from fintech.payments.validation import PaymentRequestInvalid


class PaymentFileRefused(DomainError):
    code = "payment_file_refused"
    status = 422
    title = "The payment file cannot be taken"


@dataclass(frozen=True, slots=True)
class FileResult:
    batch: PaymentBatch
    created: bool
    # Its payments are still being taken in the background (the batch shows the progress).
    in_background: bool = False


def _existing(profile: Profile, parsed: Pain001File) -> PaymentBatch | None:
    batch = PaymentBatch.objects.filter(
        profile=profile, erp_batch_id=f"pain.001:{parsed.message_id}"
    ).first()
    if batch is not None and batch.checksum != parsed.checksum:
        raise Conflict(
            f"MsgId {parsed.message_id!r} was already sent with other content",
            fields=[FieldError("file", "duplicate_message_id", "MsgId already used")],
        )
    return batch


@service_transaction
def payment_file_import(
    *, actor: Actor, profile: Profile, data: bytes, source_currency: str = ""
) -> FileResult:
    """Validate the file whole (schema, NbOfTxs, CtrlSum: one streaming pass), store it once
    with its intake, and take its payments: now if they fit in one chunk, else in the
    background (intake.py), chunk by chunk."""
    try:
        parsed = pain001_check(data)
    except FileRefused as exc:
        fields = [FieldError("file", exc.code, exc.message)]
        raise PaymentFileRefused(exc.message, fields=fields) from None
    existing = _existing(profile, parsed)
    if existing is not None:
        return FileResult(existing, created=False, in_background=_in_background(existing))
    source = source_currency or parsed.debtor_currency
    if not source:
        raise PaymentRequestInvalid(
            [FieldError("source_currency", "required", "say which wallet currency pays")]
        )
    try:
        with transaction.atomic():  # a concurrent upload of the same file: a 409, not a 500
            batch = PaymentBatch.objects.create(
                profile=profile,
                source=PaymentBatch.Source.PAIN001,
                erp_batch_id=f"pain.001:{parsed.message_id}",
                checksum=parsed.checksum,
                file_version=parsed.version,
                message_id=parsed.message_id[:35],
                request_count=parsed.payment_count,
                created_by_label=actor.label,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"file {parsed.message_id!r} is being taken by another request",
            fields=[FieldError("file", "duplicate_message_id", "MsgId already used")],
        ) from exc
    intake = PaymentFileIntake.objects.create(
        batch=batch,
        content=data,
        size_bytes=len(data),
        source_currency=source,
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_request_id=actor.request_id[:64],
        payments_total=parsed.payment_count,
        next_run_at=timezone.now(),  # due at once: the scan's next tick
    )
    audit_record(
        actor=actor,
        action="payment_file.received",
        target=batch,
        data={"message_id": parsed.message_id, "payments": parsed.payment_count,
              "bytes": len(data), "checksum": parsed.checksum},
    )  # fmt: skip
    if parsed.payment_count <= settings.PAYMENT_FILE_CHUNK_PAYMENTS:
        # One chunk: taken inside the upload, so the answer shows every request.
        payment_file_intake_run(intake_id=intake.pk)
        batch.refresh_from_db(fields=["rejected_items"])  # appended in the database
        return FileResult(batch, created=True)
    return FileResult(batch, created=True, in_background=True)


def _in_background(batch: PaymentBatch) -> bool:
    return PaymentFileIntake.objects.filter(
        batch=batch, state__in=[PaymentFileIntake.State.PENDING, PaymentFileIntake.State.RUNNING]
    ).exists()


def payment_batch_pain002(*, batch: PaymentBatch) -> bytes:
    """The batch's status report now: accepted, pending, settled, rejected or returned, each
    payment with its ISO reason codes."""
    transactions: list[TxStatus] = []
    for request in batch.requests.order_by("id"):
        reasons = [(iso_code(r.get("code", "")), r.get("message", "")) for r in request.reasons]
        if request.state == "failed" and not reasons:
            reasons = [("NARR", request.failure_reason or "payout failed")]
        transactions.append(
            TxStatus(
                pmt_inf_id=request.file_pmt_inf_id,
                end_to_end_id=request.erp_payment_id,
                status=TX_STATUS[request.state],
                reasons=reasons if TX_STATUS[request.state] in ("RJCT", "PDNG") else [],
            )
        )
    for item in batch.rejected_items:
        transactions.append(
            TxStatus(
                pmt_inf_id=str(item.get("pmt_inf_id", "")),
                end_to_end_id=str(item.get("end_to_end_id", "")),
                status="RJCT",
                reasons=[(iso_code(r["code"]), r["message"]) for r in item.get("reasons", [])],
            )
        )
    statuses = {t.status for t in transactions}
    if statuses == {"RJCT"}:
        group = "RJCT"
    elif "RJCT" in statuses:
        group = "PART"
    elif statuses == {"ACSC"}:
        group = "ACSC"
    else:
        group = "ACCP"
    return pain002_build(
        message_id=f"STS-{uuid.uuid4().hex[:30]}",
        original_message_id=batch.message_id or batch.erp_batch_id,
        original_version=batch.file_version or "pain.001",
        original_count=batch.request_count,
        group_status=group,
        group_reason=None,
        transactions=transactions,
    )
