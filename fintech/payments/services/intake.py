"""A pain.001 file's payments taken in chunks: how a 10,000-payment file becomes requests
without holding the file, its payments or one long transaction.

The upload (files.py) validates the file and checks its totals in one streaming pass, stores
it once with a PaymentFileIntake row, and answers. A file of one chunk is then taken inside
the upload; a larger one by a worker: the beat scan `payment_file_intake` (integrations/
payments) finds the due row and a task calls `payment_file_intake_run`.

A run reads the stored file in windows (never whole), skips the payments already taken and
takes the rest PAYMENT_FILE_CHUNK_PAYMENTS at a time. Each chunk is one transaction: its
requests (each through the same pipeline as the API's: state machine, timeline, audit,
events), the payments it refused (on the batch) and the cursor commit together. A worker
killed mid-chunk loses that chunk whole, and the next run starts again at its first payment;
no request is made twice (the cursor, and the ERP payment id unique per business).

What each chunk reads once rather than per payment: the requests already sent with its ERP
payment ids, and its vendors and beneficiaries (validation.Lookups); the business's payees by
IBAN are read once per run.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.db.models import F, Q, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Substr
from django.utils import timezone
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from fintech.beneficiaries.models import Beneficiary
from fintech.core.errors import Conflict, FieldError
from fintech.core.services import Actor, audit_record
from fintech.customers.models import Profile
from fintech.payments.models import (
    ApprovalPolicy,
    PaymentBatch,
    PaymentFileIntake,
    PaymentRequest,
    Vendor,
)
from fintech.payments.pain001 import Pain001Payment, pain001_payments
from fintech.payments.selectors import approval_policy_for
from fintech.payments.services.requests import advance_new, insert_received
from fintech.payments.validation import Lookups, PaymentRequestInput, request_check

logger = logging.getLogger(__name__)

# A run holds its file this long past each committed chunk (a chunk of 500 takes about 40 s
# on a loaded 2-core machine); a worker that dies lets it lapse and the scan hands the file on.
LEASE_SECONDS = 300
# Bytes of the stored file read per query.
WINDOW_BYTES = 256 * 1024

Payees = tuple[dict[str, str], dict[str, int]]


@dataclass(frozen=True, slots=True)
class IntakeRun:
    state: str
    payments_done: int
    chunks: int  # committed by this run


class _StoredFile(io.RawIOBase):
    """The intake's stored file, read WINDOW_BYTES at a time (one query each)."""

    def __init__(self, intake_id: int, size: int) -> None:
        self._intake_id, self._size, self._position = intake_id, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        part = (
            PaymentFileIntake.objects.filter(pk=self._intake_id)
            .annotate(part=Substr("content", self._position + 1, wanted))
            .values_list("part", flat=True)
            .get()
        )
        data = bytes(part)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def stored_file(intake: PaymentFileIntake) -> io.BufferedReader:
    return io.BufferedReader(_StoredFile(intake.pk, intake.size_bytes), WINDOW_BYTES)


def _payees(profile: Profile) -> Payees:
    """IBAN -> ERP vendor id (active vendors), IBAN -> beneficiary id (active beneficiaries).
    One query; the details are decrypted here only to match, never kept or shown."""
    vendors = dict(
        Vendor.objects.filter(profile=profile, is_active=True).values_list(
            "beneficiary_id", "erp_vendor_id"
        )
    )
    by_vendor: dict[str, str] = {}
    by_beneficiary: dict[str, int] = {}
    rows = Beneficiary.objects.filter(profile=profile, is_active=True, scheme="iban").values_list(
        "pk", "bank_details"
    )
    for pk, details in rows:
        iban = str((details or {}).get("iban", ""))
        if pk in vendors:
            by_vendor[iban] = vendors[pk]
        by_beneficiary.setdefault(iban, pk)
    return by_vendor, by_beneficiary


def _input(
    payment: Pain001Payment, *, source_currency: str, payees: Payees
) -> tuple[PaymentRequestInput | None, list[FieldError]]:
    errors: list[FieldError] = []
    by_vendor, by_beneficiary = payees
    vendor_id: str | None = None
    beneficiary_id: int | None = None
    iban = payment.creditor_iban.replace(" ", "").upper()
    if iban:
        try:
            IBAN(iban)
        except SchwiftyException as exc:
            errors.append(FieldError("creditor_iban", "invalid_checksum", str(exc)))
    if payment.creditor_id:
        vendor_id = payment.creditor_id
    elif iban in by_vendor:
        vendor_id = by_vendor[iban]
    elif iban in by_beneficiary:
        beneficiary_id = by_beneficiary[iban]
    elif not errors:
        errors.append(
            FieldError("creditor", "unknown_vendor", "no vendor or beneficiary with this account")
        )
    if payment.execution_date is None:
        errors.append(FieldError("due_date", "due_date_out_of_range", "no execution date"))
    if errors:
        return None, errors
    assert payment.execution_date is not None
    return (
        PaymentRequestInput(
            erp_payment_id=payment.end_to_end_id[:100],
            amount=payment.amount,
            currency=payment.currency,
            due_date=payment.execution_date,
            source_currency=source_currency,
            amount_side=PaymentRequest.AmountSide.TARGET,
            vendor_id=vendor_id,
            beneficiary_id=beneficiary_id,
            erp_approval_ref=payment.instr_id[:100],
            bill_reference=payment.bill_reference[:140],
            remittance_reference=payment.remittance[:140],
            file_pmt_inf_id=payment.pmt_inf_id[:35],
        ),
        [],
    )


def _refused(payment: Pain001Payment, errors: list[FieldError]) -> dict[str, object]:
    return {
        "pmt_inf_id": payment.pmt_inf_id,
        "end_to_end_id": payment.end_to_end_id,
        "reasons": [e.as_dict() for e in errors],
    }


@dataclass(frozen=True, slots=True)
class _Context:
    actor: Actor
    profile: Profile
    batch: PaymentBatch
    policy: ApprovalPolicy
    payees: Payees
    source_currency: str


def _chunk_take(ctx: _Context, chunk: list[Pain001Payment]) -> tuple[int, list[dict[str, object]]]:
    """Make the chunk's requests; answer how many, and the payments refused with reasons."""
    inputs = [_input(p, source_currency=ctx.source_currency, payees=ctx.payees) for p in chunk]
    valid = [i for i, _ in inputs if i is not None]
    lookups = Lookups.load(profile=ctx.profile, items=valid)
    seen = set(
        PaymentRequest.objects.filter(
            profile=ctx.profile, erp_payment_id__in=[i.erp_payment_id for i in valid]
        ).values_list("erp_payment_id", flat=True)
    )
    created, rejected = 0, []
    for payment, (data_in, errors) in zip(chunk, inputs, strict=True):
        if data_in is None:
            rejected.append(_refused(payment, errors))
            continue
        checked = request_check(
            profile=ctx.profile, data=data_in, policy=ctx.policy, lookups=lookups
        )
        if data_in.erp_payment_id in seen:
            checked.errors.append(
                FieldError("EndToEndId", "duplicate_erp_payment_id", "already sent")
            )
        if checked.errors:
            rejected.append(_refused(payment, checked.errors))
            continue
        seen.add(data_in.erp_payment_id)
        try:
            # A savepoint per payment: one that cannot be taken is refused on the batch with
            # its reason (parked for an operator) and the chunk goes on without it.
            with transaction.atomic():
                request = insert_received(
                    actor=ctx.actor, profile=ctx.profile, data=data_in, checked=checked,
                    batch=ctx.batch,
                )  # fmt: skip
                advance_new(request, actor=ctx.actor, checked=checked, policy=ctx.policy)
        except Conflict as exc:  # the same ERP payment id sent meanwhile through the API
            rejected.append(_refused(payment, list(exc.fields)))
            continue
        except DatabaseError:
            raise  # the database, not the payment: the chunk is retried whole
        except Exception as exc:
            logger.exception("payment %s of batch %s parked", payment.end_to_end_id, ctx.batch.pk)
            rejected.append(
                _refused(
                    payment, [FieldError("payment", "not_taken", f"could not be taken: {exc}")]
                )
            )
            continue
        created += 1
    return created, rejected


def _append_rejected(batch_id: int, rejected: list[dict[str, object]]) -> None:
    # jsonb || jsonb in the database: the batch's list is not read back per chunk.
    PaymentBatch.objects.filter(pk=batch_id).update(
        rejected_items=CombinedExpression(
            F("rejected_items"), "||", Value(rejected, output_field=models.JSONField())
        )
    )


def payment_file_intake_run(*, intake_id: int, budget_seconds: float | None = None) -> IntakeRun:
    """Take the file's remaining payments, chunk by chunk, until done, or until
    `budget_seconds` have passed (then its next run is due at once)."""
    intake = (
        PaymentFileIntake.objects.defer("content")
        .select_related("batch", "batch__profile")
        .get(pk=intake_id)
    )
    if intake.state == PaymentFileIntake.State.DONE:
        return IntakeRun(intake.state, intake.payments_done, 0)
    PaymentFileIntake.objects.filter(pk=intake_id, started_at__isnull=True).update(
        state=PaymentFileIntake.State.RUNNING, started_at=timezone.now()
    )
    profile = intake.batch.profile
    ctx = _Context(
        actor=Actor(
            label=intake.actor_label,
            user_id=intake.actor_user_id,
            request_id=intake.actor_request_id,
        ),
        profile=profile,
        batch=intake.batch,
        policy=approval_policy_for(profile=profile),
        payees=_payees(profile),
        source_currency=intake.source_currency,
    )
    cursor = intake.payments_done
    payments = pain001_payments(stored_file(intake), version=intake.batch.file_version, skip=cursor)
    started, chunks = time.monotonic(), 0
    while True:
        chunk = list(islice(payments, settings.PAYMENT_FILE_CHUNK_PAYMENTS))
        with transaction.atomic():
            # Why the row lock and the cursor check: a run whose lease lapsed (a stalled
            # worker) may still be going when the scan hands the file to another; whichever
            # locks second finds the cursor moved and stops, so no chunk is taken twice.
            locked = (
                PaymentFileIntake.objects.defer("content").select_for_update().get(pk=intake_id)
            )
            if locked.payments_done != cursor or locked.state == PaymentFileIntake.State.DONE:
                return IntakeRun(locked.state, locked.payments_done, chunks)
            created, rejected = _chunk_take(ctx, chunk) if chunk else (0, [])
            cursor += len(chunk)
            done = not chunk or cursor >= locked.payments_total
            now = timezone.now()
            PaymentFileIntake.objects.filter(pk=intake_id).update(
                payments_done=cursor,
                requests_created=F("requests_created") + created,
                payments_rejected=F("payments_rejected") + len(rejected),
                chunks_done=F("chunks_done") + 1,
                state=PaymentFileIntake.State.DONE if done else PaymentFileIntake.State.RUNNING,
                locked_until=None if done else now + timedelta(seconds=LEASE_SECONDS),
                next_run_at=None if done else now + timedelta(seconds=LEASE_SECONDS),
                finished_at=now if done else None,
            )
            if rejected:
                _append_rejected(intake.batch_id, rejected)
            if done:
                _imported(ctx, intake_id)
        chunks += 1
        if done:
            return IntakeRun(PaymentFileIntake.State.DONE, cursor, chunks)
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            # Give the file back, due at once: the scan hands the rest to a worker next tick.
            PaymentFileIntake.objects.filter(pk=intake_id, payments_done=cursor).update(
                next_run_at=timezone.now(), locked_until=None
            )
            return IntakeRun(PaymentFileIntake.State.RUNNING, cursor, chunks)


def _imported(ctx: _Context, intake_id: int) -> None:
    intake = PaymentFileIntake.objects.defer("content").get(pk=intake_id)
    audit_record(
        actor=ctx.actor,
        action="payment_file.imported",
        target=ctx.batch,
        data={
            "message_id": ctx.batch.message_id,
            "version": ctx.batch.file_version,
            "payments": intake.payments_total,
            "requests": intake.requests_created,
            "rejected": intake.payments_rejected,
            "checksum": ctx.batch.checksum,
        },
    )


def payment_file_intake_due() -> Q:
    """Intakes with payments left whose run is due (the scan's question; it claims them)."""
    return Q(
        state__in=[PaymentFileIntake.State.PENDING, PaymentFileIntake.State.RUNNING],
        next_run_at__lte=timezone.now(),
    )
