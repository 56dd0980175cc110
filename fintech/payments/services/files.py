"""pain.001 files in, pain.002 status reports out (fintech/payments/pain001.py reads and
writes the XML).

A file is one batch, keyed by its MsgId: the same file again (same checksum) is the same
batch, answered again; the same MsgId with other content is a 409. The whole file is refused
(nothing created) if it is not well-formed, not a pain.001.001.03/09, invalid against its
schema, or its NbOfTxs/CtrlSum do not add up. Otherwise each payment is checked on its own:
the valid ones become requests (on through the same pipeline as the API's), the others are
kept on the batch with their reasons, and the pain.002 reports both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from fintech.beneficiaries.models import Beneficiary
from fintech.core.errors import Conflict, DomainError, FieldError
from fintech.core.services import Actor, audit_record
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.payments.models import PaymentBatch, PaymentRequest, Vendor
from fintech.payments.pain001 import (
    TX_STATUS,
    FileRefused,
    Pain001File,
    Pain001Payment,
    TxStatus,
    iso_code,
    pain001_read,
    pain002_build,
)
from fintech.payments.selectors import approval_policy_for
from fintech.payments.services.requests import advance_new, insert_received
from fintech.payments.validation import (
    Lookups,
    PaymentRequestInput,
    PaymentRequestInvalid,
    request_check,
)


class PaymentFileRefused(DomainError):
    code = "payment_file_refused"
    status = 422
    title = "The payment file cannot be taken"


@dataclass(frozen=True, slots=True)
class FileResult:
    batch: PaymentBatch
    created: bool


def _payees(profile: Profile) -> tuple[dict[str, str], dict[str, int]]:
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
    payment: Pain001Payment, *, source_currency: str, payees: tuple[dict, dict]
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
    try:
        parsed = pain001_read(data)
    except FileRefused as exc:
        fields = [FieldError("file", exc.code, exc.message)]
        raise PaymentFileRefused(exc.message, fields=fields) from None
    existing = _existing(profile, parsed)
    if existing is not None:
        return FileResult(existing, created=False)
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
                request_count=len(parsed.payments),
                created_by_label=actor.label,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"file {parsed.message_id!r} is being taken by another request",
            fields=[FieldError("file", "duplicate_message_id", "MsgId already used")],
        ) from exc
    policy = approval_policy_for(profile=profile)
    payees = _payees(profile)
    seen = set(
        PaymentRequest.objects.filter(
            profile=profile, erp_payment_id__in=[p.end_to_end_id for p in parsed.payments]
        ).values_list("erp_payment_id", flat=True)
    )
    rejected: list[dict[str, object]] = []
    inputs = [_input(p, source_currency=source, payees=payees) for p in parsed.payments]
    lookups = Lookups.load(profile=profile, items=[i for i, _ in inputs if i is not None])
    for payment, (data_in, errors) in zip(parsed.payments, inputs, strict=True):
        checked = None
        if data_in is not None:
            checked = request_check(profile=profile, data=data_in, policy=policy, lookups=lookups)
            errors = checked.errors
            if data_in.erp_payment_id in seen:
                errors.append(FieldError("EndToEndId", "duplicate_erp_payment_id", "already sent"))
        if errors or data_in is None or checked is None:
            rejected.append(
                {
                    "pmt_inf_id": payment.pmt_inf_id,
                    "end_to_end_id": payment.end_to_end_id,
                    "reasons": [e.as_dict() for e in errors],
                }
            )
            continue
        seen.add(data_in.erp_payment_id)
        request = insert_received(
            actor=actor, profile=profile, data=data_in, checked=checked, batch=batch
        )
        advance_new(request, actor=actor, checked=checked, policy=policy)
    batch.rejected_items = rejected
    batch.save(update_fields=["rejected_items"])
    audit_record(
        actor=actor,
        action="payment_file.imported",
        target=batch,
        data={
            "message_id": parsed.message_id,
            "version": parsed.version,
            "payments": len(parsed.payments),
            "rejected": len(rejected),
            "checksum": parsed.checksum,
        },
    )
    return FileResult(batch, created=True)


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
