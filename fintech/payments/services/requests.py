"""Payment requests in: one, or a batch; then the pipeline to a funded transfer.

Intake (one transaction with the API's idempotency record): check every request, every
reason at once (a batch is refused whole, each reason under `requests[i].`: nothing is
half-created); insert each as `received`; then per request:
- a duplicate (same vendor, amount and bill reference within the window) or a screening trip
  -> `held` for an operator (screening also sets the suspicious-activity flag);
- otherwise `validated`; the customer's approval rules may then ask for a second approver
  -> `awaiting_approval` with a due time (the expiry scan finds it, see approvals.py);
- otherwise `execute`: quote -> `quoted`, transfer -> `transfer_created`, and fund it from the
  wallet when the balance allows (the transfer's `transfer.funded` event then moves the
  request to `funded`: see follow.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pghistory
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fintech.core.errors import Conflict, DomainError, FieldError
from fintech.core.money import format_minor
from fintech.core.services import Actor
from fintech.core.transactions import service_transaction
from fintech.customers.models import Profile
from fintech.payments.models import ApprovalPolicy, PaymentBatch, PaymentRequest
from fintech.payments.screening import ScreeningSubject, screen
from fintech.payments.selectors import approval_policy_for
from fintech.payments.services.lifecycle import move, record_transition
from fintech.payments.validation import (
    Checked,
    Lookups,
    PaymentRequestInput,
    PaymentRequestInvalid,
    duplicate_of,
    request_check,
)
from fintech.quotes.services import quote_create
from fintech.transfers.services import transfer_create, transfer_fund

ERP_BATCH_ID_MAX = 100


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch: PaymentBatch
    requests: list[PaymentRequest]


def _prefixed(errors: list[FieldError], prefix: str) -> list[FieldError]:
    return [FieldError(f"{prefix}{e.field}", e.code, e.message) for e in errors]


def _check_all(
    *, profile: Profile, items: list[PaymentRequestInput], policy: ApprovalPolicy, prefix: str
) -> list[Checked]:
    """Check every item; raise PaymentRequestInvalid with every reason of every item."""
    errors: list[FieldError] = []
    results: list[Checked] = []
    seen: dict[str, int] = {}
    lookups = Lookups.load(profile=profile, items=items)
    for index, data in enumerate(items):
        item_prefix = prefix.format(index=index)
        checked = request_check(profile=profile, data=data, policy=policy, lookups=lookups)
        if data.erp_payment_id in seen:
            checked.errors.append(
                FieldError(
                    "erp_payment_id",
                    "duplicate_erp_payment_id",
                    f"also used by item {seen[data.erp_payment_id]} of this batch",
                )
            )
        seen.setdefault(data.erp_payment_id, index)
        errors.extend(_prefixed(checked.errors, item_prefix))
        results.append(checked)
    existing = set(
        PaymentRequest.objects.filter(
            profile=profile, erp_payment_id__in=[d.erp_payment_id for d in items]
        ).values_list("erp_payment_id", flat=True)
    )
    for index, data in enumerate(items):
        if data.erp_payment_id in existing:
            errors.append(
                FieldError(
                    f"{prefix.format(index=index)}erp_payment_id",
                    "duplicate_erp_payment_id",
                    f"payment {data.erp_payment_id!r} was already sent (another request)",
                )
            )
    if errors:
        raise PaymentRequestInvalid(errors)
    return results


def _approval_reasons(request: PaymentRequest, policy: ApprovalPolicy) -> list[str]:
    reasons: list[str] = []
    vendor = request.vendor
    if vendor is not None and vendor.needs_approval and policy.approve_new_or_changed_vendors:
        reasons.append(vendor.approval_reason or "vendor_changed")
    thresholds = {**_default_thresholds(), **(policy.thresholds_minor or {})}
    threshold = thresholds.get(request.currency)
    if threshold is None:
        above = policy.approve_unlisted_currencies
    else:
        above = request.amount_minor >= int(threshold)
    if above:
        reasons.append("above_threshold")
    return reasons


def _default_thresholds() -> dict[str, int]:
    return dict(settings.ERP_APPROVAL_THRESHOLDS_MINOR)


def insert_received(
    *, actor: Actor, profile: Profile, data: PaymentRequestInput, checked: Checked,
    batch: PaymentBatch | None,
) -> PaymentRequest:  # fmt: skip
    assert checked.beneficiary is not None
    # A savepoint around the insert: a concurrent request with the same ERP payment id (another
    # key, another batch) that committed first makes ours a clear 409, not a 500.
    try:
        with (
            transaction.atomic(),
            pghistory.context(actor=actor.label, request_id=actor.request_id),
        ):
            request = PaymentRequest.objects.create(
                profile=profile,
                batch=batch,
                erp_payment_id=data.erp_payment_id,
                erp_approval_ref=data.erp_approval_ref,
                erp_approver=data.erp_approver,
                erp_approved_at=data.erp_approved_at,
                vendor=checked.vendor,
                beneficiary=checked.beneficiary,
                amount_side=data.amount_side,
                amount_minor=checked.amount_minor,
                currency=data.currency,
                source_currency=data.source_currency,
                target_currency=checked.target_currency,
                due_date=data.due_date,
                bill_reference=data.bill_reference,
                remittance_reference=data.remittance_reference,
                file_pmt_inf_id=data.file_pmt_inf_id,
                maker_label=actor.label,
                maker_user_id=actor.user_id,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"payment {data.erp_payment_id!r} was sent at the same time by another request",
            fields=[FieldError("erp_payment_id", "duplicate_erp_payment_id", "already sent")],
        ) from exc
    record_transition(request, actor=actor, transition="receive", source_state="")
    return request


def _screen(request: PaymentRequest) -> list[str]:
    beneficiary = request.beneficiary
    return screen(
        ScreeningSubject(
            profile_id=request.profile_id,
            beneficiary_id=beneficiary.pk,
            holder_name=beneficiary.holder_name,
            country=beneficiary.country,
            amount_minor=request.amount_minor,
            currency=request.currency,
            due_date=request.due_date,
            bill_reference=request.bill_reference,
            remittance_reference=request.remittance_reference,
        )
    )


def advance_new(
    request: PaymentRequest, *, actor: Actor, checked: Checked, policy: ApprovalPolicy
) -> None:
    duplicate = duplicate_of(
        profile=request.profile,
        vendor=request.vendor,
        beneficiary=request.beneficiary,
        amount_minor=request.amount_minor,
        currency=request.currency,
        bill_reference=request.bill_reference,
        exclude_id=request.pk,
    )
    hits = _screen(request)
    if duplicate is not None or hits:
        reasons = []
        if duplicate is not None:
            reasons.append(
                FieldError(
                    "bill_reference",
                    "possible_duplicate",
                    f"same vendor, amount and bill reference as {duplicate.erp_payment_id!r}",
                ).as_dict()
            )
        reasons.extend(FieldError("screening", "screening_hit", hit).as_dict() for hit in hits)
        move(
            request,
            actor=actor,
            action="hold",
            reason="; ".join(r["message"] for r in reasons),
            update={
                "reasons": reasons,
                "duplicate_of": duplicate,
                "suspicious_activity": bool(hits),
            },
        )
        return
    move(request, actor=actor, action="validate")
    after_validation(request, actor=actor, policy=policy)


def after_validation(request: PaymentRequest, *, actor: Actor, policy: ApprovalPolicy) -> None:
    """A validated request: to approval if the customer's rules ask, else executed."""
    approval = _approval_reasons(request, policy)
    if approval:
        due = timezone.now() + dt.timedelta(hours=policy.approval_timeout_hours)
        move(
            request,
            actor=actor,
            action="request_approval",
            reason=", ".join(approval),
            update={"approval_reasons": approval, "approval_due_at": due},
        )
        return
    execute(request, actor=actor)


def execute(request: PaymentRequest, *, actor: Actor) -> None:
    """validated | awaiting_approval (approved) -> quoted -> transfer_created, then fund the
    transfer from the wallet if the balance allows. A refusal of the quote or the transfer
    (a rate gone, the beneficiary deactivated meanwhile) rejects the request with its reason;
    an insufficient balance leaves the transfer created, waiting for funds."""
    amount = format_minor(request.amount_minor, request.currency)
    side = {"source_amount" if request.amount_side == "source" else "target_amount": amount}
    try:
        with transaction.atomic():
            quote = quote_create(
                actor=actor,
                profile=request.profile,
                source_currency=request.source_currency,
                target_currency=request.target_currency,
                **side,
            )
    except DomainError as exc:
        _refused(request, actor=actor, exc=exc, field="amount")
        return
    move(request, actor=actor, action="mark_quoted", update={"quote": quote})
    try:
        with transaction.atomic():
            transfer = transfer_create(
                actor=actor,
                profile=request.profile,
                quote_id=quote.pk,
                beneficiary_id=request.beneficiary_id,
                customer_transaction_id=f"erp-request-{request.pk}",
            )
    except DomainError as exc:
        _refused(request, actor=actor, exc=exc, field="beneficiary_id", action="cancel")
        return
    move(request, actor=actor, action="mark_transfer_created", update={"transfer": transfer})
    try:
        with transaction.atomic():
            transfer_fund(actor=actor, transfer_id=transfer.pk, reason="ERP payment request")
    except DomainError:
        # Not enough in the wallet yet: the transfer waits, funded later (by the customer or
        # an operator); its transfer.funded event moves the request on.
        pass


def _refused(
    request: PaymentRequest, *, actor: Actor, exc: DomainError, field: str, action: str = ""
) -> None:
    reasons = [f.as_dict() for f in exc.fields] or [
        FieldError(field, exc.code, exc.message).as_dict()
    ]
    action = action or ("reject" if request.state != "quoted" else "cancel")
    move(request, actor=actor, action=action, reason=exc.message, update={"reasons": reasons})


@service_transaction
def payment_request_create(
    *, actor: Actor, profile: Profile, data: PaymentRequestInput
) -> PaymentRequest:
    """One request (see the module docstring). Raises PaymentRequestInvalid with every reason."""
    policy = approval_policy_for(profile=profile)
    (checked,) = _check_all(profile=profile, items=[data], policy=policy, prefix="")
    request = insert_received(actor=actor, profile=profile, data=data, checked=checked, batch=None)
    advance_new(request, actor=actor, checked=checked, policy=policy)
    return request


@service_transaction
def payment_batch_create(
    *,
    actor: Actor,
    profile: Profile,
    erp_batch_id: str,
    items: list[PaymentRequestInput],
    source: str = PaymentBatch.Source.API,
    checksum: str = "",
) -> BatchResult:
    """A batch, all or nothing: every reason of every item, or every request created."""
    erp_batch_id = (erp_batch_id or "").strip()
    if not erp_batch_id or len(erp_batch_id) > ERP_BATCH_ID_MAX:
        raise PaymentRequestInvalid(
            [FieldError("erp_batch_id", "invalid", "must be 1 to 100 characters")]
        )
    if not items:
        raise PaymentRequestInvalid([FieldError("requests", "empty", "give at least one")])
    if PaymentBatch.objects.filter(profile=profile, erp_batch_id=erp_batch_id).exists():
        raise Conflict(
            f"batch {erp_batch_id!r} was already sent",
            fields=[FieldError("erp_batch_id", "duplicate_batch", "already sent")],
        )
    policy = approval_policy_for(profile=profile)
    checked_all = _check_all(
        profile=profile, items=items, policy=policy, prefix="requests[{index}]."
    )
    try:
        with transaction.atomic():  # see insert_received: a concurrent twin is a 409, not a 500
            batch = PaymentBatch.objects.create(
                profile=profile,
                erp_batch_id=erp_batch_id,
                source=source,
                checksum=checksum,
                request_count=len(items),
                created_by_label=actor.label,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"batch {erp_batch_id!r} was sent at the same time by another request",
            fields=[FieldError("erp_batch_id", "duplicate_batch", "already sent")],
        ) from exc
    created: list[PaymentRequest] = []
    for data, checked in zip(items, checked_all, strict=True):
        request = insert_received(
            actor=actor, profile=profile, data=data, checked=checked, batch=batch
        )
        advance_new(request, actor=actor, checked=checked, policy=policy)
        created.append(request)
    return BatchResult(batch, created)
